"""`lessor serve` when its store's disk fills up (issue 12, item 1), end to end.

The store lives on a small tmpfs. After one client is bound, a filler file takes
the rest of the space: the next client's OFFER still leaves (the store does not
know yet), but its DHCPREQUEST's commit fails, so no DHCPACK leaves and
leasequery does not report the binding. The server logs the failure and stops
offering (fail closed). Once the filler is deleted, its probe succeeds within a
second or so, it says so, and the next client is bound again.

Scapy plays the relay agent (DHCP and leasequery from the relay namespace)."""
from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pytest

from harness import addressing
from harness.lessor import LessorServer, Subnet4, write_config
from harness.scapy_runner import scapy_leasequery_batch, scapy_relay_dora
from lq_common import agent

SERVER = addressing.SERVER_V4
RELAY = addressing.RELAY_UP_V4
TMPFS_SIZE = "4m"

BOUND = {"chaddr": "02:00:00:00:0f:01", "agent": agent((1, b"f-1")).hex()}
UNACKED = {"chaddr": "02:00:00:00:0f:02", "agent": agent((1, b"f-2")).hex()}
REFUSED = {"chaddr": "02:00:00:00:0f:03", "agent": agent((1, b"f-3")).hex()}


@pytest.fixture
def small_disk(tmp_path):
    """A tmpfs of TMPFS_SIZE on a temp dir, unmounted at teardown (lazily if a
    process still holds a file on it)."""
    d = tmp_path / "small-disk"
    d.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0700", "tmpfs", str(d)],
                   check=True, timeout=10)
    try:
        yield d
    finally:
        if subprocess.run(["umount", str(d)], timeout=10).returncode != 0:
            subprocess.run(["umount", "-l", str(d)], timeout=10)


def fill(path: Path) -> int:
    """Writes zeros to path until the filesystem is full; returns the bytes written."""
    chunk = b"\0" * 65536
    written = 0
    with open(path, "wb", buffering=0) as f:
        for _ in range(1 << 16):                      # bounded: 4 GiB at most
            try:
                written += f.write(chunk)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                break
        # the last partial page, a byte at a time is too slow: halve down
        size = 32768
        while size:
            try:
                written += f.write(b"\0" * size)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                size //= 2
        try:
            os.fsync(f.fileno())
        except OSError:
            pass
    return written


def dora(t, clients, log):
    return scapy_relay_dora(t.relay, t.relay_up_if, SERVER, RELAY, addressing.RELAY_DOWN_V4,
                            clients, timeout=3.0, log=log)


def test_a_full_disk_stops_offers_hides_unacked_bindings_and_recovers(small_disk, topo4, procs,
                                                                      artifacts):
    t = topo4
    log = artifacts / "scapy.log"
    conf = write_config(artifacts / "lessor.toml", identifier=SERVER, store=small_disk / "leases.db",
                        listen=[SERVER], relays=[str(addressing.CLIENT_NET)],
                        requesters=[f"{RELAY}/32"],
                        subnets=[Subnet4(str(addressing.CLIENT_NET), addressing.POOL_V4,
                                         routers=addressing.RELAY_DOWN_V4)])
    srv = LessorServer(procs, t.server, conf, small_disk / "leases.db")
    srv.check()
    srv.start()

    # Healthy: a client is bound.
    first = dora(t, [BOUND], log)[0]
    assert first["ack"] and first["ack"]["reply"] == "DHCPACK", first
    bound = first["ack"]["yiaddr"]

    # The disk fills up.
    filler = small_disk / "filler"
    assert fill(filler) > 0

    # The next client gets an OFFER (nothing has failed yet), but no DHCPACK.
    second = dora(t, [UNACKED], log)[0]
    assert second["offer"] and second["offer"]["reply"] == "DHCPOFFER", second
    assert second["ack"] is None, second
    unacked = second["offer"]["yiaddr"]
    srv.proc.wait_output("error: store: commit failed:", timeout=10)
    assert "not offering addresses until the store can commit" in srv.output()

    # Fail closed: no OFFER while the store cannot commit.
    third = dora(t, [REFUSED], log)[0]
    assert third["offer"] is None, third

    # Leasequery reports the bound client, not the one whose commit failed.
    def q(name, **kw):
        return {"name": name, "server": SERVER, "giaddr": RELAY, **kw}
    res = scapy_leasequery_batch(t.relay, t.relay_up_if, [
        q("bound", ciaddr=bound),
        q("unacked-ip", ciaddr=unacked),
        q("unacked-mac", chaddr=UNACKED["chaddr"]),
    ], log=log)
    assert res["bound"]["reply"] == "DHCPLEASEACTIVE", res["bound"]
    assert res["unacked-ip"]["reply"] in ("DHCPLEASEUNASSIGNED", "DHCPLEASEUNKNOWN"), res["unacked-ip"]
    assert res["unacked-mac"]["reply"] == "DHCPLEASEUNKNOWN", res["unacked-mac"]

    # Space again: the probe notices, the server offers again.
    filler.unlink()
    srv.proc.wait_output("store: commits again", timeout=10)
    again = dora(t, [REFUSED], log)[0]
    assert again["ack"] and again["ack"]["reply"] == "DHCPACK", again
    srv.wait_state(again["ack"]["yiaddr"], "active")

    assert srv.stop() == 0
    out = srv.output()
    assert "dropped-store-failing=" in out, out[-3000:]
    assert "commit-failed=1" in out, out[-3000:]


QUIET = {"chaddr": "02:00:00:00:0f:11", "agent": agent((1, b"q-1")).hex()}
LOST = {"chaddr": "02:00:00:00:0f:12", "agent": agent((1, b"q-2")).hex()}
NEWCOMER = {"chaddr": "02:00:00:00:0f:13", "agent": agent((1, b"q-3")).hex()}


def test_unreadable_rows_quarantine_the_subnet_across_a_restart(topo4, procs, artifacts):
    """Issue 12, item 3: a row the store cannot read at start. The server starts, says which
    subnet it quarantines until when, offers no new address there (a client with a loaded
    binding keeps it), and a restart keeps the quarantine after the row is gone."""
    import sqlite3

    t = topo4
    log = artifacts / "scapy.log"
    store = artifacts / "leases.db"
    conf = write_config(artifacts / "lessor.toml", identifier=SERVER, store=store,
                        listen=[SERVER], relays=[str(addressing.CLIENT_NET)],
                        subnets=[Subnet4(str(addressing.CLIENT_NET), addressing.POOL_V4,
                                         routers=addressing.RELAY_DOWN_V4)])
    srv = LessorServer(procs, t.server, conf, store)
    srv.check()
    srv.start()
    bound = {r["chaddr"]: r["ack"]["yiaddr"] for r in dora(t, [QUIET, LOST], log) if r["ack"]}
    assert len(bound) == 2, bound
    assert srv.stop() == 0

    # The row of the second client no longer decodes.
    lost = bound[LOST["chaddr"]]
    a = int.from_bytes(bytes(int(x) for x in lost.split(".")), "big")
    with sqlite3.connect(store) as db:
        assert db.execute("UPDATE lease4 SET state = 'bogus' WHERE address = ?", (a,)).rowcount == 1

    srv.start()
    srv.proc.wait_output("quarantining", timeout=5)
    out = srv.output()
    assert f"warning: store: 1 row(s) unreadable; quarantining {addressing.CLIENT_NET} until " in out, out
    assert "addresses whose bindings may have been lost are not offered" in out
    # A newcomer gets nothing (its address could be the lost client's); the client whose
    # binding loaded gets it again.
    newcomer = dora(t, [NEWCOMER], log)[0]
    assert newcomer["offer"] is None, newcomer
    quiet = dora(t, [QUIET], log)[0]
    assert quiet["ack"] and quiet["ack"]["yiaddr"] == bound[QUIET["chaddr"]], quiet
    assert srv.stop() == 0
    assert "dropped-quarantined=1" in srv.output()

    # The bad row is gone; the quarantine kept in the store still holds.
    with sqlite3.connect(store) as db:
        db.execute("DELETE FROM lease4 WHERE state = 'bogus'")
    srv.start()
    srv.proc.wait_output("quarantining", timeout=5)
    assert "warning: store: rows were unreadable at an earlier start; quarantining" in srv.output()
    assert dora(t, [NEWCOMER], log)[0]["offer"] is None
    assert srv.stop() == 0
