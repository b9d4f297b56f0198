"""DHCPv6 leasequery (RFC 5007) from `lessor serve`, end to end: ISC dhclient -6 gets an address
(IA_NA) and a delegated prefix (IA_PD) through ISC dhcrelay -6 -I; then LEASEQUERYs built with
Scapy (raw bytes where Scapy lacks LEASEQUERY and OPTION_LQ_QUERY) ask, from the relay's upstream
address: by the address, by an address inside the delegated prefix, by client-id with an ORO
asking LQ_RELAY_DATA, relayed (inside RELAY-FORW), on a link not configured, and for an address
nobody holds. tshark decodes every LEASEQUERY and LEASEQUERY-REPLY without a malformed
warning. Addresses: 2001:db8:1::/64 client link, 2001:db8:2::/64 server link, delegated prefixes
from 2001:db8:100::/48; only inside the test's namespaces."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from harness import addressing
from harness.capture import check_decode, count, fields, start_capture
from harness.dhcp6_clients import start_dhclient6
from harness.isc6 import start_dhcrelay6
from harness.lessor import LessorServer, Link6, write_config6
from harness.netns import Topology6
from harness.scapy_runner import _run_json
from harness.util import wait_for

SCRIPT = Path(__file__).parent / "harness" / "scapy_lq6.py"


def opt(options, code):
    return [o for o in options if o["code"] == code]


def client_data(reply):
    found = opt(reply["options"], 45)
    return found[0]["options"] if found else None


@pytest.fixture
def topo():
    t = Topology6()
    try:
        yield t
    finally:
        t.teardown()


def test_leasequery6_answers_for_a_relayed_client(topo, procs, artifacts):
    store = artifacts / "lessor.db"
    config = write_config6(
        artifacts / "lessor.toml", store=store, listen=[addressing.SERVER_V6],
        options={"dns-servers": ["2001:db8::53"]}, server_lines=['stats-interval = "0s"'],
        links=[Link6("2001:db8:1::/64", pools=["2001:db8:1::1000-2001:db8:1::10ff"],
                     prefix_pools=[("2001:db8:100::/48", 56)])])
    config.write_text(config.read_text() + f"""
[leasequery6]
requesters = ["{addressing.RELAY_UP_V6}/128"]
not-allowed = "not-allowed"
""")
    lessor = LessorServer(procs, topo.server, config, store, ready="dhcp6: listening on")
    lessor.check()
    lessor.start(timeout=15)
    start_dhcrelay6(procs, topo.relay, topo.relay_down_if, topo.relay_up_if, addressing.SERVER_V6,
                    artifacts / "dhcrelay")
    start_dhclient6(procs, topo.client, topo.client_if, artifacts / "dhclient6")

    def active():
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
            rows = db.execute("SELECT prefix_len, lower(hex(duid)) FROM lease6 "
                              "WHERE state = 'active' ORDER BY prefix_len").fetchall()
        return rows if [r[0] for r in rows] == [56, 128] else None
    rows = wait_for(active, timeout=30, what="an active address and prefix in the store")
    duid = rows[0][1]

    cap = start_capture(procs, topo.server, topo.server_if, artifacts / "lq6.pcap",
                        capture_filter="udp port 547 or udp port 546")
    src, dst = addressing.RELAY_UP_V6, addressing.SERVER_V6
    queries = [
        {"name": "address", "type": "address", "address": "2001:db8:1::1000"},
        {"name": "in-prefix", "type": "address", "address": "2001:db8:100:0:1::7"},
        {"name": "client-id", "type": "client-id", "duid": duid, "oro": [23, 47]},
        {"name": "relayed", "type": "address", "address": "2001:db8:1::1000", "relayed": True},
        {"name": "unknown-link", "type": "address", "address": "2001:db8:1::1000",
         "link": "2001:db8:99::1"},
        {"name": "nobody", "type": "address", "address": "2001:db8:1::10fe"},
    ]
    for q in queries:
        q.update(src=src, dst=dst)
    res = {r["name"]: r for r in _run_json(topo.relay, [], queries, 60, artifacts / "scapy_lq6.log",
                                            "leasequery6", script=SCRIPT)}
    pcap = cap.stop()

    by_address = res["address"]["reply"]
    assert by_address and by_address["type"] == 15, res["address"]
    data = client_data(by_address)
    assert data, by_address
    # CLIENTID of the client, its address and its prefix (all of its bindings on the link),
    # remaining lifetimes, CLT_TIME relative (seconds, small).
    assert opt(data, 1)[0]["hex"] == duid
    assert [o["address"] for o in opt(data, 5)] == ["2001:db8:1::1000"], data
    assert [(o["address"], o["length"]) for o in opt(data, 26)] == [("2001:db8:100::", 56)], data
    assert 0 < opt(data, 5)[0]["lifetimes"][1] <= 3600
    assert opt(data, 46) and opt(data, 46)[0]["value"] < 120, data
    assert not opt(data, 47), "LQ_RELAY_DATA only when asked for"

    assert client_data(res["in-prefix"]["reply"]) == data

    cd = client_data(res["client-id"]["reply"])
    assert cd, res["client-id"]
    relay_data = opt(cd, 47)
    assert relay_data, cd
    # peer-address: the relay's upstream address; the chain: a RELAY-FORW without the
    # client's message, with dhcrelay's Interface-Id.
    assert relay_data[0]["peer"] == addressing.RELAY_UP_V6, relay_data
    chain = relay_data[0]["message"]
    assert chain["type"] == 12 and chain["link"] == addressing.RELAY_DOWN_V6, chain
    assert opt(chain["options"], 18) and not opt(chain["options"], 9), chain
    assert opt(cd, 23), "the requested DNS servers"

    relayed_reply = res["relayed"]["reply"]
    assert relayed_reply and relayed_reply["relay"]["type"] == 13, res["relayed"]
    assert opt(relayed_reply["relay"]["options"], 18)[0]["hex"] == b"lq6-port".hex()
    assert client_data(relayed_reply) == data

    assert opt(res["unknown-link"]["reply"]["options"], 13)[0]["status"] == 9  # NotConfigured
    nobody = res["nobody"]["reply"]
    assert nobody and client_data(nobody) is None and not opt(nobody["options"], 13), nobody

    report = check_decode(pcap, "dhcpv6")
    # Wireshark shows LQ_RELAY_DATA's DHCP-relay-message as a string, which warns of "trailing
    # stray characters" at the first NUL octet of the RELAY-FORW; nothing else may warn, and
    # only frames carrying option 47 may warn so.
    stray = [e for e in report.expert if e.endswith("Trailing stray characters")]
    assert not report.malformed and len(stray) == len(report.expert), report
    with47 = {row[0] for row in fields(pcap, ["frame.number"], "dhcpv6.option.type == 47")}
    assert {e.split(":")[0].split()[1] for e in stray} <= with47, (report, with47)
    assert count(pcap, "dhcpv6.msgtype == 14") >= 5, report
    assert count(pcap, "dhcpv6.msgtype == 15") >= 5, report

    lessor.stop()
    out = lessor.output()
    assert "stats leasequery6: received=6 relayed=1 by-address=5 by-client-id=1 client-data=4" in out, out
