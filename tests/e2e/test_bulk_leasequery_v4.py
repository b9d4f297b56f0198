"""DHCPv4 bulk leasequery (TCP) against `lessor serve`, decoded by an
implementation Lessor's authors did not write: Scapy (playing a relay agent)
creates bindings with option 82 sub-options 1/2/12, then a plain-socket TCP
client in the relay namespace frames queries by hand (both dialects), Scapy
builds them and decodes every reply, and tshark decodes the replies too
(docs/leasequery.md, "Bulk leasequery (TCP)")."""
from __future__ import annotations

import time

from harness import addressing, capture
from harness.lessor import LessorServer, Subnet4, write_config
from harness.scapy_runner import scapy_bulk, scapy_relay_dora
from lq_common import agent, dhcp_options

SERVER = addressing.SERVER_V4
RELAY = addressing.RELAY_UP_V4
REMOTE_A, RELAYID_A = b"rid-A", bytes.fromhex("01020304")
REMOTE_B, RELAYID_B = b"rid-B", bytes.fromhex("0a0b0c0d")
CLIENTS = [
    # three bindings behind relay-id A (same remote-id), one behind relay-id B
    {"chaddr": "02:00:00:00:0e:01", "agent": agent((1, b"bk-1"), (2, REMOTE_A), (12, RELAYID_A)).hex()},
    {"chaddr": "02:00:00:00:0e:02", "agent": agent((1, b"bk-2"), (2, REMOTE_A), (12, RELAYID_A)).hex()},
    {"chaddr": "02:00:00:00:0e:03", "agent": agent((1, b"bk-3"), (2, REMOTE_A), (12, RELAYID_A)).hex()},
    {"chaddr": "02:00:00:00:0e:04", "agent": agent((1, b"bk-4"), (2, REMOTE_B), (12, RELAYID_B)).hex()},
]
# RFC 6926 message types; the draft dialect's TBD code points (defaults of `draft-codes`)
BULKLEASEQUERY, LEASEACTIVE, QUERYDONE, LEASEQUERYFAIL = 14, 13, 15, 17
UNASSIGNED, UNKNOWN, LEASEQUERY, LEASEDATA = 11, 12, 10, 19
MALFORMED_QUERY = 3                     # RFC 6926 and draft status code 3
DHCP_STATE_ACTIVE = 2                   # RFC 6926 §6.2.7


def by_relay_id(rid: bytes, **kw) -> dict:
    return dict(agent=agent((12, rid)).hex(), **kw)


def test_bulk_leasequery_both_dialects_scapy_and_tshark(topo4, procs, artifacts):
    t = topo4
    cap = capture.start_capture(procs, t.relay, t.relay_up_if, artifacts / "bulk.pcap",
                                capture_filter="tcp port 67", name="tshark-bulk")
    workdir = artifacts / "lessor"
    store = workdir / "lessor.db"
    conf = write_config(workdir / "lessor.toml", identifier=SERVER, store=store, listen=[SERVER],
                        relays=[str(addressing.CLIENT_NET)], requesters=[f"{RELAY}/32"],
                        bulk_listen=[SERVER],
                        subnets=[Subnet4(str(addressing.CLIENT_NET), addressing.POOL_V4,
                                         routers=addressing.RELAY_DOWN_V4)])
    srv = LessorServer(procs, t.server, conf, store)
    srv.check()
    srv.start()
    srv.proc.wait_output(f"bulk leasequery: listening on tcp {SERVER}:67", timeout=5)

    # 1. bindings, created as a relay agent would (giaddr, option 82 with 1/2/12)
    log = artifacts / "scapy.log"
    dora = scapy_relay_dora(t.relay, t.relay_up_if, SERVER, RELAY, addressing.RELAY_DOWN_V4,
                            CLIENTS, log=log)
    addr = {}
    for c, r in zip(CLIENTS, dora):
        assert r["ack"] and r["ack"]["reply"] == "DHCPACK", dora
        addr[c["chaddr"]] = r["ack"]["yiaddr"]
        assert srv.wait_state(r["ack"]["yiaddr"], "active")["relay_agent_information"] == c["agent"]
    agent_of = {addr[c["chaddr"]]: c["agent"] for c in CLIENTS}
    chaddr_of = {a: m for m, a in addr.items()}
    set_a = {addr[c["chaddr"]] for c in CLIENTS[:3]}
    set_b = {addr[CLIENTS[3]["chaddr"]]}

    # 2. the queries, from the relay namespace over TCP (one connection per session)
    rq = {"type": BULKLEASEQUERY}
    dq = {"type": LEASEQUERY}
    sessions = [
        {"name": "rfc-relay-a", "dialect": "rfc6926", "queries": [dict(name="a", **by_relay_id(RELAYID_A, **rq))]},
        {"name": "rfc-unknown", "dialect": "rfc6926", "queries": [dict(name="u", **by_relay_id(b"\xde\xad", **rq))]},
        {"name": "rfc-parallel", "dialect": "rfc6926", "queries": [
            dict(name="a", **by_relay_id(RELAYID_A, **rq)), dict(name="b", **by_relay_id(RELAYID_B, **rq))]},
        # two keys (ciaddr and relay-id); the connection stays open for the next query
        {"name": "rfc-malformed", "dialect": "rfc6926", "queries": [
            dict(name="bad", ciaddr=next(iter(set_b)), **by_relay_id(RELAYID_A, **rq)),
            dict(name="b", **by_relay_id(RELAYID_B, **rq))]},
        {"name": "draft-relay-a", "dialect": "draft", "queries": [dict(name="a", **by_relay_id(RELAYID_A, **dq))]},
        {"name": "draft-unknown", "dialect": "draft", "queries": [dict(name="u", **by_relay_id(b"\xde\xad", **dq))]},
        {"name": "draft-malformed", "dialect": "draft", "queries": [
            dict(name="bad", ciaddr=next(iter(set_b)), **by_relay_id(RELAYID_A, **dq)),
            dict(name="b", **by_relay_id(RELAYID_B, **dq))]},
    ]
    res = scapy_bulk(t.relay, SERVER, sessions, timeout=5, log=log)
    pcap = capture.stop_captures({"bulk": cap})["bulk"]
    for name, s in res.items():
        assert not s["pending"] and not s["leftover"], (name, s)

    def replies(session, query):
        s = res[session]
        xid = s["xids"][query]
        return [r for r in s["replies"] if r["xid"] == xid]

    def check_binding(r, addresses):
        """A binding message as Scapy decodes it: BOOTREPLY, ciaddr one of the
        bound addresses, that client's chaddr, option 82 as the relay sent it."""
        assert r["op"] == 2 and r["ciaddr"] in addresses, r
        assert r["chaddr"] == chaddr_of[r["ciaddr"]] and r["htype"] == 1 and r["hlen"] == 6, r
        assert r["options"]["relay_agent_information"] == agent_of[r["ciaddr"]], r
        assert 590 <= r["options"]["lease_time"] <= 600, r
        return r["ciaddr"]

    # -- (a) rfc6926: 2-octet framing, one LEASEACTIVE per binding, then QUERYDONE
    for session, query, expect in (("rfc-relay-a", "a", set_a), ("rfc-parallel", "a", set_a),
                                   ("rfc-parallel", "b", set_b), ("rfc-malformed", "b", set_b)):
        rs = replies(session, query)
        assert [r["type"] for r in rs] == [LEASEACTIVE] * len(expect) + [QUERYDONE], (session, query, rs)
        got = [check_binding(r, expect) for r in rs[:-1]]
        assert sorted(got) == sorted(expect), (session, query, rs)
        for r in rs[:-1]:
            assert r["unnamed"]["156"] == f"{DHCP_STATE_ACTIVE:02x}", r      # dhcp-state
            assert len(bytes.fromhex(r["unnamed"]["152"])) == 4, r           # base-time
        done = rs[-1]
        assert done["ciaddr"] == "0.0.0.0" and "152" in done["unnamed"], done
        for r in rs:                      # base-time: the server's clock, seconds since 1970
            assert abs(int(r["unnamed"]["152"], 16) - time.time()) < 120, r
    # unknown relay-id: no binding, DONE alone (nothing-found row of the dialect table)
    assert [r["type"] for r in replies("rfc-unknown", "u")] == [QUERYDONE]
    # parallel: every message of the connection belongs to one of the two queries
    par = res["rfc-parallel"]
    assert len(par["replies"]) == len(set_a) + 1 + len(set_b) + 1, par
    # answered in parallel, one message of each in turn (draft §8.6.1): the
    # one-binding query is done before the three-binding one sent first
    order = [(r["xid"], r["type"]) for r in par["replies"]]
    assert order.index((par["xids"]["b"], QUERYDONE)) < order.index((par["xids"]["a"], QUERYDONE)), order
    # malformed (two keys): LEASEQUERYDONE with option 151 = 1-octet code MalformedQuery + text
    # (RFC 6926 §6.2.2: in DONE the status speaks for the whole query)
    rs = replies("rfc-malformed", "bad")
    assert [r["type"] for r in rs] == [QUERYDONE], rs
    st = bytes.fromhex(rs[0]["unnamed"]["151"])
    assert st[0] == MALFORMED_QUERY, st
    for s in ("rfc-relay-a", "rfc-unknown", "rfc-parallel", "rfc-malformed"):
        assert all(len(bytes.fromhex(r["frame_head"])) == 2 for r in res[s]["replies"]), s

    # -- (b) draft: 4-octet framing, LEASEACTIVE (+54), LEASEDATA per further binding, LEASEDONE
    rs = replies("draft-relay-a", "a")
    assert [r["type"] for r in rs] == [LEASEACTIVE] + [LEASEDATA] * (len(set_a) - 1) + [QUERYDONE], rs
    assert sorted(check_binding(r, set_a) for r in rs[:-1]) == sorted(set_a), rs
    assert rs[0]["options"].get("server_id") == SERVER, rs[0]
    assert all("server_id" not in r["options"] for r in rs[1:]), rs
    assert all(not r["unnamed"] for r in rs), rs           # no base-time / dhcp-state in this dialect
    assert list(dhcp_options(rs[-1]["hex"])) == [53], rs[-1]  # LEASEDONE: option 53 only
    # never-seen relay-id: DHCPLEASEUNKNOWN, no DONE (§9.2, decision 7)
    assert [r["type"] for r in replies("draft-unknown", "u")] == [UNKNOWN]
    # malformed: LEASEQUERYFAIL, option 151 = 2-octet code 3 + text; connection stays open
    rs = replies("draft-malformed", "bad")
    assert [r["type"] for r in rs] == [LEASEQUERYFAIL], rs
    st = bytes.fromhex(rs[0]["unnamed"]["151"])
    assert st[:2] == MALFORMED_QUERY.to_bytes(2, "big"), st
    rs = replies("draft-malformed", "b")
    assert [r["type"] for r in rs] == [LEASEACTIVE, QUERYDONE], rs
    check_binding(rs[0], set_b)
    for s in ("draft-relay-a", "draft-unknown", "draft-malformed"):
        assert all(r["frame_head"].endswith("0000") and len(r["frame_head"]) == 8
                   for r in res[s]["replies"]), s

    # -- (c) tshark
    _tshark_checks(pcap, res, sessions, artifacts)
    assert srv.stop() == 0


def _stream_frames(data: bytes, head: int) -> list:
    """Split one direction of a bulk leasequery TCP stream into message payloads."""
    out = []
    while data:
        n = int.from_bytes(data[:2], "big")
        assert len(data) >= head + n, ("stream cut in a frame", data.hex())
        out.append((data[:head], data[head:head + n]))
        data = data[head + n:]
    return out


def _tshark_checks(pcap, res, sessions, artifacts):
    """tshark 4.0 has no DHCP-over-TCP dissector ("dhcp" is not valid for
    tcp.port): the TCP capture must decode cleanly as TCP, each server->relay
    stream must be byte for byte the frames the client decoded, and every
    message of the streams, re-wrapped as UDP to port 67, must be dissected by
    tshark's DHCP dissector without malformed/expert errors and with the
    message types and xids Scapy saw."""
    from scapy.all import IP, UDP, Ether, Raw, wrpcap

    rep = capture.check_decode(pcap)
    assert rep.ok and rep.frames > 0, rep
    streams = {}
    for stream, src, payload in capture.fields(pcap, ["tcp.stream", "ip.src", "tcp.payload"], "tcp.len > 0"):
        d = streams.setdefault(int(stream), {"q": b"", "r": b""})
        d["r" if src == SERVER else "q"] += bytes.fromhex(payload.replace(":", ""))
    assert len(streams) == len(sessions), streams.keys()
    pkts, expect = [], []
    for (idx, st), s in zip(sorted(streams.items()), sessions):       # sessions ran in order
        head = 4 if s["dialect"] == "draft" else 2
        got = res[s["name"]]["replies"]
        frames = _stream_frames(st["r"], head)
        assert [(h.hex(), p.hex()) for h, p in frames] == [(r["frame_head"], r["hex"]) for r in got], s["name"]
        queries = _stream_frames(st["q"], head)
        assert len(queries) == len(s["queries"]), s["name"]
        for _, q in queries:
            pkts.append(Ether() / IP(src=RELAY, dst=SERVER) / UDP(sport=67, dport=67) / Raw(q))
            expect.append((RELAY, int.from_bytes(q[4:8], "big"), s["queries"][0]["type"]))
        for r, (_, p) in zip(got, frames):
            pkts.append(Ether() / IP(src=SERVER, dst=RELAY) / UDP(sport=67, dport=67) / Raw(p))
            expect.append((SERVER, r["xid"], r["type"]))
    udp = artifacts / "bulk-as-udp.pcap"
    wrpcap(str(udp), pkts)
    rep = capture.check_decode(udp)
    print("bulk messages as UDP:", rep)
    assert rep.ok and rep.frames == len(pkts), rep
    rows = capture.fields(udp, ["ip.src", "dhcp.id", "dhcp.option.dhcp"])
    assert [(a, int(x, 16), int(t)) for a, x, t in rows] == expect, rows
    # option 151 as tshark reads it (RFC 6926: 1-octet code): right for the rfc6926
    # dialect; the draft's 2-octet code reads as Success (0) + "\x03..." text there
    verbose = capture._tshark_read(udp, "-V", "-Y", "dhcp.option.type == 151")
    assert verbose.count("Status Code: MalformedQuery (3)") == 1, verbose[-3000:]
