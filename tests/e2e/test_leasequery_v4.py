"""RFC 4388 leasequery against `lessor serve`, end to end: ISC dhclient gets a
lease through ISC dhcrelay -a (real option 82), Scapy (playing a relay agent)
creates bindings carrying remote-id / relay-id, then Scapy sends every kind of
DHCPLEASEQUERY from the relay namespace and tshark decodes all of it.

One module-scoped fixture builds the topology and the bindings and sends every
query once (one Scapy process); each scenario is its own test over the answers."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness import addressing, capture
from harness.isc import make_dhclient, start_dhcrelay
from harness.lessor import Subnet4, start_lessor
from harness.scapy_runner import scapy_leasequery_batch, scapy_relay_dora
from lq_common import agent, dhcp_options, ips, u32

SERVER = addressing.SERVER_V4
RELAY = addressing.RELAY_UP_V4          # the requester: source address and giaddr
RELAY_B = "198.51.100.4"                # a second allowed requester address (giaddr != source)
STRANGER = "198.51.100.3"               # on the relay's link, not in `requesters`
CLIENT_ID = b"lsr-e2e-client"           # what dhclient sends as option 61
SCAPY_CID = b"\x01scapy-client-2"       # what the second Scapy client sends as option 61
FREE_IN_POOL = "192.0.2.150"            # in the pool, never handed out here
OUTSIDE = "203.0.113.77"                # in no configured subnet

REMOTE_A, RELAYID_A = b"rid-A", bytes.fromhex("01020304")
REMOTE_R, RELAYID_R = b"rid-R", bytes.fromhex("0a0b0c0d")
SCAPY_CLIENTS = [
    # two bindings with the same remote-id and relay-id: associated-ip
    {"chaddr": "02:00:00:00:0c:01", "agent": agent((1, b"sc-1"), (2, REMOTE_A), (12, RELAYID_A)).hex()},
    {"chaddr": "02:00:00:00:0c:02", "agent": agent((1, b"sc-2"), (2, REMOTE_A), (12, RELAYID_A)).hex(),
     "client_id": SCAPY_CID.hex()},
    # released afterwards: its identifiers are known, no binding is active
    {"chaddr": "02:00:00:00:0c:03", "agent": agent((1, b"sc-3"), (2, REMOTE_R), (12, RELAYID_R)).hex(),
     "release": True},
]
# how tshark 4.0 names the RFC 4388 message types (`tshark -G values`, dhcp.option.dhcp)
TSHARK_NAMES = {10: "Lease query", 11: "Lease Unassigned", 12: "Lease Unknown", 13: "Lease Active"}


def mac_of(ns, ifname: str) -> str:
    return ns.ip("link", "show", ifname).stdout.split("link/ether ")[1].split()[0]


def only_53_54(r) -> None:
    o = dhcp_options(r["bootp_hex"])
    assert sorted(o) == [53, 54], (r["name"], o)
    assert o[54] == ipaddress.IPv4Address(SERVER).packed


@dataclass
class Lq:
    artifacts: Path
    addr_a: str            # dhclient through dhcrelay -a, client-id CLIENT_ID
    mac_a: str
    relay82: bytes         # the option 82 dhcrelay added for it
    addr_b1: str
    addr_b2: str
    addr_r: str            # released
    newest: tuple          # (cltt, sequence, -address, address, client) of the newer of b1 / b2
    other: tuple
    dora: list             # the Scapy relay's DORAs
    queries: list
    res: dict
    pcap: Path

    def reply(self, name, kind, ciaddr):
        r = self.res[name]
        assert r["reply"] == kind, r
        assert r["ip_src"] == SERVER and r["ip_dst"] == r["giaddr"] == self.query(name)["giaddr"], r
        assert r["ciaddr"] == ciaddr, r
        return r, dhcp_options(r["bootp_hex"])

    def query(self, name) -> dict:
        return next(x for x in self.queries if x["name"] == name)


@pytest.fixture(scope="module")
def lq(shared4) -> Lq:
    return _run(shared4.topo, shared4.procs, shared4.artifacts)


def _run(t, procs, artifacts) -> Lq:
    t.relay.add_addr(t.relay_up_if, f"{STRANGER}/24")
    t.relay.add_addr(t.relay_up_if, f"{RELAY_B}/24")
    cap = capture.start_capture(procs, t.relay, t.relay_up_if, artifacts / "server-link.pcap",
                                name="tshark-server")
    srv = start_lessor(procs, t.server, artifacts / "lessor", identifier=SERVER, listen=[SERVER],
                       relays=[str(addressing.CLIENT_NET)],
                       requesters=[f"{RELAY}/32", f"{RELAY_B}/32"],
                       reply_to_source_port=[f"{RELAY}/32"],
                       subnets=[Subnet4(str(addressing.CLIENT_NET), addressing.POOL_V4,
                                        routers=addressing.RELAY_DOWN_V4)])
    start_dhcrelay(procs, t.relay, [t.relay_down_if], [t.relay_up_if], [SERVER], artifacts / "dhcrelay")

    # 1. a real client through a real relay: option 82 circuit-id "r0" from dhcrelay -a
    client = make_dhclient(t.client, t.client_if, artifacts / "dhclient",
                           extra_conf=f'send dhcp-client-identifier "{CLIENT_ID.decode()}";\n')
    ev = client.acquire(procs)
    addr_a = ev["new_ip_address"]
    mac_a = mac_of(t.client, t.client_if)
    b_a = srv.wait_state(addr_a, "active")
    relay82 = bytes.fromhex(b_a["relay_agent_information"])
    assert relay82 == agent((1, t.relay_down_if.encode())), b_a      # dhcrelay 4.4 -a: circuit-id only

    # 2. Scapy as a relay agent (giaddr = the relay's client-link address, from
    #    the relay namespace): remote-id (2) and relay-id (12) sub-options
    log = artifacts / "scapy.log"
    dora = scapy_relay_dora(t.relay, t.relay_up_if, SERVER, RELAY, addressing.RELAY_DOWN_V4,
                            SCAPY_CLIENTS, log=log)
    for c, r in zip(SCAPY_CLIENTS, dora):
        assert r["ack"] and r["ack"]["reply"] == "DHCPACK", dora
        assert r["ack"]["ip_dst"] == addressing.RELAY_DOWN_V4, r
    addr_b1, addr_b2, addr_r = (r["ack"]["yiaddr"] for r in dora)
    bs = []
    for a, c in ((addr_b1, SCAPY_CLIENTS[0]), (addr_b2, SCAPY_CLIENTS[1])):
        b = srv.wait_state(a, "active")
        assert b["relay_agent_information"] == c["agent"], b
        bs.append((b["cltt"], b["sequence"], -int(ipaddress.IPv4Address(a)), a, c))
    # the answer to a remote-id / relay-id query: the most recent cltt (1 s resolution, so both
    # may tie), within one second the binding the store wrote last (its `sequence`), what is
    # still equal going to the lowest address (lessor_store::v4::most_recent_first)
    bs.sort()
    newest, other = bs[-1], bs[0]
    srv.wait_state(addr_r, "released")
    assert FREE_IN_POOL not in (addr_a, addr_b1, addr_b2, addr_r)

    # 3. the queries
    def q(name, **kw):
        d = {"name": name, "server": SERVER, "giaddr": RELAY}
        d.update(kw)
        return d
    none = {"timeout": 1.5}
    queries = [
        q("ip-active", ciaddr=addr_a),
        q("ip-active-highport", ciaddr=addr_a, sport=40067),
        q("ip-active-other-giaddr-highport", ciaddr=addr_a, src=RELAY, giaddr=RELAY_B, sport=40068),
        q("ip-active-not-opted-in-highport", ciaddr=addr_a, src=RELAY_B, giaddr=RELAY_B, sport=40069),
        q("ip-active-no-prl", ciaddr=addr_a, prl=[]),
        q("ip-active-no-prl-scapy-cid", ciaddr=addr_b2, prl=[]),
        q("ip-active-no-prl-no-cid", ciaddr=addr_b1, prl=[]),
        q("ip-free", ciaddr=FREE_IN_POOL),
        q("ip-released", ciaddr=addr_r),
        q("ip-outside", ciaddr=OUTSIDE),
        q("mac-active", chaddr=mac_a),
        q("mac-unknown", chaddr="02:00:00:00:0d:99"),
        q("mac-released", chaddr=SCAPY_CLIENTS[2]["chaddr"]),
        q("cid-active", client_id=CLIENT_ID.hex()),
        q("cid-unknown", client_id=b"nobody".hex()),
        q("remote-id-active", agent=agent((2, REMOTE_A)).hex()),
        q("relay-id-active", agent=agent((12, RELAYID_A)).hex()),
        q("remote-id-released", agent=agent((2, REMOTE_R)).hex()),
        q("relay-id-released", agent=agent((12, RELAYID_R)).hex()),
        q("remote-id-never", agent=agent((2, b"rid-never")).hex()),
        q("relay-id-never", agent=agent((12, b"\xde\xad")).hex()),
        q("not-allowed", ciaddr=addr_a, giaddr=STRANGER, **none),
        q("not-allowed-giaddr", ciaddr=addr_a, src=RELAY, giaddr=STRANGER, **none),
        q("giaddr-zero", ciaddr=addr_a, src=RELAY, giaddr="0.0.0.0", **none),
    ]
    res = scapy_leasequery_batch(t.relay, t.relay_up_if, queries, log=log)
    pcap = capture.stop_captures({"server": cap})["server"]
    assert srv.stop() == 0
    return Lq(artifacts, addr_a, mac_a, relay82, addr_b1, addr_b2, addr_r, newest, other, dora,
              queries, res, pcap)


def test_by_ip_active(lq):
    # 51, 91, 61 (requested), 82 byte for byte as the relay sent it
    for name in ("ip-active", "ip-active-highport", "ip-active-other-giaddr-highport",
                 "ip-active-not-opted-in-highport"):
        r, o = lq.reply(name, "DHCPLEASEACTIVE", lq.addr_a)
        assert r["chaddr"] == lq.mac_a and r["htype"] == 1 and r["hlen"] == 6, r
        assert 590 <= u32(o[51]) <= 600, o                    # 10m lease, remaining
        assert u32(o[91]) <= 30, o                            # seconds since the client's REQUEST
        assert o[82] == lq.relay82, o
        assert o[61] == CLIENT_ID, o
        assert o[54] == ipaddress.IPv4Address(SERVER).packed
        assert list(o)[:2] == [53, 54] and list(o)[-1] == 82, list(o)
        assert 92 not in o, o                                 # the client has one address


def test_reply_port(lq):
    # docs/protocol.md decision 4: port 67 -> 67; from giaddr itself on a high port -> that port,
    # for a requester in reply-to-source-port (RELAY); source != giaddr -> giaddr:67 whatever the
    # source port; a requester not opted in (RELAY_B) -> giaddr:67 whatever the source port
    assert lq.res["ip-active"]["udp_dport"] == 67
    assert lq.res["ip-active-highport"]["udp_dport"] == 40067
    assert lq.res["ip-active-other-giaddr-highport"]["udp_dport"] == 67
    assert lq.res["ip-active-other-giaddr-highport"]["ip_dst"] == RELAY_B
    assert lq.res["ip-active-not-opted-in-highport"]["udp_dport"] == 67
    assert lq.res["ip-active-not-opted-in-highport"]["ip_dst"] == RELAY_B


def test_by_ip_active_without_prl_is_what_the_dhcprequest_got(lq):
    # RFC 4388 §6.2: without a Parameter Request List, the options a DHCPREQUEST would have been
    # given: lease times, the configured ones, option 82 and (RFC 6842) the client's 61
    r, o = lq.reply("ip-active-no-prl", "DHCPLEASEACTIVE", lq.addr_a)
    assert o[61] == CLIENT_ID, o
    assert o[82] == lq.relay82, o
    for c in (51, 58, 59, 91):
        assert c in o, (c, o)
    assert o[3] == ipaddress.IPv4Address(addressing.RELAY_DOWN_V4).packed, o   # routers
    r, o = lq.reply("ip-active-no-prl-scapy-cid", "DHCPLEASEACTIVE", lq.addr_b2)
    assert o[61] == SCAPY_CID, o
    r, o = lq.reply("ip-active-no-prl-no-cid", "DHCPLEASEACTIVE", lq.addr_b1)
    assert 61 not in o, o                                     # that client sent none


def test_offer_and_ack_return_the_client_identifier(lq):
    # RFC 6842: a client identifier sent comes back unaltered in the DHCPOFFER and DHCPACK
    for c, r in zip(SCAPY_CLIENTS, lq.dora):
        for step in ("offer", "ack"):
            assert r[step]["options"].get("client_id") == c.get("client_id"), (c["chaddr"], step, r[step])


def test_by_ip_managed_but_not_active(lq):
    # ciaddr echoed, only 53/54
    for name, a in (("ip-free", FREE_IN_POOL), ("ip-released", lq.addr_r)):
        r, _ = lq.reply(name, "DHCPLEASEUNASSIGNED", a)
        only_53_54(r)


def test_by_ip_outside_every_subnet(lq):
    # ciaddr echoed (erratum 3518), only 53/54
    r, _ = lq.reply("ip-outside", "DHCPLEASEUNKNOWN", OUTSIDE)
    only_53_54(r)


def test_by_mac(lq):
    r, o = lq.reply("mac-active", "DHCPLEASEACTIVE", lq.addr_a)
    assert r["chaddr"] == lq.mac_a and o[82] == lq.relay82 and 51 in o and 91 in o, r
    for name in ("mac-unknown", "mac-released"):      # §6.4: never UNASSIGNED for a MAC query
        r, _ = lq.reply(name, "DHCPLEASEUNKNOWN", "0.0.0.0")
        only_53_54(r)
        assert r["chaddr"] == lq.query(name)["chaddr"], r


def test_by_client_id(lq):
    r, o = lq.reply("cid-active", "DHCPLEASEACTIVE", lq.addr_a)
    assert o[61] == CLIENT_ID and r["chaddr"] == lq.mac_a and o[82] == lq.relay82, (r, o)
    r, _ = lq.reply("cid-unknown", "DHCPLEASEUNKNOWN", "0.0.0.0")
    only_53_54(r)


def test_by_remote_id_and_relay_id(lq):
    # decision 7: the most recent binding, the other in 92
    for name in ("remote-id-active", "relay-id-active"):
        r, o = lq.reply(name, "DHCPLEASEACTIVE", lq.newest[3])
        assert r["chaddr"] == lq.newest[4]["chaddr"], r
        assert o[82].hex() == lq.newest[4]["agent"], o
        assert ips(o[92]) == [lq.other[3]], o
        assert 51 in o and 91 in o, o
    for name in ("remote-id-released", "relay-id-released"):
        r, _ = lq.reply(name, "DHCPLEASEUNASSIGNED", "0.0.0.0")
        only_53_54(r)
    for name in ("remote-id-never", "relay-id-never"):
        r, _ = lq.reply(name, "DHCPLEASEUNKNOWN", "0.0.0.0")
        only_53_54(r)


def test_never_answered(lq):
    for name in ("not-allowed", "not-allowed-giaddr", "giaddr-zero"):
        assert lq.res[name]["reply"] is None, lq.res[name]


def test_tshark_decodes_every_query_and_reply(lq):
    # every packet decodes cleanly; the leasequery types are dissected
    pcap = lq.pcap
    rep = capture.check_decode(pcap)
    assert rep.ok and rep.frames >= 2 * len(lq.queries), rep
    rows = capture.fields(pcap, ["ip.src", "ip.dst", "udp.dstport", "dhcp.id", "dhcp.option.dhcp"],
                          "dhcp.option.dhcp >= 10")
    by_xid = {}
    for src, dst, dport, xid, mt in rows:
        by_xid.setdefault(int(xid, 16), []).append((src, dst, int(dport), int(mt)))
    expect_type = {"DHCPLEASEACTIVE": 13, "DHCPLEASEUNASSIGNED": 11, "DHCPLEASEUNKNOWN": 12}
    for r in lq.res.values():
        seen = by_xid.get(r["xid"], [])
        assert (r["src"], SERVER, 67, 10) in seen, (r, seen)           # the query, as sent
        replies = [s for s in seen if s[0] == SERVER]
        if r["reply"] is None:
            assert not replies, (r, seen)
        else:
            assert replies == [(SERVER, r["ip_dst"], r["udp_dport"], expect_type[r["reply"]])], (r, seen)
    verbose = "\n".join(l.strip() for l in capture._tshark_read(pcap, "-V", "-Y", "dhcp.option.dhcp >= 10")
                        .splitlines() if "Message Type" in l)
    for code, label in TSHARK_NAMES.items():
        assert f"(53) DHCP Message Type ({label})" in verbose, (label, verbose[:2000])
