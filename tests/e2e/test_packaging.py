"""Packaging (issue 16 part 5): the systemd units pass `systemd-analyze verify`, and `lessor
serve` tells a Type=notify supervisor READY=1 only once its store is loaded and its port
answers, then STOPPING=1; also as an unprivileged user with the unit's three ambient
capabilities, as `User=lessor` + `AmbientCapabilities=` run it.

The supervisor is a Python Unix datagram socket named by NOTIFY_SOCKET (a path, or an
@abstract name). The server runs in a namespace of its own on 192.0.2.1 (one end of a veth pair)."""
from __future__ import annotations

import ctypes
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from harness.lessor import lessor_bin
from harness.netns import Namespace

REPO = Path(__file__).resolve().parents[2]
UNITS = REPO / "packaging" / "systemd"
SERVER = "192.0.2.1"
CAPS = "+net_bind_service,+net_raw,+net_admin"
CLONE_NEWNET = 0x40000000

CONFIG = """\
[server]
store = "{store}"

[dhcp4]
server-identifier = "192.0.2.1"
listen = ["192.0.2.1"]
port = 67
relay-port = 6768
relays = ["192.0.2.0/24"]
lease-time = "1h"

[[dhcp4.subnet]]
prefix = "192.0.2.0/24"                # giaddr 192.0.2.1 selects it
pools = ["192.0.2.100-192.0.2.150"]

[leasequery4]
requesters = ["192.0.2.0/24"]
reply-to-source-port = ["192.0.2.0/24"]
"""


def _verify_env(tmp: Path) -> dict:
    """The units with ExecStart= on the built binary, and MANPATH on the generated pages (the
    units' Documentation=man:... is checked too)."""
    bin_ = str(lessor_bin())
    man = tmp / "man" / "man1"
    subprocess.run([bin_, "generate", "man", str(man)], check=True, capture_output=True,
                   timeout=30)
    for unit in UNITS.glob("*.service"):
        (tmp / unit.name).write_text(unit.read_text().replace("/usr/local/bin/lessor", bin_))
    return dict(os.environ, MANPATH=str(tmp / "man"))


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze not installed (apt-get install systemd)")
def test_units_verify_and_are_hardened(tmp_path):
    env = _verify_env(tmp_path)
    names = sorted(p.name for p in UNITS.glob("*.service"))
    assert names == ["lessor-relay.service", "lessor.service"]
    cp = subprocess.run(["systemd-analyze", "verify"] + [f"./{n}" for n in names],
                        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert cp.returncode == 0 and not cp.stderr.strip(), cp.stderr
    for name in names:
        cp = subprocess.run(["systemd-analyze", "security", "--offline=yes", str(tmp_path / name)],
                            capture_output=True, text=True, timeout=60)
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", cp.stdout)
        assert m, cp.stdout + cp.stderr
        # systemd calls up to 2.9 "OK"; a root service without any hardening is 9.6.
        assert float(m.group(1)) < 3.0, cp.stdout


def _in_netns(ns: Namespace, make):
    """`make()` run on a thread of its own that has entered `ns`'s network namespace (setns
    changes the calling thread only; the thread then ends)."""
    out: dict = {}

    def target() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            with open(f"/run/netns/{ns.name}") as f:
                if libc.setns(f.fileno(), CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns into {ns.name}")
            out["value"] = make()
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            out["error"] = e

    t = threading.Thread(target=target)
    t.start()
    t.join(10)
    if "error" in out:
        raise out["error"]
    return out["value"]


class Supervisor:
    """What systemd is to a Type=notify service: a datagram socket, each datagram KEY=VALUE
    lines, received with the time it came."""

    def __init__(self, address: str, ns: Namespace) -> None:
        if address.startswith("@"):
            # Abstract names belong to a network namespace: the server's (systemd's is the
            # service's, unless PrivateNetwork=).
            self.sock = _in_netns(ns, lambda: socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM))
            self.sock.bind("\0" + address[1:])
        else:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self.sock.bind(address)
            os.chmod(address, 0o777)  # a service that is not root sends to it too
        self.address = address

    def receive(self, timeout: float) -> dict:
        self.sock.settimeout(timeout)
        data = self.sock.recv(4096).decode()
        return dict(line.split("=", 1) for line in data.splitlines() if "=" in line)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def server_ns():
    ns = Namespace("pack")
    try:
        # No dummy module on every kernel: a veth pair within the namespace.
        ns.ip("link", "add", "pk0", "type", "veth", "peer", "name", "pk1")
        for ifname in ("pk0", "pk1"):
            ns.ip("link", "set", ifname, "up")
        ns.add_addr("pk0", f"{SERVER}/24")
        yield ns
    finally:
        ns.delete()


@pytest.fixture
def workdir():
    """Not pytest's tmp_path: the unprivileged run must be able to reach its files."""
    d = Path(tempfile.mkdtemp(prefix="lessor-pack-"))
    os.chmod(d, 0o755)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _bindings(procs, ns: Namespace, config: Path, count: int) -> list:
    """A first run of the server: `count` clients through `lessor perf dora` (as a relay at
    192.0.2.1), then a clean stop. Returns the bound addresses."""
    bin_ = str(lessor_bin())
    first = procs.start(ns, "lessor-first", [bin_, "serve", "--config", str(config)])
    first.wait_output("dhcp4: listening on", timeout=15)
    procs.run(ns, "dora", [bin_, "perf", "dora", "--server", f"{SERVER}:67", "--giaddr", SERVER,
                           "--bind", f"{SERVER}:6768", "--clients", str(count), "--in-flight", "4",
                           "--duration", "20s"], timeout=40)
    first.send_signal(15)
    assert first.wait(15) == 0, first.output()[-2000:]
    cp = subprocess.run([bin_, "leases", "list", "--config", str(config), "--json"],
                        capture_output=True, text=True, timeout=30, check=True)
    addresses = re.findall(r'"address":\s*"(192\.0\.2\.\d+)"', cp.stdout)
    assert len(addresses) == count, cp.stdout
    return addresses


def _ready_then_stop(procs, ns: Namespace, workdir: Path, notify: str, argv_prefix=()) -> None:
    bin_ = str(lessor_bin())
    store = workdir / "state" / "lessor.db"
    config = workdir / "lessor.toml"
    config.write_text(CONFIG.format(store=store))
    addresses = _bindings(procs, ns, config, 5)
    if argv_prefix:
        # What StateDirectory= does for User=: the store's directory is the user's.
        subprocess.run(["chown", "-R", "nobody:nogroup", str(workdir / "state")], check=True)
    sup = Supervisor(notify, ns)
    try:
        env = dict(os.environ, NOTIFY_SOCKET=notify)
        srv = procs.start(ns, "lessor-notify",
                          list(argv_prefix) + [bin_, "serve", "--config", str(config)], env=env)
        ready = sup.receive(timeout=20)
        # Nothing before READY=1; at once, with no retransmission, the port answers and the
        # store's bindings are known: the server was ready when it said so.
        assert ready.get("READY") == "1", ready
        assert "serving dhcp4" in ready.get("STATUS", ""), ready
        assert "5 DHCPv4 and 0 DHCPv6 binding(s) loaded" in ready["STATUS"], ready
        # stderr is a file: what the server said before READY=1 is in it already.
        log = srv.output()
        assert "5 binding(s) loaded" in log and "dhcp4: listening on" in log, log
        if argv_prefix:
            # `ip netns exec` and setpriv exec: the pid is the server's.
            status = Path(f"/proc/{srv.pid}/status").read_text()
            assert re.search(r"^Uid:\s+65534\s+65534\s+65534\s+65534$", status, re.M), status
            assert re.search(r"^CapEff:\s+0000000000003400$", status, re.M), status
        q = procs.run(ns, "query", [bin_, "query", "--server", f"{SERVER}:67", "--timeout", "2s",
                                    "ip", addresses[0]], timeout=20)
        assert "active" in q.output().lower(), q.output()
        srv.send_signal(15)
        stopping = sup.receive(timeout=10)
        assert stopping.get("STOPPING") == "1", stopping
        assert srv.wait(15) == 0, srv.output()[-2000:]
        assert "warning: cannot notify" not in srv.output(), srv.output()
    finally:
        sup.close()


def test_ready_only_once_loaded_and_answering_path_socket(procs, server_ns, workdir):
    _ready_then_stop(procs, server_ns, workdir, str(workdir / "notify"))


def test_ready_abstract_socket_as_a_user_with_three_ambient_capabilities(procs, server_ns,
                                                                         workdir):
    """User=lessor + AmbientCapabilities= of the unit, by setpriv: port 67 bound and the
    hardware-unicast capability kept without root, and the @abstract notify address."""
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) not installed")
    prefix = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
              f"--inh-caps=-all,{CAPS}", f"--ambient-caps=-all,{CAPS}",
              f"--bounding-set=-all,{CAPS}", "--no-new-privs"]
    _ready_then_stop(procs, server_ns, workdir, f"@lessor-pack-{os.getpid()}-{time.monotonic_ns()}",
                     argv_prefix=prefix)
