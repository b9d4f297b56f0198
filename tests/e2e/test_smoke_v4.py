"""Smoke tests proving the harness with ISC dhcpd 4.4 as the server:
dhclient -> dhcrelay -a (option 82) -> dhcpd, renew, release, Scapy
leasequery, tshark decoding."""
from __future__ import annotations

import re
import time

import pytest

from harness import addressing, capture
from harness.isc import make_dhclient, start_dhcpd, start_dhcrelay
from harness.scapy_runner import scapy_leasequery

SERVER_CAPTURE = "udp port 67 or udp port 68"


@pytest.fixture
def stack(topo4, procs, artifacts):
    """Topology + captures on both links + dhcpd + dhcrelay -a, ready for a client."""
    t = topo4
    caps = {
        "client": capture.start_capture(procs, t.relay, t.relay_down_if, artifacts / "client-link.pcap",
                                        name="tshark-client"),
        "server": capture.start_capture(procs, t.relay, t.relay_up_if, artifacts / "server-link.pcap",
                                        name="tshark-server"),
    }
    # Short leases so renewal (T1 = lease/2) happens within seconds.
    dhcpd = start_dhcpd(procs, t.server, t.server_if, artifacts / "dhcpd", lease_time=6, max_lease_time=6)
    relay = start_dhcrelay(procs, t.relay, [t.relay_down_if], [t.relay_up_if], [addressing.SERVER_V4],
                           artifacts / "dhcrelay")
    client = make_dhclient(t.client, t.client_if, artifacts / "dhclient")
    return {"topo": t, "caps": caps, "dhcpd": dhcpd, "relay": relay, "client": client}


def _stop_captures(stack):
    return capture.stop_captures(stack["caps"])


def test_lease_through_relay_with_option82(stack, procs):
    t, dhcpd, client = stack["topo"], stack["dhcpd"], stack["client"]
    ev = client.acquire(procs)
    addr = ev["new_ip_address"]
    assert ev["reason"] == "BOUND"
    assert addressing.CLIENT_NET.overlaps(addressing.ipaddress.ip_network(addr + "/32"))
    assert ev["new_dhcp_server_identifier"] == addressing.SERVER_V4
    assert f"{addr}/24" in t.client.addrs(t.client_if)

    block = dhcpd.wait_binding_state(addr, "active")
    # dhcpd records the relay agent's option 82 with the lease ...
    assert re.search(r'option agent\.circuit-id "r0";', block), block
    assert re.search(r'set lsr-circuit-id = "r0";', block), block
    # ... and logs it at commit (our on-commit hook).
    dhcpd.proc.wait_output(f"LSR-COMMIT {addr} circuit-id=r0", timeout=5)

    pcaps = _stop_captures(stack)
    # On the server link the relayed DISCOVER/REQUEST carry option 82 with circuit-id "r0"
    rows = capture.fields(pcaps["server"], ["dhcp.option.dhcp", "dhcp.option.agent_information_option.agent_circuit_id",
                                            "dhcp.ip.relay"], "dhcp.option.dhcp == 3")
    assert rows, "no relayed DHCPREQUEST captured on the server link"
    for _mt, circuit, giaddr in rows:
        assert bytes.fromhex(circuit.replace(":", "")) == b"r0", rows
        assert giaddr == addressing.RELAY_DOWN_V4
    # On the client link option 82 is stripped from replies.
    assert capture.count(pcaps["client"], "dhcp.option.dhcp == 5") >= 1
    assert capture.count(pcaps["client"], "dhcp.option.type == 82") == 0


def test_renew_reboot_and_release(stack, procs):
    t, dhcpd, client = stack["topo"], stack["dhcpd"], stack["client"]
    ev = client.acquire(procs)
    addr = ev["new_ip_address"]
    # Renewal: lease 6s -> T1 ~3s; dhclient unicasts DHCPREQUEST to the server via the relay's routing.
    n = len(client.events())
    ren = client.wait_event(("RENEW",), after=n, timeout=15)
    assert ren["new_ip_address"] == addr
    # Reboot: kill dhclient without release, run it again: INIT-REBOOT, same address.
    client.stop()
    ev2 = client.acquire(procs)
    assert ev2["new_ip_address"] == addr
    # Release: dhclient -r sends DHCPRELEASE; dhcpd frees the lease.
    rel = client.release(procs)
    assert rel["reason"] == "RELEASE"
    dhcpd.wait_binding_state(addr, "free", timeout=10)
    assert t.client.addrs(t.client_if) == []

    pcaps = _stop_captures(stack)
    # RENEW is unicast client -> server, so it shows on the server link without giaddr.
    renew_rows = capture.fields(pcaps["server"], ["ip.src", "dhcp.ip.relay"],
                                f"dhcp.option.dhcp == 3 && ip.src == {addr}")
    assert renew_rows and all(r[1] == "0.0.0.0" for r in renew_rows), renew_rows
    # The unicast DHCPRELEASE is routed through the relay ns to the server. (ISC
    # dhcrelay also hears unicast client->server packets on its downstream
    # interface and relays a copy with giaddr set: real-world behaviour.)
    assert capture.count(pcaps["server"], f"dhcp.option.dhcp == 7 && ip.src == {addr}") == 1


def test_scapy_leasequery_by_ip(stack, procs, artifacts):
    t, dhcpd, client = stack["topo"], stack["dhcpd"], stack["client"]
    ev = client.acquire(procs)
    addr = ev["new_ip_address"]
    dhcpd.wait_binding_state(addr, "active")
    # by IP, from the relay namespace (giaddr = relay's server-side address)
    r = scapy_leasequery(t.relay, t.relay_up_if, addressing.SERVER_V4, addressing.RELAY_UP_V4,
                         ciaddr=addr, log=artifacts / "scapy.log")
    assert r["reply"] == "DHCPLEASEACTIVE", r
    assert r["ciaddr"] == addr
    mac = t.client.ip("link", "show", t.client_if).stdout.split("link/ether ")[1].split()[0]
    assert r["chaddr"] == mac
    # an address with no lease in a known subnet -> DHCPLEASEUNASSIGNED
    r2 = scapy_leasequery(t.relay, t.relay_up_if, addressing.SERVER_V4, addressing.RELAY_UP_V4,
                          ciaddr=addressing.POOL_V4[1] if addr != addressing.POOL_V4[1] else addressing.POOL_V4[0],
                          log=artifacts / "scapy.log")
    assert r2["reply"] in ("DHCPLEASEUNASSIGNED", "DHCPLEASEUNKNOWN"), r2
    pcaps = _stop_captures(stack)
    assert capture.count(pcaps["server"], "dhcp.option.dhcp == 10") == 2
    assert capture.count(pcaps["server"], "dhcp.option.dhcp == 13") == 1


def test_tshark_decodes_exchange_cleanly(stack, procs):
    t, client = stack["topo"], stack["client"]
    client.acquire(procs)
    client.release(procs)
    pcaps = _stop_captures(stack)
    for link, pcap in pcaps.items():
        rep = capture.check_decode(pcap)
        assert rep.frames >= 3, f"{link}: {rep}"
        assert rep.ok, f"{link}: {rep}"
    # the full DORA is there on both links
    for link in ("client", "server"):
        types = {r[0] for r in capture.fields(pcaps[link], ["dhcp.option.dhcp"], "dhcp")}
        assert {"1", "2", "3", "5"} <= types, (link, types)
