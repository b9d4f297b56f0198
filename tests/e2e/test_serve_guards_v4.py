"""`lessor serve` keeps what it needs alone and runs with little (issue 12, items 2 and 9):

- a second server on the same store is refused naming the first (store lock), and so is a second
  server on another store but the same DHCP port, and an ISC dhcpd holding the port;
- the store's files are 0600, and a store left world-readable is tightened with a warning;
- with `[server] user = "nobody"` every thread of the server runs as nobody with exactly
  CAP_NET_BIND_SERVICE, CAP_NET_RAW and CAP_NET_ADMIN, and it still serves a directly attached
  client (its DHCPACK unicast through the neighbour entry, which needs CAP_NET_ADMIN) and
  writes the store.

Each test has its own TopologyDirect4 (client ns <-> server ns on 203.0.113.0/24)."""
from __future__ import annotations

import os
import pwd
import re
import shutil
import stat
import tempfile
from pathlib import Path

from harness.isc import start_dhcpd
from harness.lessor import LessorServer, Subnet4, lessor_bin, start_lessor, write_config
from harness.scapy_runner import scapy_dora

KEPT_CAPS = (1 << 10) | (1 << 12) | (1 << 13)   # NET_BIND_SERVICE, NET_ADMIN, NET_RAW


def _direct_config(t, workdir: Path, name: str, store: Path, server_lines=()) -> Path:
    return write_config(workdir / f"{name}.toml", identifier=t.server_addr, store=store,
                        listen=[t.server_addr], interfaces=[t.server_if],
                        subnets=[Subnet4(t.net, t.pool, routers=t.server_addr)],
                        server_lines=server_lines)


def _refused(procs, t, config: Path, name: str) -> str:
    """Starts `lessor serve` on config (which passes `lessor check`); it must exit with 1 by
    itself, without listening. Returns its output."""
    LessorServer(procs, t.server, config, Path("/nonexistent"), name=name).check()
    p = procs.start(t.server, name, [str(lessor_bin()), "serve", "--config", str(config)])
    rc = p.wait(20)
    assert rc == 1, p.output()
    assert "dhcp4: listening" not in p.output(), p.output()
    return p.output()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _status(pid: int, task: str = "") -> dict:
    path = Path(f"/proc/{pid}") / (f"task/{task}" if task else "") / "status"
    fields = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def test_second_server_is_refused_by_store_and_by_port(topo_direct, procs, artifacts):
    t = topo_direct
    first = start_lessor(procs, t.server, artifacts / "first", identifier=t.server_addr,
                         listen=[t.server_addr], interfaces=[t.server_if],
                         subnets=[Subnet4(t.net, t.pool, routers=t.server_addr)])
    pid = first.proc.pid

    out = _refused(procs, t, first.config, "lessor-same-store")
    assert (f"store {first.store} is in use by another process (pid {pid}, lessor serve); "
            "refusing to start") in out, out

    other = _direct_config(t, artifacts / "other", "other", artifacts / "other" / "other.db")
    out = _refused(procs, t, other, "lessor-same-port")
    assert re.search(rf"udp port 67 on ({re.escape(t.server_addr)}|0\.0\.0\.0) is held by another "
                     rf"process \(pid {pid}, lessor\); refusing to start", out), out

    for suffix in ("", "-wal", "-shm", ".lock"):
        f = Path(f"{first.store}{suffix}")
        assert _mode(f) == 0o600, f"{f}: {oct(_mode(f))}"

    # A store left readable by others: the next start makes it 0600 and says so.
    assert first.stop() == 0, first.output()
    os.chmod(first.store, 0o644)
    first.start()
    assert _mode(first.store) == 0o600
    assert (f"warning: store: {first.store} was mode 0644 (others could read it): now 0600"
            in first.output()), first.output()


def test_isc_dhcpd_holding_the_port_is_refused(topo_direct, procs, artifacts):
    t = topo_direct
    dhcpd = start_dhcpd(procs, t.server, t.server_if, artifacts / "dhcpd",
                        extra_global=f"subnet {t.net.split('/')[0]} netmask 255.255.255.0 {{ }}")
    config = _direct_config(t, artifacts / "lessor", "lessor", artifacts / "lessor" / "lessor.db")
    out = _refused(procs, t, config, "lessor-vs-dhcpd")
    assert re.search(rf"udp port 67 on 0\.0\.0\.0 is held by another process "
                     rf"\(pid {dhcpd.proc.pid}, dhcpd\); refusing to start", out), out
    assert dhcpd.proc.alive()


def test_runs_as_nobody_with_three_capabilities_and_still_serves(topo_direct, procs, artifacts):
    t = topo_direct
    nobody = pwd.getpwnam("nobody")
    # Under /tmp, not pytest's root-only tmp_path: the store's path must be reachable by nobody
    # once the server runs as nobody (SQLite removes -wal and -shm by name at stop).
    base = Path(tempfile.mkdtemp(prefix="lessor-e2e-user-", dir="/tmp"))
    try:
        os.chmod(base, 0o755)
        store = base / "var" / "lib" / "lessor.db"   # neither var/ nor lib/ exists: the server
                                                    # creates them (0700) and gives them to nobody
        config = _direct_config(t, base, "lessor", store, server_lines=['user = "nobody"'])
        srv = LessorServer(procs, t.server, config, store)
        srv.check()
        srv.start()
        pid = srv.proc.pid
        out = srv.output()
        assert (f"dropped privileges to user nobody (uid {nobody.pw_uid}, group "
                in out), out
        assert "keeping CAP_NET_BIND_SERVICE, CAP_NET_RAW, CAP_NET_ADMIN" in out, out
        assert "warning" not in out, out

        # Every thread: the receivers and the store's writer (which sends the DHCPACKs).
        tasks = os.listdir(f"/proc/{pid}/task")
        assert len(tasks) > 2, tasks
        for task in tasks:
            st = _status(pid, task)
            assert st["Uid"].split() == [str(nobody.pw_uid)] * 4, (task, st["Uid"])
            assert st["Gid"].split() == [str(nobody.pw_gid)] * 4, (task, st["Gid"])
            assert st["Groups"].split() == [str(nobody.pw_gid)], (task, st["Groups"])
            assert int(st["CapEff"], 16) == KEPT_CAPS, (task, st["CapEff"])
            assert int(st["CapPrm"], 16) == KEPT_CAPS, (task, st["CapPrm"])
            assert int(st["CapInh"], 16) == 0, (task, st["CapInh"])
            assert int(st.get("CapAmb", "0"), 16) == 0, (task, st.get("CapAmb"))
        for d in (base / "var", base / "var" / "lib"):
            assert d.stat().st_uid == nobody.pw_uid and _mode(d) == 0o700, d
        for suffix in ("", "-wal", "-shm", ".lock"):
            f = Path(f"{store}{suffix}")
            assert f.stat().st_uid == nobody.pw_uid and _mode(f) == 0o600, f

        # A client without an address and without the broadcast flag: the DHCPOFFER and
        # DHCPACK go to yiaddr at its MAC, through a neighbour entry (SIOCSARP: CAP_NET_ADMIN;
        # without it the server would fall back to broadcast).
        mac = t.client.ip("link", "show", t.client_if).stdout.split("link/ether ")[1].split()[0]
        r = scapy_dora(t.client, t.client_if, chaddr=mac, broadcast=False,
                       log=artifacts / "scapy.log")
        assert r["offer"] and r["ack"], r
        yiaddr = r["ack"]["yiaddr"]
        assert r["ack"]["ip_dst"] == yiaddr and r["ack"]["eth_dst"] == mac, r
        assert yiaddr in t.server.ip("neigh", "show", "dev", t.server_if).stdout
        b = srv.wait_state(yiaddr, "active")
        assert b["mac"] == mac, b

        assert srv.stop() == 0, srv.output()
        assert "stopped" in srv.output() and "error" not in srv.output(), srv.output()
        # Durable: a fresh read of the store after the stop has the binding.
        assert srv.show(yiaddr)["state"] == "active"
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_an_unknown_user_is_refused_before_anything_is_opened(topo_direct, procs, artifacts):
    t = topo_direct
    store = artifacts / "lessor" / "lessor.db"
    config = _direct_config(t, artifacts / "lessor", "lessor", store,
                            server_lines=['user = "lessor-no-such-user"'])
    out = _refused(procs, t, config, "lessor-no-user")
    assert ('privileges: user "lessor-no-such-user" does not exist; refusing to start'
            in out), out
    assert not store.exists()
