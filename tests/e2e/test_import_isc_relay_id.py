"""Migration from ISC dhcpd with a relay-id (docs/import-isc.md).

Real ISC dhcpd 4.4.3 leases addresses to clients behind a relay agent that sends circuit-id,
remote-id and relay-id (option 82 sub-option 12). ISC dhcrelay does not send sub-option 12, so
Scapy plays the relay agent (`scapy_relay_dora`). dhcpd writes the relay-id to its dhcpd.leases
as `option agent.unknown-12 ...;`. `lessor leases import --isc` reads that file: the stored
option 82 must be byte for byte what the relay sent (every sub-option, in the order sent), the
report must name what it did not import, and `lessor serve` on the imported store must answer a
bulk leasequery by that relay-id with the migrated bindings.

One module-scoped fixture runs the migration once; each check is its own test."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from harness import addressing
from harness.isc import start_dhcpd
from harness.lessor import LessorServer, Subnet4, lessor_bin, write_config
from harness.scapy_runner import scapy_bulk, scapy_relay_dora
from harness.util import run
from lq_common import agent

SERVER = addressing.SERVER_V4
RELAY = addressing.RELAY_UP_V4
# The relay-id of the lease (`option agent.unknown-12 0:3:0:1:2:0:0:5e:0:53:1;`).
RELAY_ID = bytes.fromhex("0003000102") + bytes.fromhex("00005e005301")
VENDOR_SPECIFIC = bytes.fromhex("00000009020101")   # sub-option 9, which ISC has no name for
CLIENTS = [
    {"chaddr": "02:00:00:00:0f:01",
     "agent": agent((1, b"mig-1"), (2, b"rid-M"), (12, RELAY_ID)).hex()},
    # another order, a remote-id that is not text, and one more sub-option
    {"chaddr": "02:00:00:00:0f:02",
     "agent": agent((12, RELAY_ID), (2, b"\x00\xffm"), (1, b"mig-2"), (9, VENDOR_SPECIFIC)).hex()},
]
MACS = [c["chaddr"] for c in CLIENTS]
BULKLEASEQUERY, LEASEACTIVE, QUERYDONE = 14, 13, 15      # RFC 6926


@dataclass
class Migration:
    artifacts: Path
    addr: dict             # chaddr -> the address dhcpd leased
    blocks: dict           # chaddr -> its lease block in dhcpd.leases
    import_out: str        # `lessor leases import --isc` stdout
    stored: dict           # chaddr -> `lessor leases show --json` of its address after the import
    bulk: dict             # the bulk leasequery session by relay-id (scapy_bulk)
    stop_rc: int           # lessor serve's exit code on SIGTERM


@pytest.fixture(scope="module")
def mig(shared4) -> Migration:
    t, procs, artifacts = shared4.topo, shared4.procs, shared4.artifacts
    log = artifacts / "scapy.log"

    # 1. ISC dhcpd leases the addresses to the relayed clients, then stops
    dhcpd = start_dhcpd(procs, t.server, t.server_if, artifacts / "dhcpd")
    dora = scapy_relay_dora(t.relay, t.relay_up_if, SERVER, RELAY, addressing.RELAY_DOWN_V4,
                            CLIENTS, log=log)
    assert all(r["ack"] and r["ack"]["reply"] == "DHCPACK" for r in dora), dora
    addr = {c["chaddr"]: r["ack"]["yiaddr"] for c, r in zip(CLIENTS, dora)}
    blocks = {m: dhcpd.wait_binding_state(a, "active") for m, a in addr.items()}
    dhcpd.proc.stop()
    leases = artifacts / "dhcpd-copy.leases"
    leases.write_bytes(dhcpd.leases.read_bytes())

    # 2. lessor leases import --isc into a fresh store
    ldir = artifacts / "lessor"
    store = ldir / "lessor.db"
    conf = write_config(ldir / "lessor.toml", identifier=SERVER, store=store, listen=[SERVER],
                        relays=[str(addressing.CLIENT_NET)], requesters=[f"{RELAY}/32"],
                        subnets=[Subnet4(str(addressing.CLIENT_NET), addressing.POOL_V4,
                                         routers=addressing.RELAY_DOWN_V4)])
    with open(conf, "a") as f:       # [leasequery4] is the last table write_config emits
        f.write(f'\n[leasequery4.bulk]\nlisten = ["{SERVER}"]\nport = 67\n')
    imp = run([str(lessor_bin()), "leases", "import", "--isc", str(leases), "--config", str(conf)],
              check=False)
    (artifacts / "import.out").write_text(imp.stdout + imp.stderr)
    assert imp.returncode == 0, imp.stdout + imp.stderr

    # 3. what the store holds
    srv = LessorServer(procs, t.server, conf, store)
    stored = {m: srv.show(a) for m, a in addr.items()}

    # 4. lessor serve on the imported store, asked a bulk leasequery by that relay-id
    srv.check()
    srv.start()
    srv.proc.wait_output("2 binding(s) loaded", timeout=5)
    srv.proc.wait_output(f"bulk leasequery: listening on tcp {SERVER}:67", timeout=5)
    sessions = [{"name": "relay-id", "dialect": "rfc6926", "queries": [
        {"name": "q", "type": BULKLEASEQUERY, "agent": agent((12, RELAY_ID)).hex()}]}]
    bulk = scapy_bulk(t.relay, SERVER, sessions, timeout=5, log=log)["relay-id"]
    stop_rc = srv.stop()
    return Migration(artifacts, addr, blocks, imp.stdout, stored, bulk, stop_rc)


@pytest.mark.parametrize("mac", MACS)
def test_dhcpd_writes_the_relay_id_as_agent_unknown_12(mig, mac):
    # the form the issue reports, written by dhcpd itself
    block = mig.blocks[mac]
    assert "  option agent.unknown-12 0:3:0:1:2:0:0:5e:0:53:1;\n" in block, block


def test_import_reports_what_it_imported_and_what_it_did_not(mig):
    assert "imported 2: 2 active" in mig.import_out, mig.import_out
    # nothing dropped without a word: the harness's `on commit { set lsr-circuit-id = ...; }`
    # leaves a variable in each lease that no binding field holds
    assert "  set lsr-circuit-id: 2, first on line " in mig.import_out, mig.import_out


@pytest.mark.parametrize("mac", MACS)
def test_option82_stored_byte_for_byte(mig, mac):
    # all sub-options, in the order the relay sent them
    c = next(c for c in CLIENTS if c["chaddr"] == mac)
    b = mig.stored[mac]
    assert b is not None and b["state"] == "active", b
    assert b["relay_agent_information"] == c["agent"], (b, c)
    assert b["relay_id"] == RELAY_ID.hex(), b


def test_bulk_leasequery_by_relay_id_answers_the_migrated_bindings(mig):
    res = mig.bulk
    assert not res["pending"] and not res["leftover"], res
    replies = [r for r in res["replies"] if r["xid"] == res["xids"]["q"]]
    assert [r["type"] for r in replies] == [LEASEACTIVE] * len(CLIENTS) + [QUERYDONE], replies
    agent_of = {mig.addr[c["chaddr"]]: c["agent"] for c in CLIENTS}
    assert sorted(r["ciaddr"] for r in replies[:-1]) == sorted(agent_of), replies
    for r in replies[:-1]:
        assert r["options"]["relay_agent_information"] == agent_of[r["ciaddr"]], r


def test_server_stops_cleanly(mig):
    assert mig.stop_rc == 0
