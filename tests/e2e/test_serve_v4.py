"""`lessor serve` end to end: ISC dhclient -> ISC dhcrelay -a (option 82) ->
lessor serve; renewal, release, restart with the same store, a directly
attached client, and tshark's view of every packet."""
from __future__ import annotations

import ipaddress
import signal

import pytest

from harness import addressing, capture
from harness.isc import make_dhclient, start_dhcrelay
from harness.lessor import Subnet4, start_lessor, start_lessor_relayed
from harness.scapy_runner import scapy_dora

DHCP_MSG = {1: "DISCOVER", 2: "OFFER", 3: "REQUEST", 4: "DECLINE", 5: "ACK", 6: "NAK", 7: "RELEASE",
            8: "INFORM"}


# ---------------------------------------------------------------- helpers

def dhcp_messages(pcap, display_filter: str = "dhcp") -> list:
    """Every DHCP message in pcap: dict(type, src, dst, eth_dst, giaddr, options)."""
    out = []
    for pkt in capture.packets_raw(pcap, display_filter):
        layers = pkt["_source"]["layers"]
        opts = capture.dhcp_options(layers["dhcp_raw"][0])
        out.append({
            "type": DHCP_MSG.get(opts.get(53, b"\0")[0], "?"),
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


@pytest.fixture
def relayed(topo4, procs, artifacts):
    """Topology4 + captures on both relay links + dhcrelay -a; lessor started by the test."""
    t = topo4
    caps = {
        "client": capture.start_capture(procs, t.relay, t.relay_down_if, artifacts / "client-link.pcap",
                                        name="tshark-client"),
        "server": capture.start_capture(procs, t.relay, t.relay_up_if, artifacts / "server-link.pcap",
                                        name="tshark-server"),
    }
    relay = start_dhcrelay(procs, t.relay, [t.relay_down_if], [t.relay_up_if], [addressing.SERVER_V4],
                           artifacts / "dhcrelay")
    client = make_dhclient(t.client, t.client_if, artifacts / "dhclient")
    return {"topo": t, "caps": caps, "relay": relay, "client": client}


# ---------------------------------------------------------------- (a) + (f)

def test_lease_through_relay_option82_in_store(relayed, procs, artifacts):
    t, client = relayed["topo"], relayed["client"]
    srv = start_lessor_relayed(procs, t, artifacts / "lessor")
    ev = client.acquire(procs)
    addr = ev["new_ip_address"]
    assert ev["reason"] == "BOUND"
    lo, hi = (ipaddress.ip_address(a) for a in addressing.POOL_V4)
    assert lo <= ipaddress.ip_address(addr) <= hi, addr
    assert ev["new_dhcp_server_identifier"] == addressing.SERVER_V4
    assert ev["new_subnet_mask"] == "255.255.255.0"
    assert ev["new_routers"] == addressing.RELAY_DOWN_V4
    assert f"{addr}/24" in t.client.addrs(t.client_if)

    b = srv.wait_state(addr, "active")
    assert b["mac"] == mac_of(t.client, t.client_if), b
    assert b["subnet"] == str(addressing.CLIENT_NET)
    # ISC dhcrelay 4.4 -a: circuit-id = the downstream interface name
    assert bytes.fromhex(b["circuit_id"]) == t.relay_down_if.encode(), b
    assert b.get("circuit_id_text") == t.relay_down_if, b
    assert b["relay_agent_information"], b

    pcaps = capture.stop_captures(relayed["caps"])
    server_link = dhcp_messages(pcaps["server"])
    reqs = [m for m in server_link if m["type"] == "REQUEST" and m["giaddr"] == addressing.RELAY_DOWN_V4]
    assert reqs, "no relayed DHCPREQUEST captured on the server link"
    # the store keeps the relay's option 82 byte for byte
    assert reqs[-1]["options"][82].hex() == b["relay_agent_information"], (reqs[-1], b)
    # RFC 3046 2.2: the server echoes option 82 unchanged in its replies to the relay
    relayed_in = [m for m in server_link if m["giaddr"] == addressing.RELAY_DOWN_V4
                  and m["src"] == addressing.RELAY_UP_V4]
    replies = [m for m in server_link if m["src"] == addressing.SERVER_V4]
    assert {m["type"] for m in replies} >= {"OFFER", "ACK"}, replies
    for r in replies:
        assert r["dst"] == addressing.RELAY_DOWN_V4, r          # to giaddr
        assert 82 in r["options"], f"server reply without option 82: {r}"
        assert r["options"][82] == relayed_in[-1]["options"][82], r
    # tshark sees the echo too, decoded
    assert capture.count(pcaps["server"], f"ip.src == {addressing.SERVER_V4} && "
                         "dhcp.option.agent_information_option.agent_circuit_id") == len(replies)
    # dhcrelay strips it toward the client
    assert capture.count(pcaps["client"], "dhcp.option.dhcp == 5") >= 1
    assert capture.count(pcaps["client"], "dhcp.option.type == 82") == 0
    assert_decodes_cleanly(pcaps, min_frames=4)


# ---------------------------------------------------------------- (b) + (c)

def test_renew_then_release(relayed, procs, artifacts):
    t, client = relayed["topo"], relayed["client"]
    srv = start_lessor_relayed(procs, t, artifacts / "lessor", lease_time="10s")
    ev = client.acquire(procs)
    addr = ev["new_ip_address"]
    assert ev["new_dhcp_lease_time"] == "10"
    b1 = srv.wait_state(addr, "active")

    # T1 = 5s: dhclient unicasts a DHCPREQUEST to the server identifier
    ren = client.wait_event(("RENEW",), after=len(client.events()), timeout=15)
    assert ren["new_ip_address"] == addr
    b2 = srv.wait_binding(addr, lambda b: b["cltt"] > b1["cltt"], what="renewed cltt")
    assert b2["state"] == "active"
    assert b2["end"] > b1["end"] and b2["end"] - b2["cltt"] == 10, (b1, b2)
    assert b2["mac"] == b1["mac"]
    # the direct (unicast, no option 82) renewal keeps the relay's option 82
    assert b2["relay_agent_information"] == b1["relay_agent_information"], (b1, b2)

    # release: dhclient -r sends DHCPRELEASE
    client.release(procs)
    b3 = srv.wait_state(addr, "released")
    assert b3["mac"] == b1["mac"]
    assert t.client.addrs(t.client_if) == []

    pcaps = capture.stop_captures(relayed["caps"])
    msgs = dhcp_messages(pcaps["server"])
    renews = [m for m in msgs if m["type"] == "REQUEST" and m["src"] == addr]
    assert renews and all(m["giaddr"] == "0.0.0.0" for m in renews), renews
    # the renewal ACK goes straight back to the client (ciaddr), no relay
    acks_to_client = [m for m in msgs if m["type"] == "ACK" and m["src"] == addressing.SERVER_V4
                      and m["dst"] == addr]
    assert acks_to_client, msgs
    assert [m for m in msgs if m["type"] == "RELEASE" and m["src"] == addr]
    assert_decodes_cleanly(pcaps, min_frames=4)


# ---------------------------------------------------------------- (d)

def test_restart_keeps_binding(relayed, procs, artifacts):
    t, client = relayed["topo"], relayed["client"]
    srv = start_lessor_relayed(procs, t, artifacts / "lessor")
    addr = client.acquire(procs)["new_ip_address"]
    b1 = srv.wait_state(addr, "active")
    client.stop()  # no release: the client keeps its lease file and will INIT-REBOOT

    # clean stop: exit 0, the store is flushed and closed
    assert srv.stop(signal.SIGTERM) == 0, srv.output()[-3000:]
    assert "stopped" in srv.output()
    assert srv.show(addr) == b1

    srv.start()
    srv.proc.wait_output("1 binding(s) loaded", timeout=5)
    assert srv.show(addr)["state"] == "active"
    ev = client.acquire(procs)
    assert ev["reason"] == "REBOOT" and ev["new_ip_address"] == addr, ev
    b2 = srv.wait_binding(addr, lambda b: b["cltt"] >= b1["cltt"] and b["state"] == "active")
    assert b2["mac"] == b1["mac"] and b2["circuit_id"] == b1["circuit_id"]

    # kill -9: an ACKed binding was durable before the ACK left, so it survives too
    client.stop()
    srv.kill()
    srv.start()
    srv.proc.wait_output("1 binding(s) loaded", timeout=5)
    b3 = srv.show(addr)
    assert b3 is not None and b3["state"] == "active" and b3["cltt"] == b2["cltt"], (b2, b3)
    ev = client.acquire(procs)
    assert ev["new_ip_address"] == addr, ev

    pcaps = capture.stop_captures(relayed["caps"])
    msgs = dhcp_messages(pcaps["server"])
    # INIT-REBOOT: a broadcast REQUEST (relayed) with option 50 and no server identifier
    reboot_reqs = [m for m in msgs if m["type"] == "REQUEST" and m["giaddr"] == addressing.RELAY_DOWN_V4
                   and 54 not in m["options"]]
    assert len(reboot_reqs) >= 2, msgs
    assert all(m["options"][50] == ipaddress.ip_address(addr).packed for m in reboot_reqs)
    acks = [m for m in msgs if m["type"] == "ACK" and m["src"] == addressing.SERVER_V4]
    assert len(acks) >= 3 and not [m for m in msgs if m["type"] == "NAK"], msgs
    assert_decodes_cleanly(pcaps, min_frames=6)


# ---------------------------------------------------------------- (e)

def test_direct_client_on_server_link(topo_direct, procs, artifacts):
    t = topo_direct
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
    lo, hi = (ipaddress.ip_address(a) for a in t.pool)
    assert lo <= ipaddress.ip_address(addr) <= hi
    assert ev["new_dhcp_server_identifier"] == t.server_addr
    assert f"{addr}/24" in t.client.addrs(t.client_if)
    b = srv.wait_state(addr, "active")
    assert b["mac"] == mac and b["relay_agent_information"] is None, b
    c1.release(procs)
    srv.wait_state(addr, "released")

    # 2. a client that sets the broadcast flag (ISC dhclient 4.4 on Linux never
    #    does, so Scapy plays it): OFFER and ACK are broadcast on the link
    other_mac = "02:00:00:00:0b:01"
    r = scapy_dora(t.client, t.client_if, chaddr=other_mac, broadcast=True, log=artifacts / "scapy.log")
    assert r["offer"] and r["offer"]["reply"] == "DHCPOFFER", r
    assert r["ack"] and r["ack"]["reply"] == "DHCPACK", r
    for rep in (r["offer"], r["ack"]):
        assert rep["ip_dst"] == "255.255.255.255" and rep["eth_dst"] == "ff:ff:ff:ff:ff:ff", r
        assert rep["ip_src"] == t.server_addr, r
    addr2 = r["ack"]["yiaddr"]
    assert addr2 != addr
    assert srv.wait_state(addr2, "active")["mac"] == other_mac

    pcaps = capture.stop_captures({"direct": cap})
    msgs = dhcp_messages(pcaps["direct"])
    replies = [m for m in msgs if m["src"] == t.server_addr and m["type"] in ("OFFER", "ACK")]
    hw = [m for m in replies if m["dst"] == addr and m["eth_dst"] == mac]
    bc = [m for m in replies if m["dst"] == "255.255.255.255" and m["eth_dst"] == "ff:ff:ff:ff:ff:ff"]
    assert {m["type"] for m in hw} == {"OFFER", "ACK"}, replies      # hardware-unicast path
    assert {m["type"] for m in bc} == {"OFFER", "ACK"}, replies      # broadcast path
    assert all(m["giaddr"] == "0.0.0.0" and 82 not in m["options"] for m in replies)
    assert_decodes_cleanly(pcaps, min_frames=8)
    assert srv.stop() == 0
