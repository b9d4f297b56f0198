"""DHCPv4 bulk leasequery (TCP) against `lessor serve`, decoded by an
implementation Lessor's authors did not write: Scapy (playing a relay agent)
creates bindings with option 82 sub-options 1/2/12, then a plain-socket TCP
client in the relay namespace frames queries by hand (both dialects), Scapy
builds them (or they are given as raw bytes, for shapes Scapy would not write)
and decodes every reply, and tshark decodes the replies too
(docs/leasequery.md, "Bulk leasequery (TCP)").

One module-scoped fixture sets up the server and the bindings and runs every
session once; each scenario is its own test over those results."""
from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness import addressing, capture
from harness.lessor import LessorServer, Subnet4, write_config
from harness.scapy_runner import scapy_bulk, scapy_relay_dora
from lq_common import agent, dhcp_options

SERVER = addressing.SERVER_V4
RELAY = addressing.RELAY_UP_V4
REMOTE_A, RELAYID_A = b"rid-A", bytes.fromhex("01020304")
REMOTE_B, RELAYID_B = b"rid-B", bytes.fromhex("0a0b0c0d")
CID_1, CID_4 = b"\x01bulk-client-1", b"bulk-client-4"
CLIENTS = [
    # three bindings behind relay-id A (same remote-id), one behind relay-id B; two send a
    # client identifier (option 61)
    {"chaddr": "02:00:00:00:0e:01", "agent": agent((1, b"bk-1"), (2, REMOTE_A), (12, RELAYID_A)).hex(),
     "client_id": CID_1.hex()},
    {"chaddr": "02:00:00:00:0e:02", "agent": agent((1, b"bk-2"), (2, REMOTE_A), (12, RELAYID_A)).hex()},
    {"chaddr": "02:00:00:00:0e:03", "agent": agent((1, b"bk-3"), (2, REMOTE_A), (12, RELAYID_A)).hex()},
    {"chaddr": "02:00:00:00:0e:04", "agent": agent((1, b"bk-4"), (2, REMOTE_B), (12, RELAYID_B)).hex(),
     "client_id": CID_4.hex()},
]
CID_OF = {c["chaddr"]: bytes.fromhex(c["client_id"]) for c in CLIENTS if "client_id" in c}
# RFC 6926 message types; the draft dialect's TBD code points (defaults of `draft-codes`)
BULKLEASEQUERY, LEASEACTIVE, QUERYDONE, LEASEQUERYFAIL = 14, 13, 15, 17
UNASSIGNED, UNKNOWN, LEASEQUERY, LEASEDATA = 11, 12, 10, 19
MALFORMED_QUERY, NOT_ALLOWED = 3, 4     # RFC 6926 and draft status codes 3 and 4
DHCP_STATE_ACTIVE = 2                   # RFC 6926 §6.2.7
SERVER_ID = ipaddress.IPv4Address(SERVER).packed


def by_relay_id(rid: bytes, **kw) -> dict:
    return dict(agent=agent((12, rid)).hex(), **kw)


def raw_query(xid: int, mtype: int, *options, chaddr: str = "", yiaddr: str = "0.0.0.0") -> str:
    """A BOOTREQUEST as raw bytes (hex): the fixed header (giaddr 0), the magic cookie, option 53,
    then each (code, value) of `options` as its own instance, in order (two of one code are two
    instances, which RFC 3396 joins into one option), then the end option."""
    ch = bytes.fromhex(chaddr.replace(":", ""))
    head = bytes([1, 1 if ch else 0, len(ch), 0]) + xid.to_bytes(4, "big") + bytes(4)
    head += bytes(4) + ipaddress.IPv4Address(yiaddr).packed + bytes(8)     # ciaddr, yiaddr, siaddr, giaddr
    head += ch + bytes(16 - len(ch)) + bytes(64 + 128)
    opts = bytes([53, 1, mtype]) + b"".join(bytes([c, len(v)]) + v for c, v in options)
    return (head + b"\x63\x82\x53\x63" + opts + b"\xff").hex()


MAC_1 = CLIENTS[0]["chaddr"]
# Several keys in one query (docs/protocol.md decision 9), as raw bytes: name -> (chaddr, options)
SEVERAL_KEYS = {
    "mac+client-id": (MAC_1, [(61, CID_1)]),
    "mac+relay-id": (MAC_1, [(82, agent((12, RELAYID_A)))]),
    "mac+remote-id": (MAC_1, [(82, agent((2, REMOTE_A)))]),
    "client-id+relay-id": ("", [(61, CID_1), (82, agent((12, RELAYID_A)))]),
    "client-id+remote-id": ("", [(61, CID_1), (82, agent((2, REMOTE_A)))]),
    "remote-id+relay-id in one 82": ("", [(82, agent((2, REMOTE_A), (12, RELAYID_A)))]),
    "remote-id+relay-id in two 82": ("", [(82, agent((2, REMOTE_A))), (82, agent((12, RELAYID_A)))]),
    "two relay-ids": ("", [(82, agent((12, RELAYID_A), (12, RELAYID_B)))]),
}
# Other refusals of well-formed DHCP messages in the rfc6926 dialect: name -> (raw query kwargs,
# status); each is the only message of its response and carries the server identifier
RFC_REFUSALS = {
    "no key": (dict(mtype=BULKLEASEQUERY), NOT_ALLOWED),
    "wrong message type": (dict(mtype=LEASEQUERY, options=[(82, agent((12, RELAYID_A)))]), MALFORMED_QUERY),
    "yiaddr set": (dict(mtype=BULKLEASEQUERY, yiaddr="192.0.2.9", options=[(82, agent((12, RELAYID_A)))]),
                   MALFORMED_QUERY),
    "circuit-id + relay-id": (dict(mtype=BULKLEASEQUERY, options=[(82, agent((1, b"c"), (12, RELAYID_A)))]),
                              MALFORMED_QUERY),
    "query-start-time after query-end-time": (
        dict(mtype=BULKLEASEQUERY, options=[(82, agent((12, RELAYID_A))), (154, (2000).to_bytes(4, "big")),
                                            (155, (1000).to_bytes(4, "big"))]), MALFORMED_QUERY),
}


def raw_queries(cases: dict, first_xid: int, **kw) -> list:
    out = []
    for i, (name, case) in enumerate(cases.items()):
        xid = first_xid + i
        if isinstance(case[0], dict):
            args = dict(case[0])
            mtype, options = args.pop("mtype"), args.pop("options", [])
            raw = raw_query(xid, mtype, *options, **args)
        else:
            chaddr, options = case
            raw = raw_query(xid, kw["mtype"], *options, chaddr=chaddr)
        out.append({"name": name, "xid": xid, "raw": raw})
    return out


@dataclass
class Bulk:
    artifacts: Path
    dora: list
    addr: dict             # chaddr -> address
    agent_of: dict         # address -> option 82 hex as the relay sent it
    chaddr_of: dict        # address -> chaddr
    set_a: set
    set_b: set
    sessions: list
    res: dict
    pcap: Path

    def replies(self, session: str, query: str) -> list:
        s = self.res[session]
        xid = s["xids"][query]
        return [r for r in s["replies"] if r["xid"] == xid]

    def check_binding(self, r: dict, addresses: set) -> str:
        """A binding message as Scapy decodes it: BOOTREPLY, ciaddr one of the bound
        addresses, that client's chaddr, option 82 as the relay sent it, the client's 61."""
        assert r["op"] == 2 and r["ciaddr"] in addresses, r
        chaddr = self.chaddr_of[r["ciaddr"]]
        assert r["chaddr"] == chaddr and r["htype"] == 1 and r["hlen"] == 6, r
        assert r["options"]["relay_agent_information"] == self.agent_of[r["ciaddr"]], r
        assert 590 <= r["options"]["lease_time"] <= 600, r
        # no PRL in a bulk query: what the DHCPREQUEST got, the client identifier included
        # (RFC 4388 §6.2, RFC 6842)
        o = dhcp_options(r["hex"])
        assert o.get(61) == CID_OF.get(chaddr), (o, r)
        return r["ciaddr"]


@pytest.fixture(scope="module")
def bulk(shared4) -> Bulk:
    return _run(shared4.topo, shared4.procs, shared4.artifacts)


def _run(t, procs, artifacts) -> Bulk:
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
        {"name": "rfc-unknown", "dialect": "rfc6926", "queries": [
            dict(name="u", **by_relay_id(b"\xde\xad", **rq)),
            dict(name="mac", chaddr="02:00:00:00:0d:99", **rq),
            dict(name="cid", client_id=b"nobody".hex(), **rq)]},
        {"name": "rfc-parallel", "dialect": "rfc6926", "queries": [
            dict(name="a", **by_relay_id(RELAYID_A, **rq)), dict(name="b", **by_relay_id(RELAYID_B, **rq))]},
        # ciaddr set (and a relay-id); the connection stays open for the next query
        {"name": "rfc-malformed", "dialect": "rfc6926", "queries": [
            dict(name="bad", ciaddr=next(iter(set_b)), **by_relay_id(RELAYID_A, **rq)),
            dict(name="b", **by_relay_id(RELAYID_B, **rq))]},
        {"name": "rfc-by-client-id", "dialect": "rfc6926", "queries": [
            dict(name="c1", client_id=CID_1.hex(), **rq), dict(name="c4", client_id=CID_4.hex(), **rq)]},
        {"name": "rfc-several-keys", "dialect": "rfc6926",
         "queries": raw_queries(SEVERAL_KEYS, 0x6000, mtype=BULKLEASEQUERY)
         + [dict(name="b", **by_relay_id(RELAYID_B, **rq))]},
        {"name": "rfc-refusals", "dialect": "rfc6926",
         "queries": raw_queries(RFC_REFUSALS, 0x7000) + [dict(name="b", **by_relay_id(RELAYID_B, **rq))]},
        {"name": "draft-relay-a", "dialect": "draft", "queries": [dict(name="a", **by_relay_id(RELAYID_A, **dq))]},
        {"name": "draft-unknown", "dialect": "draft", "queries": [dict(name="u", **by_relay_id(b"\xde\xad", **dq))]},
        {"name": "draft-malformed", "dialect": "draft", "queries": [
            dict(name="bad", ciaddr=next(iter(set_b)), **by_relay_id(RELAYID_A, **dq)),
            dict(name="b", **by_relay_id(RELAYID_B, **dq))]},
        {"name": "draft-several-keys", "dialect": "draft",
         "queries": raw_queries(SEVERAL_KEYS, 0x8000, mtype=LEASEQUERY)},
    ]
    res = scapy_bulk(t.relay, SERVER, sessions, timeout=5, log=log)
    pcap = capture.stop_captures({"bulk": cap})["bulk"]
    assert srv.stop() == 0
    return Bulk(artifacts, dora, addr, agent_of, chaddr_of, set_a, set_b, sessions, res, pcap)


def test_every_session_ends_every_query(bulk):
    for name, s in bulk.res.items():
        assert not s["pending"] and not s["leftover"], (name, s)


def test_offer_and_ack_return_the_client_identifier(bulk):
    # RFC 6842: a client identifier sent comes back unaltered in the DHCPOFFER and DHCPACK
    for c, r in zip(CLIENTS, bulk.dora):
        for step in ("offer", "ack"):
            got = r[step]["options"].get("client_id")
            assert got == c.get("client_id"), (c["chaddr"], step, r[step])


def test_rfc6926_relay_id_one_lease_active_per_binding_then_done(bulk):
    # 2-octet framing, one LEASEACTIVE per binding, then QUERYDONE
    for session, query, expect in (("rfc-relay-a", "a", bulk.set_a), ("rfc-parallel", "a", bulk.set_a),
                                   ("rfc-parallel", "b", bulk.set_b), ("rfc-malformed", "b", bulk.set_b),
                                   ("rfc-several-keys", "b", bulk.set_b), ("rfc-refusals", "b", bulk.set_b)):
        rs = bulk.replies(session, query)
        assert [r["type"] for r in rs] == [LEASEACTIVE] * len(expect) + [QUERYDONE], (session, query, rs)
        got = [bulk.check_binding(r, expect) for r in rs[:-1]]
        assert sorted(got) == sorted(expect), (session, query, rs)
        for r in rs[:-1]:
            assert r["unnamed"]["156"] == f"{DHCP_STATE_ACTIVE:02x}", r      # dhcp-state
            assert len(bytes.fromhex(r["unnamed"]["152"])) == 4, r           # base-time
            assert r["options"].get("server_id") == SERVER, r                # every binding message
        done = rs[-1]
        assert done["ciaddr"] == "0.0.0.0" and "152" in done["unnamed"], done
        # the DONE after bindings is not the first message of the response: no server identifier
        assert "server_id" not in done["options"], done
        for r in rs:                      # base-time: the server's clock, seconds since 1970
            assert abs(int(r["unnamed"]["152"], 16) - time.time()) < 120, r


def test_rfc6926_by_client_id_carries_the_client_identifier(bulk):
    for query, chaddr in (("c1", CLIENTS[0]["chaddr"]), ("c4", CLIENTS[3]["chaddr"])):
        rs = bulk.replies("rfc-by-client-id", query)
        assert [r["type"] for r in rs] == [LEASEACTIVE, QUERYDONE], rs
        bulk.check_binding(rs[0], {bulk.addr[chaddr]})
        assert dhcp_options(rs[0]["hex"])[61] == CID_OF[chaddr], rs[0]


def test_rfc6926_nothing_found_is_done_alone_with_the_server_identifier(bulk):
    # docs/protocol.md decision 1: the DONE is the first message of its response
    for query in ("u", "mac", "cid"):
        rs = bulk.replies("rfc-unknown", query)
        assert [r["type"] for r in rs] == [QUERYDONE], (query, rs)
        o = dhcp_options(rs[0]["hex"])
        assert list(o) == [53, 54, 152], (query, o)
        assert o[54] == SERVER_ID, o


def test_rfc6926_queries_are_answered_in_parallel(bulk):
    par = bulk.res["rfc-parallel"]
    # every message of the connection belongs to one of the two queries
    assert len(par["replies"]) == len(bulk.set_a) + 1 + len(bulk.set_b) + 1, par
    # answered in parallel, one message of each in turn (draft §8.6.1): the
    # one-binding query is done before the three-binding one sent first
    order = [(r["xid"], r["type"]) for r in par["replies"]]
    assert order.index((par["xids"]["b"], QUERYDONE)) < order.index((par["xids"]["a"], QUERYDONE)), order


def _rfc_refusal(r: dict, status: int) -> None:
    """A refusal in the rfc6926 dialect: one LEASEQUERYDONE with option 151 = 1-octet code +
    text (RFC 6926 §6.2.2: in DONE the status speaks for the whole query), base-time, and the
    server identifier, as the first message of its response (docs/protocol.md decision 1)."""
    assert r["type"] == QUERYDONE, r
    o = dhcp_options(r["hex"])
    assert o[151][0] == status, (status, o)
    assert o[54] == SERVER_ID, o
    assert list(o) == [53, 54, 151, 152], o


def test_rfc6926_refusal_keeps_the_connection_open(bulk):
    # ciaddr set: MalformedQuery (RFC 6926 has no query by IP)
    rs = bulk.replies("rfc-malformed", "bad")
    assert len(rs) == 1, rs
    _rfc_refusal(rs[0], MALFORMED_QUERY)


def test_rfc6926_several_keys_are_not_allowed(bulk):
    # docs/protocol.md decision 9: NotAllowed (4) in this dialect, raw queries (two option 82
    # instances are one option, RFC 3396), each the only message of its response
    for name in SEVERAL_KEYS:
        rs = bulk.replies("rfc-several-keys", name)
        assert len(rs) == 1, (name, rs)
        _rfc_refusal(rs[0], NOT_ALLOWED)


def test_rfc6926_every_refusal_carries_the_server_identifier(bulk):
    for name, (_, status) in RFC_REFUSALS.items():
        rs = bulk.replies("rfc-refusals", name)
        assert len(rs) == 1, (name, rs)
        _rfc_refusal(rs[0], status)


def test_rfc6926_framing_is_two_octets(bulk):
    for s in bulk.sessions:
        if s["dialect"] == "rfc6926":
            assert all(len(bytes.fromhex(r["frame_head"])) == 2 for r in bulk.res[s["name"]]["replies"]), s


def test_draft_relay_id_lease_active_then_lease_data_then_done(bulk):
    # 4-octet framing, LEASEACTIVE (+54), LEASEDATA per further binding, LEASEDONE
    rs = bulk.replies("draft-relay-a", "a")
    assert [r["type"] for r in rs] == [LEASEACTIVE] + [LEASEDATA] * (len(bulk.set_a) - 1) + [QUERYDONE], rs
    assert sorted(bulk.check_binding(r, bulk.set_a) for r in rs[:-1]) == sorted(bulk.set_a), rs
    assert rs[0]["options"].get("server_id") == SERVER, rs[0]
    assert all("server_id" not in r["options"] for r in rs[1:]), rs
    assert all(not r["unnamed"] for r in rs), rs           # no base-time / dhcp-state in this dialect
    assert list(dhcp_options(rs[-1]["hex"])) == [53], rs[-1]  # LEASEDONE: option 53 only


def test_draft_never_seen_relay_id_is_lease_unknown_alone_with_the_server_identifier(bulk):
    # never-seen relay-id: DHCPLEASEUNKNOWN, no DONE (§9.2, decision 7); an RFC 4388 message,
    # the first of its response: 53 and 54
    rs = bulk.replies("draft-unknown", "u")
    assert [r["type"] for r in rs] == [UNKNOWN]
    o = dhcp_options(rs[0]["hex"])
    assert list(o) == [53, 54] and o[54] == SERVER_ID, o


def _draft_fail(r: dict, status: int) -> None:
    """LEASEQUERYFAIL with option 151 = 2-octet code + text and no other option (draft §7.2.3:
    no server identifier either, docs/protocol.md decision 1)."""
    assert r["type"] == LEASEQUERYFAIL, r
    o = dhcp_options(r["hex"])
    assert list(o) == [53, 151], o
    assert o[151][:2] == status.to_bytes(2, "big"), o


def test_draft_refusal_is_lease_query_fail_and_the_connection_stays_open(bulk):
    rs = bulk.replies("draft-malformed", "bad")
    assert len(rs) == 1, rs
    _draft_fail(rs[0], MALFORMED_QUERY)
    rs = bulk.replies("draft-malformed", "b")
    assert [r["type"] for r in rs] == [LEASEACTIVE, QUERYDONE], rs
    bulk.check_binding(rs[0], bulk.set_b)


def test_draft_several_keys_are_malformed(bulk):
    # docs/protocol.md decision 9: the draft's query formats make such a query invalid
    for name in SEVERAL_KEYS:
        rs = bulk.replies("draft-several-keys", name)
        assert len(rs) == 1, (name, rs)
        _draft_fail(rs[0], MALFORMED_QUERY)


def test_draft_framing_is_four_octets(bulk):
    for s in bulk.sessions:
        if s["dialect"] == "draft":
            assert all(r["frame_head"].endswith("0000") and len(r["frame_head"]) == 8
                       for r in bulk.res[s["name"]]["replies"]), s


def _stream_frames(data: bytes, head: int) -> list:
    """Split one direction of a bulk leasequery TCP stream into message payloads."""
    out = []
    while data:
        n = int.from_bytes(data[:2], "big")
        assert len(data) >= head + n, ("stream cut in a frame", data.hex())
        out.append((data[:head], data[head:head + n]))
        data = data[head + n:]
    return out


def test_tshark_decodes_every_query_and_reply(bulk):
    """tshark 4.0 has no DHCP-over-TCP dissector ("dhcp" is not valid for
    tcp.port): the TCP capture must decode cleanly as TCP, each server->relay
    stream must be byte for byte the frames the client decoded, and every
    message of the streams, re-wrapped as UDP to port 67, must be dissected by
    tshark's DHCP dissector without malformed/expert errors and with the
    message types and xids Scapy saw."""
    from scapy.all import IP, UDP, Ether, Raw, wrpcap

    pcap, res, sessions = bulk.pcap, bulk.res, bulk.sessions
    rep = capture.check_decode(pcap)
    assert rep.ok and rep.frames > 0, rep
    streams = {}
    for stream, src, payload in capture.fields(pcap, ["tcp.stream", "ip.src", "tcp.payload"], "tcp.len > 0"):
        d = streams.setdefault(int(stream), {"q": b"", "r": b""})
        d["r" if src == SERVER else "q"] += bytes.fromhex(payload.replace(":", ""))
    assert len(streams) == len(sessions), streams.keys()
    pkts, expect = [], []
    statuses = {MALFORMED_QUERY: 0, NOT_ALLOWED: 0}
    for (idx, st), s in zip(sorted(streams.items()), sessions):       # sessions ran in order
        head = 4 if s["dialect"] == "draft" else 2
        got = res[s["name"]]["replies"]
        frames = _stream_frames(st["r"], head)
        assert [(h.hex(), p.hex()) for h, p in frames] == [(r["frame_head"], r["hex"]) for r in got], s["name"]
        queries = _stream_frames(st["q"], head)
        assert len(queries) == len(s["queries"]), s["name"]
        for _, q in queries:
            pkts.append(Ether() / IP(src=RELAY, dst=SERVER) / UDP(sport=67, dport=67) / Raw(q))
            expect.append((RELAY, int.from_bytes(q[4:8], "big"), dhcp_options(q.hex())[53][0]))
        for r, (_, p) in zip(got, frames):
            pkts.append(Ether() / IP(src=SERVER, dst=RELAY) / UDP(sport=67, dport=67) / Raw(p))
            expect.append((SERVER, r["xid"], r["type"]))
            status = dhcp_options(p.hex()).get(151)
            if s["dialect"] == "rfc6926" and status and status[0] in statuses:
                statuses[status[0]] += 1
    udp = bulk.artifacts / "bulk-as-udp.pcap"
    wrpcap(str(udp), pkts)
    rep = capture.check_decode(udp)
    print("bulk messages as UDP:", rep)
    assert rep.ok and rep.frames == len(pkts), rep
    rows = capture.fields(udp, ["ip.src", "dhcp.id", "dhcp.option.dhcp"])
    assert [(a, int(x, 16), int(t)) for a, x, t in rows] == expect, rows
    # option 151 as tshark reads it (RFC 6926: 1-octet code): right for the rfc6926
    # dialect; the draft's 2-octet code reads as Success (0) + "\x03..." text there
    verbose = capture._tshark_read(udp, "-V", "-Y", "dhcp.option.type == 151")
    assert statuses[MALFORMED_QUERY] >= 5 and statuses[NOT_ALLOWED] >= len(SEVERAL_KEYS) + 1, statuses
    assert verbose.count("Status Code: MalformedQuery (3)") == statuses[MALFORMED_QUERY], verbose[-3000:]
    assert verbose.count("Status Code: NotAllowed (4)") == statuses[NOT_ALLOWED], verbose[-3000:]
