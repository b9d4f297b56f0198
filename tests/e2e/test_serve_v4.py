"""`lessor serve` end to end: ISC dhclient -> ISC dhcrelay -a (option 82) ->
lessor serve; renewal, release, restart with the same store, a directly
attached client, a client identifier returned (RFC 6842), and tshark's view of
every packet.

Each scenario is a class: one class-scoped fixture runs it once (its own
namespaces, daemons and captures, torn down when the class is done) and
records what it saw; each check over that is its own test, so one failing
check does not hide the others."""
from __future__ import annotations

import ipaddress
import re
import signal
from types import SimpleNamespace

import pytest

from harness import addressing, capture
from harness.isc import make_dhclient, start_dhcrelay
from harness.lessor import Subnet4, start_lessor, start_lessor_relayed
from harness.netns import Topology4, TopologyDirect4
from harness.scapy_runner import scapy_dora
from harness.shared import Shared, shared_setup

DHCP_MSG = {1: "DISCOVER", 2: "OFFER", 3: "REQUEST", 4: "DECLINE", 5: "ACK", 6: "NAK", 7: "RELEASE",
            8: "INFORM"}
REQUESTS = ("DISCOVER", "REQUEST")
SERVER = addressing.SERVER_V4
GIADDR = addressing.RELAY_DOWN_V4
# an RFC 4361 client identifier (type 255, IAID 1, DUID-LL): binary, not text
CLIENT_ID = bytes.fromhex("ff00000001" "00030001" "02000000c1d1")
# an address outside the client link: an INIT-REBOOT for it is NAKed ("not on this network")
WRONG_NETWORK = "203.0.113.9"


# ---------------------------------------------------------------- helpers

def dhcp_messages(pcap, display_filter: str = "dhcp") -> list:
    """Every DHCP message in pcap: dict(type, xid, src, dst, eth_dst, giaddr, yiaddr, options)."""
    out = []
    for pkt in capture.packets_raw(pcap, display_filter):
        layers = pkt["_source"]["layers"]
        opts = capture.dhcp_options(layers["dhcp_raw"][0])
        out.append({
            "type": DHCP_MSG.get(opts.get(53, b"\0")[0], "?"),
            "xid": int(layers["dhcp"]["dhcp.id"], 16),
            "src": layers["ip"]["ip.src"], "dst": layers["ip"]["ip.dst"],
            "eth_dst": layers["eth"]["eth.dst"],
            "giaddr": layers["dhcp"]["dhcp.ip.relay"], "yiaddr": layers["dhcp"]["dhcp.ip.your"],
            "options": opts,
        })
    return out


def mac_of(ns, ifname: str) -> str:
    return ns.ip("link", "show", ifname).stdout.split("link/ether ")[1].split()[0]


def assert_decodes_cleanly(pcaps: dict, min_frames: int = 2) -> None:
    for link, pcap in pcaps.items():
        rep = capture.check_decode(pcap)
        assert rep.frames >= min_frames, f"{link}: {rep}"
        assert rep.ok, f"{link}: {rep}"


def start_relayed(s: Shared, *, client_conf: str = "") -> tuple:
    """Captures on both relay links, dhcrelay -a, a prepared dhclient; lessor is started by the
    scenario. Returns (captures, dhclient)."""
    t, procs, artifacts = s.topo, s.procs, s.artifacts
    caps = {
        "client": capture.start_capture(procs, t.relay, t.relay_down_if, artifacts / "client-link.pcap",
                                        name="tshark-client"),
        "server": capture.start_capture(procs, t.relay, t.relay_up_if, artifacts / "server-link.pcap",
                                        name="tshark-server"),
    }
    start_dhcrelay(procs, t.relay, [t.relay_down_if], [t.relay_up_if], [SERVER], artifacts / "dhcrelay")
    client = make_dhclient(t.client, t.client_if, artifacts / "dhclient", extra_conf=client_conf)
    return caps, client


@pytest.fixture(scope="class")
def relayed_env(request, tmp_path_factory):
    with shared_setup(request, tmp_path_factory, Topology4) as s:
        yield s


@pytest.fixture(scope="class")
def direct_env(request, tmp_path_factory):
    with shared_setup(request, tmp_path_factory, TopologyDirect4) as s:
        yield s


# ---------------------------------------------------------------- (a) + (f)

@pytest.fixture(scope="class")
def through_relay(relayed_env):
    s = relayed_env
    t, procs = s.topo, s.procs
    caps, client = start_relayed(s)
    srv = start_lessor_relayed(procs, t, s.artifacts / "lessor")
    ev = client.acquire(procs)
    addr = ev["new_ip_address"]
    client_addrs = t.client.addrs(t.client_if)
    b = srv.wait_state(addr, "active")
    pcaps = capture.stop_captures(caps)
    return SimpleNamespace(topo=t, ev=ev, addr=addr, client_addrs=client_addrs, binding=b,
                           mac=mac_of(t.client, t.client_if), pcaps=pcaps,
                           server_link=dhcp_messages(pcaps["server"]),
                           client_link=dhcp_messages(pcaps["client"]))


class TestLeaseThroughRelay:
    def test_client_is_bound_with_a_pool_address_mask_and_router(self, through_relay):
        r = through_relay
        assert r.ev["reason"] == "BOUND"
        lo, hi = (ipaddress.ip_address(a) for a in addressing.POOL_V4)
        assert lo <= ipaddress.ip_address(r.addr) <= hi, r.addr
        assert r.ev["new_dhcp_server_identifier"] == SERVER
        assert r.ev["new_subnet_mask"] == "255.255.255.0"
        assert r.ev["new_routers"] == GIADDR
        assert f"{r.addr}/24" in r.client_addrs

    def test_store_has_the_client_and_the_relays_circuit_id(self, through_relay):
        r, b = through_relay, through_relay.binding
        assert b["mac"] == r.mac, b
        assert b["subnet"] == str(addressing.CLIENT_NET)
        # ISC dhcrelay 4.4 -a: circuit-id = the downstream interface name
        assert bytes.fromhex(b["circuit_id"]) == r.topo.relay_down_if.encode(), b
        assert b.get("circuit_id_text") == r.topo.relay_down_if, b
        assert b["relay_agent_information"], b

    def test_store_keeps_the_relayed_option82_byte_for_byte(self, through_relay):
        b = through_relay.binding
        reqs = [m for m in through_relay.server_link if m["type"] == "REQUEST" and m["giaddr"] == GIADDR]
        assert reqs, "no relayed DHCPREQUEST captured on the server link"
        assert reqs[-1]["options"][82].hex() == b["relay_agent_information"], (reqs[-1], b)

    def test_replies_go_to_giaddr_and_echo_option82(self, through_relay):
        # RFC 3046 2.2: the server echoes option 82 unchanged in its replies to the relay
        server_link = through_relay.server_link
        relayed_in = [m for m in server_link if m["giaddr"] == GIADDR and m["src"] == addressing.RELAY_UP_V4]
        replies = [m for m in server_link if m["src"] == SERVER]
        assert {m["type"] for m in replies} >= {"OFFER", "ACK"}, replies
        for r in replies:
            assert r["dst"] == GIADDR, r          # to giaddr
            assert 82 in r["options"], f"server reply without option 82: {r}"
            assert r["options"][82] == relayed_in[-1]["options"][82], r
        # tshark sees the echo too, decoded
        assert capture.count(through_relay.pcaps["server"], f"ip.src == {SERVER} && "
                             "dhcp.option.agent_information_option.agent_circuit_id") == len(replies)

    def test_relay_strips_option82_toward_the_client(self, through_relay):
        pcap = through_relay.pcaps["client"]
        assert capture.count(pcap, "dhcp.option.dhcp == 5") >= 1
        assert capture.count(pcap, "dhcp.option.type == 82") == 0

    def test_no_client_identifier_sent_none_returned(self, through_relay):
        # RFC 6842 returns option 61 only to a client that sent one; this dhclient sends none
        for link in ("server_link", "client_link"):
            msgs = getattr(through_relay, link)
            requests = [m for m in msgs if m["type"] in REQUESTS]
            replies = [m for m in msgs if m["type"] in ("OFFER", "ACK")]
            assert requests and {m["type"] for m in replies} == {"OFFER", "ACK"}, (link, msgs)
            assert not [m for m in requests if 61 in m["options"]], (link, requests)
            assert not [m for m in replies if 61 in m["options"]], (link, replies)

    def test_captures_decode_cleanly(self, through_relay):
        assert_decodes_cleanly(through_relay.pcaps, min_frames=4)


# ---------------------------------------------------------------- (b) + (c)

@pytest.fixture(scope="class")
def renew_release(relayed_env):
    s = relayed_env
    t, procs = s.topo, s.procs
    caps, client = start_relayed(s)
    srv = start_lessor_relayed(procs, t, s.artifacts / "lessor", lease_time="10s")
    ev = client.acquire(procs)
    addr = ev["new_ip_address"]
    b1 = srv.wait_state(addr, "active")
    # T1 = 5s: dhclient unicasts a DHCPREQUEST to the server identifier
    ren = client.wait_event(("RENEW",), after=len(client.events()), timeout=15)
    b2 = srv.wait_binding(addr, lambda b: b["cltt"] > b1["cltt"], what="renewed cltt")
    # release: dhclient -r sends DHCPRELEASE
    client.release(procs)
    b3 = srv.wait_state(addr, "released")
    client_addrs = t.client.addrs(t.client_if)
    pcaps = capture.stop_captures(caps)
    return SimpleNamespace(ev=ev, addr=addr, b1=b1, ren=ren, b2=b2, b3=b3, client_addrs=client_addrs,
                           pcaps=pcaps, msgs=dhcp_messages(pcaps["server"]))


class TestRenewThenRelease:
    def test_lease_time_is_the_configured_one(self, renew_release):
        assert renew_release.ev["new_dhcp_lease_time"] == "10"

    def test_renewal_keeps_the_address_and_extends_the_lease(self, renew_release):
        r, b1, b2 = renew_release, renew_release.b1, renew_release.b2
        assert r.ren["new_ip_address"] == r.addr
        assert b2["state"] == "active"
        assert b2["end"] > b1["end"] and b2["end"] - b2["cltt"] == 10, (b1, b2)
        assert b2["mac"] == b1["mac"]

    def test_renewal_keeps_the_relays_option82(self, renew_release):
        # the direct (unicast, no option 82) renewal keeps the relay's option 82
        b1, b2 = renew_release.b1, renew_release.b2
        assert b2["relay_agent_information"] == b1["relay_agent_information"], (b1, b2)

    def test_release_marks_the_binding_released(self, renew_release):
        assert renew_release.b3["mac"] == renew_release.b1["mac"]
        assert renew_release.client_addrs == []

    def test_renewal_is_unicast_and_acked_to_ciaddr(self, renew_release):
        msgs, addr = renew_release.msgs, renew_release.addr
        renews = [m for m in msgs if m["type"] == "REQUEST" and m["src"] == addr]
        assert renews and all(m["giaddr"] == "0.0.0.0" for m in renews), renews
        # the renewal ACK goes straight back to the client (ciaddr), no relay
        acks_to_client = [m for m in msgs if m["type"] == "ACK" and m["src"] == SERVER and m["dst"] == addr]
        assert acks_to_client, msgs

    def test_release_is_sent_by_the_client(self, renew_release):
        msgs, addr = renew_release.msgs, renew_release.addr
        assert [m for m in msgs if m["type"] == "RELEASE" and m["src"] == addr], msgs

    def test_captures_decode_cleanly(self, renew_release):
        assert_decodes_cleanly(renew_release.pcaps, min_frames=4)


# ---------------------------------------------------------------- (d)

@pytest.fixture(scope="class")
def restart(relayed_env):
    s = relayed_env
    t, procs = s.topo, s.procs
    caps, client = start_relayed(s)
    srv = start_lessor_relayed(procs, t, s.artifacts / "lessor")
    addr = client.acquire(procs)["new_ip_address"]
    b1 = srv.wait_state(addr, "active")
    client.stop()  # no release: the client keeps its lease file and will INIT-REBOOT

    # clean stop: exit 0, the store is flushed and closed
    term_rc = srv.stop(signal.SIGTERM)
    term_out = srv.output()
    after_term = srv.show(addr)
    srv.start()
    srv.proc.wait_output("1 binding(s) loaded", timeout=5)
    after_restart = srv.show(addr)
    reboot_ev = client.acquire(procs)
    b2 = srv.wait_binding(addr, lambda b: b["cltt"] >= b1["cltt"] and b["state"] == "active")

    # kill -9: an ACKed binding was durable before the ACK left, so it survives too
    client.stop()
    srv.kill()
    srv.start()
    srv.proc.wait_output("1 binding(s) loaded", timeout=5)
    b3 = srv.show(addr)
    after_kill_ev = client.acquire(procs)
    pcaps = capture.stop_captures(caps)
    return SimpleNamespace(addr=addr, b1=b1, term_rc=term_rc, term_out=term_out, after_term=after_term,
                           after_restart=after_restart, reboot_ev=reboot_ev, b2=b2, b3=b3,
                           after_kill_ev=after_kill_ev, pcaps=pcaps, msgs=dhcp_messages(pcaps["server"]))


class TestRestartKeepsBinding:
    def test_sigterm_exits_0_and_says_stopped(self, restart):
        assert restart.term_rc == 0, restart.term_out[-3000:]
        assert "stopped" in restart.term_out

    def test_store_unchanged_by_a_clean_stop(self, restart):
        assert restart.after_term == restart.b1

    def test_restart_loads_the_binding(self, restart):
        assert restart.after_restart["state"] == "active"

    def test_init_reboot_is_acked_for_the_same_address(self, restart):
        ev, b1, b2 = restart.reboot_ev, restart.b1, restart.b2
        assert ev["reason"] == "REBOOT" and ev["new_ip_address"] == restart.addr, ev
        assert b2["mac"] == b1["mac"] and b2["circuit_id"] == b1["circuit_id"]

    def test_kill_9_keeps_the_acked_binding(self, restart):
        b2, b3 = restart.b2, restart.b3
        assert b3 is not None and b3["state"] == "active" and b3["cltt"] == b2["cltt"], (b2, b3)
        assert restart.after_kill_ev["new_ip_address"] == restart.addr, restart.after_kill_ev

    def test_init_reboot_requests_acked_never_naked(self, restart):
        msgs = restart.msgs
        # INIT-REBOOT: a broadcast REQUEST (relayed) with option 50 and no server identifier
        reboot_reqs = [m for m in msgs if m["type"] == "REQUEST" and m["giaddr"] == GIADDR
                       and 54 not in m["options"]]
        assert len(reboot_reqs) >= 2, msgs
        assert all(m["options"][50] == ipaddress.ip_address(restart.addr).packed for m in reboot_reqs)
        acks = [m for m in msgs if m["type"] == "ACK" and m["src"] == SERVER]
        assert len(acks) >= 3 and not [m for m in msgs if m["type"] == "NAK"], msgs

    def test_captures_decode_cleanly(self, restart):
        assert_decodes_cleanly(restart.pcaps, min_frames=6)


# ---------------------------------------------------------------- (e)

@pytest.fixture(scope="class")
def direct(direct_env):
    s = direct_env
    t, procs, artifacts = s.topo, s.procs, s.artifacts
    cap = capture.start_capture(procs, t.server, t.server_if, artifacts / "direct-link.pcap",
                                name="tshark-direct")
    srv = start_lessor(procs, t.server, artifacts / "lessor", identifier=t.server_addr,
                       listen=[t.server_addr], interfaces=[t.server_if],
                       subnets=[Subnet4(t.net, t.pool, routers=t.server_addr)])
    mac = mac_of(t.client, t.client_if)

    # 1. no broadcast flag: replies are unicast to yiaddr at the client's MAC
    c1 = make_dhclient(t.client, t.client_if, artifacts / "dhclient1", name="dhclient1")
    ev = c1.acquire(procs)
    addr = ev["new_ip_address"]
    client_addrs = t.client.addrs(t.client_if)
    b = srv.wait_state(addr, "active")
    c1.release(procs)
    srv.wait_state(addr, "released")

    # 2. a client that sets the broadcast flag (ISC dhclient 4.4 on Linux never
    #    does, so Scapy plays it): OFFER and ACK are broadcast on the link
    other_mac = "02:00:00:00:0b:01"
    r = scapy_dora(t.client, t.client_if, chaddr=other_mac, broadcast=True, log=artifacts / "scapy.log")
    b2 = srv.wait_state(r["ack"]["yiaddr"], "active") if r["ack"] else None

    pcaps = capture.stop_captures({"direct": cap})
    stop_rc = srv.stop()
    return SimpleNamespace(topo=t, mac=mac, ev=ev, addr=addr, client_addrs=client_addrs, b=b,
                           other_mac=other_mac, scapy=r, b2=b2, pcaps=pcaps,
                           msgs=dhcp_messages(pcaps["direct"]), stop_rc=stop_rc)


class TestDirectClientOnServerLink:
    def test_dhclient_gets_a_pool_address(self, direct):
        t, ev = direct.topo, direct.ev
        lo, hi = (ipaddress.ip_address(a) for a in t.pool)
        assert lo <= ipaddress.ip_address(direct.addr) <= hi
        assert ev["new_dhcp_server_identifier"] == t.server_addr
        assert f"{direct.addr}/24" in direct.client_addrs
        assert direct.b["mac"] == direct.mac and direct.b["relay_agent_information"] is None, direct.b

    def test_broadcast_flag_gets_broadcast_offer_and_ack(self, direct):
        r, t = direct.scapy, direct.topo
        assert r["offer"] and r["offer"]["reply"] == "DHCPOFFER", r
        assert r["ack"] and r["ack"]["reply"] == "DHCPACK", r
        for rep in (r["offer"], r["ack"]):
            assert rep["ip_dst"] == "255.255.255.255" and rep["eth_dst"] == "ff:ff:ff:ff:ff:ff", r
            assert rep["ip_src"] == t.server_addr, r
        assert r["ack"]["yiaddr"] != direct.addr
        assert direct.b2["mac"] == direct.other_mac

    def test_replies_hardware_unicast_or_broadcast_without_option82(self, direct):
        t = direct.topo
        replies = [m for m in direct.msgs if m["src"] == t.server_addr and m["type"] in ("OFFER", "ACK")]
        hw = [m for m in replies if m["dst"] == direct.addr and m["eth_dst"] == direct.mac]
        bc = [m for m in replies if m["dst"] == "255.255.255.255" and m["eth_dst"] == "ff:ff:ff:ff:ff:ff"]
        assert {m["type"] for m in hw} == {"OFFER", "ACK"}, replies      # hardware-unicast path
        assert {m["type"] for m in bc} == {"OFFER", "ACK"}, replies      # broadcast path
        assert all(m["giaddr"] == "0.0.0.0" and 82 not in m["options"] for m in replies)

    def test_no_client_identifier_sent_none_returned(self, direct):
        # neither dhclient1 nor the Scapy client sends option 61 (RFC 6842: nothing to return)
        requests = [m for m in direct.msgs if m["type"] in REQUESTS]
        replies = [m for m in direct.msgs if m["type"] in ("OFFER", "ACK")]
        assert len({m["xid"] for m in requests}) >= 2 and len(replies) >= 4, direct.msgs
        assert not [m for m in requests if 61 in m["options"]], requests
        assert not [m for m in replies if 61 in m["options"]], replies

    def test_capture_decodes_cleanly(self, direct):
        assert_decodes_cleanly(direct.pcaps, min_frames=8)

    def test_server_stops_cleanly(self, direct):
        assert direct.stop_rc == 0


# ---------------------------------------------------------------- (g) option 61, RFC 6842

def wrong_network_lease(leasefile) -> None:
    """Point every lease in dhclient's lease file at WRONG_NETWORK, so its next start asks for
    that address in INIT-REBOOT."""
    text = leasefile.read_text()
    new = re.sub(r"fixed-address [0-9.]+;", f"fixed-address {WRONG_NETWORK};", text)
    assert new != text, text
    leasefile.write_text(new)


@pytest.fixture(scope="class")
def client_id(relayed_env):
    """dhclient sends a client identifier: OFFER and ACK through the relay, a renewal ACKed to
    ciaddr, then an INIT-REBOOT for an address of another network (NAK) and a new DORA."""
    s = relayed_env
    t, procs = s.topo, s.procs
    ident = ":".join(f"{x:02x}" for x in CLIENT_ID)
    caps, client = start_relayed(s, client_conf=f"send dhcp-client-identifier {ident};\n")
    srv = start_lessor_relayed(procs, t, s.artifacts / "lessor", lease_time="10s")
    ev = client.acquire(procs)
    addr = ev["new_ip_address"]
    b1 = srv.wait_state(addr, "active")
    # T1 = 5s: a unicast DHCPREQUEST, ACKed to ciaddr
    client.wait_event(("RENEW",), after=len(client.events()), timeout=15)
    srv.wait_binding(addr, lambda b: b["cltt"] > b1["cltt"], what="renewed cltt")
    # INIT-REBOOT for an address not on the client's network: NAK, then DISCOVER again
    client.stop()
    wrong_network_lease(client.leasefile)
    again = client.acquire(procs)
    pcaps = capture.stop_captures(caps)
    return SimpleNamespace(addr=addr, b1=b1, again=again, pcaps=pcaps,
                           server_link=dhcp_messages(pcaps["server"]),
                           client_link=dhcp_messages(pcaps["client"]))


class TestClientIdentifierReturned:
    def test_client_sends_its_identifier(self, client_id):
        # every DISCOVER / REQUEST, direct or relayed, carries it (what the replies are held to)
        for link in ("server_link", "client_link"):
            requests = [m for m in getattr(client_id, link) if m["type"] in REQUESTS]
            assert requests, link
            assert all(m["options"].get(61) == CLIENT_ID for m in requests), (link, requests)

    def test_every_offer_ack_and_nak_returns_the_requests_identifier(self, client_id):
        # RFC 6842 §3: the client identifier the request carried, unaltered, in every reply
        msgs = client_id.server_link
        replies = [m for m in msgs if m["src"] == SERVER and m["type"] in ("OFFER", "ACK", "NAK")]
        assert {m["type"] for m in replies} == {"OFFER", "ACK", "NAK"}, msgs
        # the renewal's ACK went to ciaddr, not through the relay
        assert [m for m in replies if m["type"] == "ACK" and m["dst"] == client_id.addr], replies
        for r in replies:
            sent = {m["options"].get(61) for m in msgs if m["type"] in REQUESTS and m["xid"] == r["xid"]}
            assert sent == {CLIENT_ID}, (r, sent)
            assert r["options"].get(61) == CLIENT_ID, r

    def test_the_client_receives_it(self, client_id):
        # dhcrelay passes it on (it strips only option 82)
        replies = [m for m in client_id.client_link if m["type"] in ("OFFER", "ACK", "NAK")]
        assert {m["type"] for m in replies} == {"OFFER", "ACK", "NAK"}, client_id.client_link
        assert all(m["options"].get(61) == CLIENT_ID for m in replies), replies

    def test_nak_for_another_network_then_a_new_lease(self, client_id):
        msgs = client_id.server_link
        naks = [m for m in msgs if m["type"] == "NAK"]
        assert naks, msgs
        for nak in naks:
            # what it answers: a REQUEST without server identifier asking for WRONG_NETWORK
            asked = [m for m in msgs if m["type"] == "REQUEST" and m["xid"] == nak["xid"]]
            assert asked and all(m["options"].get(50) == ipaddress.ip_address(WRONG_NETWORK).packed
                                 and 54 not in m["options"] for m in asked), (nak, asked)
        assert client_id.again["reason"] == "BOUND", client_id.again

    def test_store_keeps_the_client_identifier(self, client_id):
        assert client_id.b1["client_id"] == CLIENT_ID.hex(), client_id.b1

    def test_captures_decode_cleanly(self, client_id):
        assert_decodes_cleanly(client_id.pcaps, min_frames=8)
