"""DHCPv6 bulk leasequery (RFC 5460) end to end: ISC dhclient -6 (IA_NA and IA_PD) behind ISC
dhcrelay -6 -I, and a second relay hop (harness/bulk6_tools.py) that adds RELAY_ID and
REMOTE_ID, which dhcrelay cannot; `lessor serve` makes the bindings; a Python TCP requestor in
the relay's namespace streams them by relay-id, link-address and remote-id; tshark decodes the
TCP stream (its DHCPv6 bulk leasequery dissector, port 547) without a malformed packet or an
expert error. Addresses: 2001:db8:1::/64 client link, 2001:db8:2::/64 server link, prefixes from
2001:db8:100::/48; only inside the test's namespaces."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from harness import addressing, capture
from harness.isc import _bin
from harness.util import run, wait_for
from test_serve_v6 import Dhclient6, add6, leases6, relayed, start_lessor, stop, write_config  # noqa: F401

TOOLS = Path(__file__).parent / "harness" / "bulk6_tools.py"
HOP2 = "2001:db8:2::3"
RELAY_ID = "0003000102000000aa01"
REMOTE_ID = "72656d6f74652d31"  # "remote-1"
LQ_REPLY, LQ_DONE, LQ_DATA = 15, 16, 17


def of(res: dict, xid: int) -> list:
    return [m for m in res["messages"] if m["xid"] == xid]


def resources(msgs: list) -> set:
    out = set()
    for m in msgs:
        for o in m["options"]:
            for i in o.get("inner", []):
                out.add(i.get("address") or i.get("prefix"))
    out.discard(None)
    return out


def codes(m: dict) -> list:
    return [o["code"] for o in m["options"]]


def inner(m: dict) -> list:
    """The option codes inside the message's CLIENT_DATA."""
    return [i["code"] for o in m["options"] if o["code"] == 45 for i in o["inner"]]


def test_bulk_by_relay_id_link_and_remote_id_of_real_clients(relayed, procs, artifacts):
    client, relay, server = relayed
    add6(server, "s0", f"{HOP2}/64")
    store = artifacts / "lessor.db"
    config = write_config(artifacts / "lessor.toml", store, f"""
[dhcp6]
listen = ["{addressing.SERVER_V6}"]

[[dhcp6.link]]
prefix = "2001:db8:1::/64"
pools = ["2001:db8:1::1000-2001:db8:1::10ff"]
prefix-pools = [{{ prefix = "2001:db8:100::/48", delegated-length = 56 }}]

[leasequery6]
requesters = ["2001:db8:2::/64"]

[leasequery6.bulk]
listen = ["{addressing.SERVER_V6}"]
""")
    lessor = start_lessor(procs, server, config)
    lessor.wait_output(f"DHCPv6 bulk leasequery: listening on tcp [{addressing.SERVER_V6}]:547", timeout=5)
    hop = procs.start(server, "relay-hop2", [sys.executable, str(TOOLS), "relay", "--listen", HOP2,
                                             "--server", addressing.SERVER_V6, "--relay-id", RELAY_ID,
                                             "--remote-id", REMOTE_ID, "--seconds", "90"])
    hop.wait_output("relay ready", timeout=10)
    cap = capture.start_capture(procs, server, "s0", artifacts / "bulk6.pcap",
                                capture_filter="tcp port 547", name="tshark-bulk6")
    procs.start(relay, "dhcrelay6", [_bin("dhcrelay"), "-6", "-d", "-I",
                                     "-pf", str(artifacts / "dhcrelay6.pid"),
                                     "-l", "r0", "-u", f"{HOP2}%r1"])
    time.sleep(1.0)
    dh = Dhclient6(client, "c0", artifacts / "dhclient6", prefix=True)
    dh.start(procs)
    bound = dh.wait(("BOUND6",), pred=lambda ev: ev.get("new_ip6_address"))
    address = bound["new_ip6_address"]
    wait_for(lambda: [r[3] for r in leases6(store)] == ["active", "active"], timeout=20,
             what="an address and a prefix active in the store")
    # dhclient may report the prefix in a later script call than the address.
    prefix = wait_for(lambda: next((ev["new_ip6_prefix"] for ev in dh.events() if ev.get("new_ip6_prefix")),
                                   None), timeout=20, what="the delegated prefix reported by dhclient")

    queries = [
        {"xid": 1, "type": 3, "options": f"0035{len(RELAY_ID) // 2:04x}{RELAY_ID}"},
        {"xid": 2, "type": 4, "link": "2001:db8:1::1"},
        {"xid": 3, "type": 5, "options": f"0025{4 + len(REMOTE_ID) // 2:04x}0000118b{REMOTE_ID}",
         "oro": [47]},
        {"xid": 4, "type": 3, "options": "0035000a0003000102000000dead"},
        {"xid": 5, "type": 4, "link": "::"},
        {"xid": 6, "type": 4, "link": "2001:db8:9::1"},
    ]
    cp = run(relay.exec_prefix + [sys.executable, str(TOOLS), "query", "--server", addressing.SERVER_V6,
                                  "--queries", json.dumps(queries)], timeout=30, check=False)
    (artifacts / "query.json").write_text(cp.stdout + cp.stderr)
    assert cp.returncode == 0, cp.stderr
    res = json.loads(cp.stdout.strip().splitlines()[-1])
    assert res["unfinished"] == [], res
    pcap = capture.stop_captures({"bulk6": cap})["bulk6"]
    out = stop(lessor)

    want = {address, prefix}
    for xid in (1, 2, 3, 5):
        msgs = of(res, xid)
        assert [m["type"] for m in msgs] == [LQ_REPLY, LQ_DATA, LQ_DONE], (xid, msgs)
        assert resources(msgs) == want, (xid, msgs)
        assert codes(msgs[0])[:2] == [2, 1], "SERVERID, then the requestor's CLIENTID"
    # LQ_RELAY_DATA only where the ORO asked for it, last inside each CLIENT_DATA.
    assert all(47 not in inner(m) for x in (1, 2, 5) for m in of(res, x))
    assert [inner(m)[-1] for m in of(res, 3)[:2]] == [47, 47], of(res, 3)
    assert [codes(m)[-1] for m in of(res, 3)[:2]] == [45, 45], of(res, 3)
    # Nothing known: one REPLY without CLIENT_DATA; a link not configured: NotConfigured.
    assert [(m["type"], codes(m)) for m in of(res, 4)] == [(LQ_REPLY, [2, 1])], of(res, 4)
    (refusal,) = of(res, 6)
    assert refusal["type"] == LQ_REPLY and [o.get("status") for o in refusal["options"]][-1] == 9
    assert "stats bulk6:" in out and "bindings=8" in out, out

    # tshark decodes every message of the stream, without malformed packets or expert errors.
    types = capture._tshark_read(pcap, "-T", "fields", "-e", "dhcpv6.bulk_leasequery.msgtype",
                                  "-Y", "dhcpv6.bulk_leasequery")
    decoded = [t for line in types.split() for t in line.split(",") if t]
    assert len(decoded) == len(queries) + len(res["messages"]), (types, len(res["messages"]))
    bad = capture._tshark_read(pcap, "-Y", "_ws.malformed || _ws.expert.severity >= error")
    assert bad.strip() == "", bad
