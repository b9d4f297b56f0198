"""Migration of DHCPv4 leases from Kea (docs/operator-guide.md, "Migrating DHCPv4 leases from Kea").

Real Kea 2.2 `kea-dhcp4` (memfile, `store-extended-info: true`, so it keeps option 82 in each
lease's user context) leases addresses to three real `dhclient`s, each with its own MAC (the
client namespace's c0 and two macvlans on it) and client-id, behind ISC `dhcrelay -a` (option 82
with circuit-id = the relay's interface name), and to a Scapy relay agent whose option 82 has a
circuit-id, a remote-id and a relay-id (dhcrelay sends no remote-id). Its kea-leases4.csv is then
imported with `lessor leases import --kea`, and `lessor serve` with [leasequery4] must answer
`lessor query` by IP, MAC, client-id, remote-id and relay-id with the address, MAC, client-id
and lease end Kea handed out, and the option 82 the relays sent.

client ns --(c0|r0)-- relay ns --(r1|s0)-- server ns (harness.netns.Topology4); dhcrelay is
stopped before the queries (`lessor query --bind RELAY:67` needs the relay's port 67)."""
from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness import addressing, kea
from harness.isc import make_dhclient, start_dhcrelay
from harness.lessor import LessorServer, Subnet4, lessor_bin, write_config
from harness.scapy_runner import scapy_relay_dora
from harness.util import run, wait_for
from lq_common import agent, mac_of

SERVER = addressing.SERVER_V4
RELAY = addressing.RELAY_UP_V4
POOL = addressing.POOL_V4
LEASE_TIME = 900
CLIENTS = [("c0", b"kea4-client-0"), ("c1", b"kea4-client-1"), ("c2", b"kea4-client-2")]
RELAY_ID = bytes.fromhex("0003000102000000aa01")
SCAPY = {"chaddr": "02:00:00:00:4b:01",
         "agent": agent((1, b"sc-k4"), (2, b"rid-K4"), (12, RELAY_ID)).hex()}


def norm(h) -> str:
    return h.replace(":", "").lower() if h else h


@dataclass
class Migration:
    rows: dict             # address -> the Kea CSV row (the last one of the address)
    csv_text: str
    clients: dict          # address -> (mac, client-id) as the client sent them
    scapy_addr: str
    import_out: str
    import_rc: int
    shown: dict            # address -> `lessor leases show --json`
    export: list           # `lessor leases export` lines
    answers: dict          # (kind, value) -> `lessor query --json` object
    query_rc: dict         # kind -> exit code


def query(procs, ns, kind, values):
    argv = [str(lessor_bin()), "query", kind, *values, "--server", SERVER, "--bind", f"{RELAY}:67",
            "--json", "--timeout", "5s"]
    p = procs.run(ns, f"query-{kind}", argv, timeout=60, check=False)
    objs = [json.loads(line) for line in p.stdout_path.read_text().splitlines() if line.strip()]
    assert len(objs) == len(values), p.output()
    return p.popen.returncode, objs


@pytest.fixture(scope="module")
def mig(shared4) -> Migration:
    t, procs, artifacts = shared4.topo, shared4.procs, shared4.artifacts
    for ifname in ("c1", "c2"):
        t.client.ip("link", "add", ifname, "link", t.client_if, "type", "macvlan", "mode", "bridge")
        t.client.ip("link", "set", ifname, "up")

    # 1. Kea hands out the leases
    kdir = artifacts / "kea"
    cfg = kea.config4(kdir, [t.server_if],
                      [kea.Subnet4(str(addressing.CLIENT_NET), pools=[f"{POOL[0]} - {POOL[1]}"])],
                      valid_lifetime=LEASE_TIME, multi_threading=False,
                      extra={"store-extended-info": True})
    k = kea.start_kea(procs, t.server, kdir, cfg)
    relay = start_dhcrelay(procs, t.relay, [t.relay_down_if], [t.relay_up_if], [SERVER],
                           artifacts / "dhcrelay")
    clients = {}
    dhclients = []
    for ifname, cid in CLIENTS:
        c = make_dhclient(t.client, ifname, artifacts / f"dhclient-{ifname}", name=f"dhclient-{ifname}",
                          extra_conf=f'send dhcp-client-identifier "{cid.decode()}";\n')
        dhclients.append(c)
        addr = c.acquire(procs)["new_ip_address"]
        clients[addr] = (mac_of(t.client, ifname), cid)
    dora = scapy_relay_dora(t.relay, t.relay_up_if, SERVER, RELAY, addressing.RELAY_DOWN_V4, [SCAPY],
                            log=artifacts / "scapy.log")
    assert dora[0]["ack"] and dora[0]["ack"]["reply"] == "DHCPACK", dora
    scapy_addr = dora[0]["ack"]["yiaddr"]
    wanted = set(clients) | {scapy_addr}
    wait_for(lambda: wanted <= {r["address"] for r in k.leases()}, timeout=10,
             what="Kea's rows for every lease")
    for c in dhclients:
        c.stop()                 # no DHCPRELEASE: the leases stay active
    relay.proc.stop()
    k.proc.stop()
    text = k.lease_file.read_text()
    copy = artifacts / "kea-leases4-copy.csv"
    copy.write_text(text)
    rows = {}
    for r in csv.DictReader(io.StringIO(text)):
        rows[r["address"]] = r

    # 2. lessor leases import --kea into a fresh store
    ldir = artifacts / "lessor"
    store = ldir / "lessor.db"
    conf = write_config(ldir / "lessor.toml", identifier=SERVER, store=store, listen=[SERVER],
                        relays=[str(addressing.CLIENT_NET)], requesters=[f"{RELAY}/32"],
                        reply_to_source_port=[f"{RELAY}/32"], lease_time=f"{LEASE_TIME}s",
                        subnets=[Subnet4(str(addressing.CLIENT_NET), POOL)])
    imp = run([str(lessor_bin()), "leases", "import", "--kea", str(copy), "--config", str(conf)],
              check=False)
    (artifacts / "import.out").write_text(imp.stdout + imp.stderr)
    shown = {}
    for a in wanted:
        s = run([str(lessor_bin()), "leases", "show", a, "--json", "--config", str(conf)], check=False)
        shown[a] = json.loads(s.stdout) if s.returncode == 0 else None
    exp = run([str(lessor_bin()), "leases", "export", "--config", str(conf)], check=False)
    export = [json.loads(line) for line in exp.stdout.splitlines() if line.strip()]

    # 3. lessor serve on the import answers leasequeries
    answers, rcs = {}, {}
    srv = LessorServer(procs, t.server, conf, store)
    srv.check()
    srv.start()
    try:
        srv.proc.wait_output(f"{len(wanted)} binding(s) loaded", timeout=5)
        macs = [m for m, _ in clients.values()] + [SCAPY["chaddr"]]
        runs = {"ip": sorted(wanted), "mac": macs,
                "client-id": [cid.hex() for _, cid in clients.values()],
                "remote-id": [b"rid-K4".hex()], "relay-id": [RELAY_ID.hex()]}
        for kind, values in runs.items():
            rcs[kind], objs = query(procs, t.relay, kind, values)
            for v, o in zip(values, objs):
                answers[(kind, v)] = o
    finally:
        srv.stop()
    (artifacts / "answers.json").write_text(json.dumps({f"{k} {v}": o for (k, v), o in answers.items()},
                                                       indent=1))
    return Migration(rows, text, clients, scapy_addr, imp.stdout + imp.stderr, imp.returncode, shown,
                     export, answers, rcs)


def test_kea_keeps_option_82_in_the_user_context(mig):
    header = mig.csv_text.splitlines()[0]
    assert header == ("address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,"
                      "hostname,state,user_context"), header
    for a in list(mig.clients) + [mig.scapy_addr]:
        assert "relay-agent-info" in mig.rows[a]["user_context"], mig.rows[a]


def test_import_report(mig):
    assert mig.import_rc == 0, mig.import_out
    assert "row(s) for 4 address(es) (the last row of an address wins)" in mig.import_out, mig.import_out
    assert "imported 4: 4 active" in mig.import_out, mig.import_out
    assert "skipped 0" in mig.import_out, mig.import_out


def test_bindings_hold_what_kea_handed_out(mig):
    for a, b in mig.shown.items():
        row = mig.rows[a]
        assert b is not None, (a, mig.import_out)
        assert b["state"] == "active", b
        assert b["subnet"] == str(addressing.CLIENT_NET), b
        assert norm(b["chaddr"]) == norm(row["hwaddr"]), (b, row)
        assert b["end"] == int(row["expire"]), (b, row)
        assert b["end"] - b["start"] == LEASE_TIME == int(row["valid_lifetime"]), (b, row)
    for a, (mac, cid) in mig.clients.items():
        b = mig.shown[a]
        assert norm(b["chaddr"]) == norm(mac), (b, mac)
        assert b["client_id"] == cid.hex() == norm(mig.rows[a]["client_id"]), b
        # dhcrelay -a: circuit-id = the relay's downstream interface
        assert bytes.fromhex(b["circuit_id"]) == b"r0", b
    b = mig.shown[mig.scapy_addr]
    assert b["relay_agent_information"] == SCAPY["agent"], b
    assert bytes.fromhex(b["remote_id"]) == b"rid-K4", b
    assert bytes.fromhex(b["relay_id"]) == RELAY_ID, b
    assert sorted(e["address"] for e in mig.export) == sorted(mig.shown), mig.export


def check_answer(mig, o, address):
    row = mig.rows[address]
    assert o["state"] == "active" and o["address"] == address, o
    assert norm(o["mac"]) == norm(row["hwaddr"]), (o, row)
    assert norm(o["client_id"]) == norm(row["client_id"] or None), (o, row)
    # leasequery carries the time left, not the end: the requester's end may be a second off
    assert abs(o["lease_end"] - int(row["expire"])) <= 1, (o, row)


def test_query_by_ip(mig):
    assert mig.query_rc["ip"] == 0
    for a in mig.shown:
        check_answer(mig, mig.answers[("ip", a)], a)


def test_query_by_mac(mig):
    assert mig.query_rc["mac"] == 0
    for a, (mac, _) in mig.clients.items():
        check_answer(mig, mig.answers[("mac", mac)], a)
    check_answer(mig, mig.answers[("mac", SCAPY["chaddr"])], mig.scapy_addr)


def test_query_by_client_id(mig):
    assert mig.query_rc["client-id"] == 0
    for a, (_, cid) in mig.clients.items():
        check_answer(mig, mig.answers[("client-id", cid.hex())], a)


def test_query_by_remote_id_and_relay_id(mig):
    assert mig.query_rc["remote-id"] == 0 and mig.query_rc["relay-id"] == 0
    for kind, v in (("remote-id", b"rid-K4".hex()), ("relay-id", RELAY_ID.hex())):
        o = mig.answers[(kind, v)]
        check_answer(mig, o, mig.scapy_addr)
        assert norm(o["relay_agent_information"]) == SCAPY["agent"], o
