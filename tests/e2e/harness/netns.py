"""Network namespaces, veth links and cleanup.

Namespace names are unique per run: ``lsr-<pid>-<n>-<role>``. Veth ends are
created directly inside their namespaces, so interface names (``c0``, ``r0``...)
never clash with the host or other runs. Deleting the namespaces (after
killing every process in them) destroys the veths.
"""
from __future__ import annotations

import atexit
import itertools
import os
import re
import shutil
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from . import addressing
from .util import HarnessError, run

PREFIX = "lsr-"
NETNS_ETC = Path("/etc/netns")
_counter = itertools.count(1)
_live: Dict[str, "Namespace"] = {}


def _ns_names() -> List[str]:
    cp = run(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in cp.stdout.splitlines() if line.strip()]


def _kill_ns_pids(name: str, timeout: float = 3.0) -> None:
    """SIGTERM then SIGKILL every process living in namespace `name`."""
    def pids() -> List[int]:
        cp = run(["ip", "netns", "pids", name], check=False)
        return [int(p) for p in cp.stdout.split() if p.isdigit()]
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, timeout)):
        ps = pids()
        if not ps:
            return
        for p in ps:
            try:
                os.kill(p, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and pids():
            time.sleep(0.05)


def delete_namespace(name: str) -> None:
    """Kill processes, delete the namespace and its /etc/netns/<name> directory."""
    if not name.startswith(PREFIX):
        raise HarnessError(f"refusing to delete namespace not created by the harness: {name}")
    if name in _ns_names():
        _kill_ns_pids(name)
        run(["ip", "netns", "del", name], check=False)
    shutil.rmtree(NETNS_ETC / name, ignore_errors=True)
    _live.pop(name, None)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def sweep_stale(all_of_ours: bool = False) -> List[str]:
    """Delete ``lsr-<pid>-*`` namespaces whose creating process is gone (crashed
    earlier runs). With all_of_ours, also those of this process."""
    removed: List[str] = []
    if os.geteuid() != 0:
        return removed
    me = os.getpid()
    names = set(_ns_names())
    if NETNS_ETC.is_dir():
        names |= {p.name for p in NETNS_ETC.iterdir() if p.name.startswith(PREFIX)}
    for name in sorted(names):
        m = re.match(rf"^{PREFIX}(\d+)-", name)
        if not m:
            continue
        pid = int(m.group(1))
        if (pid == me and all_of_ours) or (pid != me and not _pid_alive(pid)):
            delete_namespace(name)
            removed.append(name)
    return removed


atexit.register(lambda: sweep_stale(all_of_ours=True))


@dataclass
class Namespace:
    """One network namespace. ``exec_prefix`` runs a command inside it."""
    role: str
    name: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            self.name = f"{PREFIX}{os.getpid()}-{next(_counter)}-{self.role}"
        run(["ip", "netns", "add", self.name])
        _live[self.name] = self
        # Private resolv.conf: `ip netns exec` bind-mounts /etc/netns/<ns>/* over
        # /etc/*, so anything in here writing /etc/resolv.conf hits this copy.
        d = NETNS_ETC / self.name
        d.mkdir(parents=True, exist_ok=True)
        (d / "resolv.conf").write_text("# private resolv.conf of test namespace\n")
        self.ip("link", "set", "lo", "up")

    @property
    def exec_prefix(self) -> List[str]:
        return ["ip", "netns", "exec", self.name]

    def run(self, *cmd: str, timeout: float = 20.0, check: bool = True):
        return run(self.exec_prefix + list(cmd), timeout=timeout, check=check)

    def ip(self, *args: str, check: bool = True):
        return run(["ip", "-n", self.name] + list(args), check=check)

    def sysctl(self, key: str, value: str) -> None:
        self.run("sysctl", "-q", "-w", f"{key}={value}")

    def add_addr(self, ifname: str, cidr: str) -> None:
        addressing.check_allowed(cidr)
        self.ip("addr", "add", cidr, "dev", ifname)

    def add_route(self, dst: str, via: str) -> None:
        if dst != "default":
            addressing.check_allowed(dst)
        addressing.check_allowed(via)
        self.ip("route", "add", dst, "via", via)

    def addrs(self, ifname: str, family: str = "-4") -> List[str]:
        cp = self.ip(family, "-o", "addr", "show", "dev", ifname)
        return [line.split()[3] for line in cp.stdout.splitlines()]

    def delete(self) -> None:
        delete_namespace(self.name)


_macs = itertools.count(1)


def next_mac() -> str:
    """A locally administered unicast MAC, unique in this run: 02:PP:00:00:NN:NN (PP from the
    pid). Not the kernel's random one: ISC dhclient -6 derives its IAIDs from the last four
    octets, and when all four are printable it writes them to its lease file as a quoted string,
    unescaped, so a random MAC holding a `"` there made `dhclient -r` misread its own lease and
    send no RELEASE. Two zero octets keep the IAID unprintable, so always written in hex."""
    n = next(_macs) & 0xFFFF
    return f"02:{os.getpid() & 0xFF:02x}:00:00:{n >> 8:02x}:{n & 0xFF:02x}"


def veth(a: Namespace, a_if: str, b: Namespace, b_if: str) -> None:
    """Create a veth pair with one end in each namespace, both up, each with a MAC from
    next_mac()."""
    run(["ip", "link", "add", "name", a_if, "address", next_mac(), "netns", a.name, "type", "veth",
         "peer", "name", b_if, "address", next_mac(), "netns", b.name])
    a.ip("link", "set", a_if, "up")
    b.ip("link", "set", b_if, "up")


def wait_link_up(ns: Namespace, ifname: str, timeout: float = 5.0) -> None:
    from .util import wait_for
    wait_for(lambda: "state UP" in ns.ip("link", "show", ifname).stdout or
             "LOWER_UP" in ns.ip("link", "show", ifname).stdout,
             timeout=timeout, what=f"{ns.name}/{ifname} up")


@dataclass
class Topology4:
    """client ns --(c0|r0)-- relay ns --(r1|s0)-- server ns

    client link 192.0.2.0/24 (relay r0 = .1), server link 198.51.100.0/24
    (relay r1 = .1, server s0 = .2). The relay forwards IP, the server routes
    the client link back via the relay, the client gets its address by DHCP.
    With ipv6=True both links also get Topology6's IPv6 plan (DAD off, the relay forwarding,
    the server routing the client link and the delegated prefixes back): both families at once.
    """
    client: Namespace = field(init=False)
    relay: Namespace = field(init=False)
    server: Namespace = field(init=False)
    client_if: str = "c0"
    relay_down_if: str = "r0"
    relay_up_if: str = "r1"
    server_if: str = "s0"
    ipv6: bool = False

    def __post_init__(self) -> None:
        made: List[Namespace] = []
        try:
            for role in ("cli", "rly", "srv"):
                made.append(Namespace(role))
                if self.ipv6:
                    _no_dad(made[-1])
            self.client, self.relay, self.server = made
            veth(self.client, self.client_if, self.relay, self.relay_down_if)
            veth(self.relay, self.relay_up_if, self.server, self.server_if)
            self.relay.add_addr(self.relay_down_if, f"{addressing.RELAY_DOWN_V4}/24")
            self.relay.add_addr(self.relay_up_if, f"{addressing.RELAY_UP_V4}/24")
            self.server.add_addr(self.server_if, f"{addressing.SERVER_V4}/24")
            self.server.add_route(str(addressing.CLIENT_NET), addressing.RELAY_UP_V4)
            self.relay.sysctl("net.ipv4.ip_forward", "1")
            if self.ipv6:
                _plan6(self)
            for ns, ifn in ((self.client, self.client_if), (self.relay, self.relay_down_if),
                            (self.relay, self.relay_up_if), (self.server, self.server_if)):
                wait_link_up(ns, ifn)
                if self.ipv6:
                    wait_ipv6_ready(ns, ifn)
        except BaseException:
            for ns in made:
                ns.delete()
            raise

    @property
    def namespaces(self) -> List[Namespace]:
        return [self.client, self.relay, self.server]

    def teardown(self) -> None:
        errors = []
        for ns in self.namespaces:
            try:
                ns.delete()
            except Exception as e:  # noqa: BLE001
                errors.append(e)
        if errors:
            raise HarnessError(f"teardown errors: {errors}")


@dataclass
class TopologyDirect4:
    """client ns --(dc0|d0)-- server ns: a client on the server's own link.

    Link 203.0.113.0/24 (server d0 = .1). No relay: the client broadcasts, the
    server answers on the interface (SO_BINDTODEVICE socket).
    """
    client: Namespace = field(init=False)
    server: Namespace = field(init=False)
    client_if: str = "dc0"
    server_if: str = "d0"
    server_addr: str = "203.0.113.1"
    net: str = "203.0.113.0/24"
    pool: tuple = ("203.0.113.100", "203.0.113.150")

    def __post_init__(self) -> None:
        made: List[Namespace] = []
        try:
            for role in ("dcli", "dsrv"):
                made.append(Namespace(role))
            self.client, self.server = made
            veth(self.client, self.client_if, self.server, self.server_if)
            self.server.add_addr(self.server_if, f"{self.server_addr}/24")
            for ns, ifn in ((self.client, self.client_if), (self.server, self.server_if)):
                wait_link_up(ns, ifn)
        except BaseException:
            for ns in made:
                ns.delete()
            raise

    @property
    def namespaces(self) -> List[Namespace]:
        return [self.client, self.server]

    def teardown(self) -> None:
        errors = []
        for ns in self.namespaces:
            try:
                ns.delete()
            except Exception as e:  # noqa: BLE001
                errors.append(e)
        if errors:
            raise HarnessError(f"teardown errors: {errors}")


@dataclass
class Topology6:
    """client ns --(c0|r0)-- relay ns --(r1|s0)-- server ns, IPv6 only

    client link 2001:db8:1::/64 (relay r0 = ::1, the link-address dhcrelay -6 puts in
    RELAY-FORW), server link 2001:db8:2::/64 (relay r1 = ::1, server s0 = ::2). DAD is off in
    every namespace before the veths exist, so link-local and global addresses are usable at
    once (a tentative link-local would make dhclient -6 / dhcrelay -6 fail to bind). The relay
    forwards IPv6 and the server routes the client link and the delegated prefixes back via it.
    """
    client: Namespace = field(init=False)
    relay: Namespace = field(init=False)
    server: Namespace = field(init=False)
    client_if: str = "c0"
    relay_down_if: str = "r0"
    relay_up_if: str = "r1"
    server_if: str = "s0"

    def __post_init__(self) -> None:
        made: List[Namespace] = []
        try:
            for role in ("cli6", "rly6", "srv6"):
                ns = Namespace(role)
                made.append(ns)
                _no_dad(ns)
            self.client, self.relay, self.server = made
            veth(self.client, self.client_if, self.relay, self.relay_down_if)
            veth(self.relay, self.relay_up_if, self.server, self.server_if)
            _plan6(self)
            for ns, ifn in ((self.client, self.client_if), (self.relay, self.relay_down_if),
                            (self.relay, self.relay_up_if), (self.server, self.server_if)):
                wait_link_up(ns, ifn)
                wait_ipv6_ready(ns, ifn)
        except BaseException:
            for ns in made:
                ns.delete()
            raise

    @property
    def namespaces(self) -> List[Namespace]:
        return [self.client, self.relay, self.server]

    def link_local(self, ns: Namespace, ifname: str) -> str:
        cp = ns.ip("-6", "-o", "addr", "show", "dev", ifname, "scope", "link")
        return cp.stdout.split()[3].split("/")[0]

    def teardown(self) -> None:
        errors = []
        for ns in self.namespaces:
            try:
                ns.delete()
            except Exception as e:  # noqa: BLE001
                errors.append(e)
        if errors:
            raise HarnessError(f"teardown errors: {errors}")


@dataclass
class TopologyDirect6:
    """client ns --(dc0|d0)-- server ns, IPv6 only: a client on the server's own link
    (2001:db8:3::/64, server d0 = ::1). No relay: the client multicasts to ff02::1:2 and the
    server answers on the interface. DAD off as in Topology6."""
    client: Namespace = field(init=False)
    server: Namespace = field(init=False)
    client_if: str = "dc0"
    server_if: str = "d0"
    server_addr: str = "2001:db8:3::1"
    net: str = str(addressing.DIRECT_NET6)
    pool: tuple = ("2001:db8:3::1000", "2001:db8:3::1fff")
    pd_pool: str = "2001:db8:300::/48"

    def __post_init__(self) -> None:
        made: List[Namespace] = []
        try:
            for role in ("dcli6", "dsrv6"):
                ns = Namespace(role)
                made.append(ns)
                _no_dad(ns)
            self.client, self.server = made
            veth(self.client, self.client_if, self.server, self.server_if)
            self.server.add_addr(self.server_if, f"{self.server_addr}/64")
            for ns, ifn in ((self.client, self.client_if), (self.server, self.server_if)):
                wait_link_up(ns, ifn)
                wait_ipv6_ready(ns, ifn)
        except BaseException:
            for ns in made:
                ns.delete()
            raise

    @property
    def namespaces(self) -> List[Namespace]:
        return [self.client, self.server]

    def link_local(self, ns: Namespace, ifname: str) -> str:
        return Topology6.link_local(self, ns, ifname)  # type: ignore[arg-type]

    def teardown(self) -> None:
        Topology6.teardown(self)  # type: ignore[arg-type]


def _plan6(t) -> None:
    """Topology6's IPv6 plan on a client / relay / server topology whose veths exist."""
    t.relay.add_addr(t.relay_down_if, f"{addressing.RELAY_DOWN_V6}/64")
    t.relay.add_addr(t.relay_up_if, f"{addressing.RELAY_UP_V6}/64")
    t.server.add_addr(t.server_if, f"{addressing.SERVER_V6}/64")
    t.relay.sysctl("net.ipv6.conf.all.forwarding", "1")
    for net in (addressing.CLIENT_NET6, addressing.PD_POOL_V6):
        t.server.add_route(str(net), addressing.RELAY_UP_V6)


def _no_dad(ns: Namespace) -> None:
    for scope in ("all", "default"):
        ns.sysctl(f"net.ipv6.conf.{scope}.accept_dad", "0")
        ns.sysctl(f"net.ipv6.conf.{scope}.dad_transmits", "0")


@dataclass
class TopologyChain6:
    """client ns --(c0|r0)-- relay ns --(m0|m1)-- relay2 ns --(r1|s0)-- server ns, IPv6 only:
    two relays in a row, so the server sees a RELAY-FORW inside a RELAY-FORW.

    client link 2001:db8:1::/64 (first relay r0 = ::1), middle link 2001:db8:4::/64 (first
    relay m0 = ::1, second relay m1 = ::2), server link 2001:db8:2::/64 (second relay r1 = ::1,
    server s0 = ::2). DAD off as in Topology6."""
    client: Namespace = field(init=False)
    relay: Namespace = field(init=False)
    relay2: Namespace = field(init=False)
    server: Namespace = field(init=False)
    client_if: str = "c0"
    relay_down_if: str = "r0"
    relay_up_if: str = "m0"
    relay2_down_if: str = "m1"
    relay2_up_if: str = "r1"
    server_if: str = "s0"

    def __post_init__(self) -> None:
        made: List[Namespace] = []
        try:
            for role in ("cli6", "rly6", "rly6b", "srv6"):
                ns = Namespace(role)
                made.append(ns)
                _no_dad(ns)
            self.client, self.relay, self.relay2, self.server = made
            veth(self.client, self.client_if, self.relay, self.relay_down_if)
            veth(self.relay, self.relay_up_if, self.relay2, self.relay2_down_if)
            veth(self.relay2, self.relay2_up_if, self.server, self.server_if)
            self.relay.add_addr(self.relay_down_if, f"{addressing.RELAY_DOWN_V6}/64")
            self.relay.add_addr(self.relay_up_if, f"{addressing.RELAY1_UP_V6}/64")
            self.relay2.add_addr(self.relay2_down_if, f"{addressing.RELAY2_DOWN_V6}/64")
            self.relay2.add_addr(self.relay2_up_if, f"{addressing.RELAY_UP_V6}/64")
            self.server.add_addr(self.server_if, f"{addressing.SERVER_V6}/64")
            for ns, ifn in ((self.client, self.client_if), (self.relay, self.relay_down_if),
                            (self.relay, self.relay_up_if), (self.relay2, self.relay2_down_if),
                            (self.relay2, self.relay2_up_if), (self.server, self.server_if)):
                wait_link_up(ns, ifn)
                wait_ipv6_ready(ns, ifn)
        except BaseException:
            for ns in made:
                ns.delete()
            raise

    @property
    def namespaces(self) -> List[Namespace]:
        return [self.client, self.relay, self.relay2, self.server]

    def teardown(self) -> None:
        Topology6.teardown(self)  # type: ignore[arg-type]


def wait_ipv6_ready(ns: Namespace, ifname: str, timeout: float = 5.0) -> None:
    """Wait until ifname has a link-local address and no tentative one."""
    from .util import wait_for

    def ready() -> bool:
        out = ns.ip("-6", "addr", "show", "dev", ifname).stdout
        return "scope link" in out and "tentative" not in out
    wait_for(ready, timeout=timeout, what=f"{ns.name}/{ifname} IPv6 ready")
