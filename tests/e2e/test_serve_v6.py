"""`lessor serve` with only [dhcp6], end to end with ISC dhclient -6:
- a client on the server's own link (multicast to ff02::1:2 on the served interface, answers to
  its link-local address, port 546): an address (IA_NA) and a delegated prefix (IA_PD), then a
  renewal;
- a client behind ISC dhcrelay -6 -I (Interface-Id): the relay gets its RELAY-REPL with the
  Interface-Id echoed and passes the REPLY down; release at the end.
Addresses: 2001:db8:1::/64 client link, 2001:db8:2::/64 server link, delegated prefixes from
2001:db8:100::/48; only inside the test's namespaces."""
from __future__ import annotations

import sqlite3
import signal
import time
from pathlib import Path
from typing import Dict, List

import pytest

from harness import addressing
from harness.isc import _bin
from harness.lessor import lessor_bin
from harness.netns import NETNS_ETC, Namespace, veth, wait_link_up
from harness.procs import ProcessManager
from harness.util import HarnessError, run, wait_for

DHCLIENT6_SCRIPT = r"""#!/bin/sh
# Test dhclient-script (-6): logs every call, configures only the namespace's interface.
echo "reason=$reason interface=$interface new_ip6_address=$new_ip6_address new_ip6_prefix=$new_ip6_prefix new_max_life=$new_max_life new_dhcp6_name_servers=$new_dhcp6_name_servers" >> '{log}'
case "$reason" in
  PREINIT6) ip link set dev "$interface" up ;;
  BOUND6|RENEW6|REBIND6|REBOOT6)
    [ -n "$new_ip6_address" ] && ip -6 addr replace "$new_ip6_address/128" dev "$interface" nodad ;;
  EXPIRE6|RELEASE6|STOP6)
    [ -n "$old_ip6_address" ] && ip -6 addr del "$old_ip6_address/128" dev "$interface" ;;
esac
exit 0
"""


def namespace(role: str) -> Namespace:
    ns = Namespace(role)
    # No duplicate address detection: addresses (link-local ones too) are usable at once.
    ns.sysctl("net.ipv6.conf.all.accept_dad", "0")
    ns.sysctl("net.ipv6.conf.default.accept_dad", "0")
    return ns


def add6(ns: Namespace, ifname: str, cidr: str) -> None:
    addressing.check_allowed(cidr)
    ns.ip("-6", "addr", "add", cidr, "dev", ifname, "nodad")


def wait_link_local(ns: Namespace, ifname: str) -> None:
    wait_for(lambda: "fe80::" in ns.ip("-6", "addr", "show", "dev", ifname).stdout
             and "tentative" not in ns.ip("-6", "addr", "show", "dev", ifname).stdout,
             timeout=10, what=f"{ns.name}/{ifname} link-local address")


class Dhclient6:
    def __init__(self, ns: Namespace, ifname: str, workdir: Path, *, prefix: bool = False):
        if not (NETNS_ETC / ns.name / "resolv.conf").exists():
            raise HarnessError(f"/etc/netns/{ns.name}/resolv.conf missing")
        workdir.mkdir(parents=True, exist_ok=True)
        self.ns, self.ifname, self.workdir = ns, ifname, workdir
        self.conf = workdir / "dhclient6.conf"
        self.leases = workdir / "dhclient6.leases"
        self.pidfile = workdir / "dhclient6.pid"
        self.script = workdir / "dhclient6-script.sh"
        self.log = workdir / "dhclient6-script.log"
        self.conf.write_text("timeout 20;\nretry 1;\nrequest dhcp6.name-servers;\n")
        self.script.write_text(DHCLIENT6_SCRIPT.format(log=self.log))
        self.script.chmod(0o755)
        self.modes = ["-N", "-P"] if prefix else ["-N"]
        self.proc = None

    def common(self) -> List[str]:
        return ["-6", "-v", "-cf", str(self.conf), "-lf", str(self.leases), "-pf", str(self.pidfile),
                "-sf", str(self.script)] + self.modes

    def events(self) -> List[Dict[str, str]]:
        try:
            lines = self.log.read_text().splitlines()
        except FileNotFoundError:
            return []
        return [dict(kv.split("=", 1) for kv in line.split() if "=" in kv) for line in lines]

    def wait(self, reasons, after: int = 0, timeout: float = 30.0, pred=lambda ev: True):
        def find():
            for ev in self.events()[after:]:
                if ev.get("reason") in reasons and pred(ev):
                    return ev
            return None
        try:
            return wait_for(find, timeout=timeout, what=f"dhclient -6 script reason in {reasons}")
        except HarnessError as e:
            out = self.proc.output()[-3000:] if self.proc else ""
            raise HarnessError(f"{e}\nevents: {self.events()}\n--- dhclient output ---\n{out}") from None

    def start(self, pm: ProcessManager):
        self.proc = pm.start(self.ns, "dhclient6", [_bin("dhclient")] + self.common() + ["-d", "-1", self.ifname])
        return self.proc

    def release(self, pm: ProcessManager):
        n = len(self.events())
        pm.run(self.ns, "dhclient6-release", [_bin("dhclient")] + self.common() + ["-r", self.ifname],
               timeout=20)
        return self.wait(("RELEASE6",), after=n, timeout=20)


def write_config(path: Path, store: Path, body: str) -> Path:
    path.write_text(f'[server]\nstore = "{store}"\nstats-interval = "0s"\n\n' + body)
    return path


def start_lessor(pm: ProcessManager, ns: Namespace, config: Path):
    cp = run([str(lessor_bin()), "check", str(config)], check=False)
    if cp.returncode != 0:
        raise HarnessError(f"lessor check failed:\n{cp.stdout}{cp.stderr}")
    p = pm.start(ns, "lessor", [str(lessor_bin()), "serve", "--config", str(config)])
    p.wait_output("dhcp6: listening on", timeout=15)
    return p


def leases6(store: Path) -> List[tuple]:
    """(address hex, prefix length, ia type, state, interface-id hex) of every lease6 row."""
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
        return db.execute("SELECT lower(hex(address)), prefix_len, ia_type, state, "
                          "lower(hex(interface_id)) FROM lease6 ORDER BY address").fetchall()


def stop(p) -> str:
    p.send_signal(signal.SIGTERM)
    p.wait(10)
    return p.output()


@pytest.fixture
def direct(procs):
    made = []
    try:
        client, server = namespace("c6"), namespace("s6")
        made = [client, server]
        veth(client, "dc6", server, "d6")
        for ns, i in ((client, "dc6"), (server, "d6")):
            wait_link_up(ns, i)
        add6(server, "d6", "2001:db8:2::1/64")
        wait_link_local(client, "dc6")
        wait_link_local(server, "d6")
        yield client, server
    finally:
        for ns in made:
            ns.delete()


def test_direct_client_gets_an_address_and_a_prefix_and_renews(direct, procs, artifacts):
    client, server = direct
    store = artifacts / "lessor.db"
    config = write_config(artifacts / "lessor.toml", store, """
[dhcp6]
interfaces = ["d6"]
preferred-lifetime = "8s"
valid-lifetime = "30s"
renew-time = "4s"
rebind-time = "6s"
options = { dns-servers = ["2001:db8::53"] }

[[dhcp6.link]]
prefix = "2001:db8:2::/64"
interface = "d6"
pools = ["2001:db8:2::1000-2001:db8:2::10ff"]
prefix-pools = [{ prefix = "2001:db8:100::/48", delegated-length = 56 }]
""")
    lessor = start_lessor(procs, server, config)
    dh = Dhclient6(client, "dc6", artifacts / "dhclient6", prefix=True)
    dh.start(procs)
    bound = dh.wait(("BOUND6",), pred=lambda ev: ev.get("new_ip6_address"))
    assert bound["new_ip6_address"] == "2001:db8:2::1000", bound
    assert dh.events() and any(ev.get("new_ip6_prefix") == "2001:db8:100::/56" for ev in dh.events()), \
        dh.events()
    assert bound["new_dhcp6_name_servers"] == "2001:db8::53", bound
    n = len(dh.events())
    dh.wait(("RENEW6",), after=n, timeout=20)
    out = stop(lessor)
    assert "stats dhcp6: advertises=1" in out, out
    assert "replies-durable=" in out, out
    kept = leases6(store)
    assert [(r[1], r[2], r[3]) for r in kept] == [(128, "ia-na", "active"), (56, "ia-pd", "active")], kept


@pytest.fixture
def relayed(procs):
    made = []
    try:
        client, relay, server = namespace("c6"), namespace("r6"), namespace("s6")
        made = [client, relay, server]
        veth(client, "c0", relay, "r0")
        veth(relay, "r1", server, "s0")
        for ns, i in ((client, "c0"), (relay, "r0"), (relay, "r1"), (server, "s0")):
            wait_link_up(ns, i)
        add6(relay, "r0", f"{addressing.RELAY_DOWN_V6}/64")
        add6(relay, "r1", f"{addressing.RELAY_UP_V6}/64")
        add6(server, "s0", f"{addressing.SERVER_V6}/64")
        for ns, i in ((client, "c0"), (relay, "r0"), (relay, "r1"), (server, "s0")):
            wait_link_local(ns, i)
        yield client, relay, server
    finally:
        for ns in made:
            ns.delete()


def test_client_behind_dhcrelay_with_interface_id(relayed, procs, artifacts):
    client, relay, server = relayed
    store = artifacts / "lessor.db"
    config = write_config(artifacts / "lessor.toml", store, f"""
[dhcp6]
listen = ["{addressing.SERVER_V6}"]

[[dhcp6.link]]
prefix = "2001:db8:1::/64"
pools = ["2001:db8:1::1000-2001:db8:1::10ff"]
""")
    lessor = start_lessor(procs, server, config)
    # -I: the relay adds its Interface-Id and needs it back in the RELAY-REPL.
    rp = procs.start(relay, "dhcrelay6", [_bin("dhcrelay"), "-6", "-d", "-I",
                                          "-pf", str(artifacts / "dhcrelay6.pid"),
                                          "-l", "r0", "-u", f"{addressing.SERVER_V6}%r1"])
    time.sleep(1.0)
    dh = Dhclient6(client, "c0", artifacts / "dhclient6")
    dh.start(procs)
    bound = dh.wait(("BOUND6",), pred=lambda ev: ev.get("new_ip6_address"))
    assert bound["new_ip6_address"] == "2001:db8:1::1000", bound
    dh.release(procs)
    out = stop(lessor)
    assert "relayed-solicit=1" in out and "relayed-request=1" in out and "relayed-release=1" in out, out
    assert "released=1" in out, out
    assert rp.alive(), rp.output()
    # The binding keeps the relay's Interface-Id (ISC dhcrelay -I sends its interface's index,
    # 4 octets), the one the relay found echoed in the RELAY-REPL to pass the REPLY down.
    kept = leases6(store)
    assert [(r[2], r[3], len(bytes.fromhex(r[4] or ""))) for r in kept] == [("ia-na", "released", 4)], kept
