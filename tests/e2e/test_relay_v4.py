"""`lessor relay` end to end: ISC dhclient -> `lessor relay` (relay namespace: downstream r0,
upstream r1) -> `lessor serve` (and, as the reference, ISC dhcpd 4.4.3).

The client gets a lease through the relay; `lessor relay --show --json` lists it with the
interface, circuit-id and remote-id it was gleaned with; the server's stored binding carries the
relay's option 82 with its relay-id; tshark decodes the relayed DHCPDISCOVER / DHCPREQUEST
without warnings, and the client link never sees option 82.

A relay agent sees only what is addressed to it: a bound client's DHCPRELEASE goes by unicast to
the server identifier, which is routed past the relay's sockets. So both servers here name the
relay's giaddr as their server identifier (what RFC 5107's server-identifier override does per
message): the client's RELEASE reaches the relay, which relays it and forgets the binding, and
the server releases it."""
from __future__ import annotations

import ipaddress
import socket
from types import SimpleNamespace

import pytest

from harness import addressing, capture
from harness.isc import make_dhclient, start_dhcpd
from harness.lessor import Subnet4, start_lessor
from harness.netns import Topology4
from harness.relay import start_relay
from harness.shared import shared_setup

SERVER = addressing.SERVER_V4
# These servers have no bulk listener and answer no leasequery: the relay gleans only
# (recovery: test_relay_recovery_v4.py).
NO_RECOVERY = {"at-start": False, "on-demand": False}
GIADDR = addressing.RELAY_DOWN_V4


def mac_of(ns, ifname: str) -> str:
    return ns.ip("link", "show", ifname).stdout.split("link/ether ")[1].split()[0]


def sub_options(value: bytes) -> dict:
    out, i = {}, 0
    while i + 1 < len(value):
        out[value[i]] = value[i + 2:i + 2 + value[i + 1]]
        i += 2 + value[i + 1]
    return out


def relayed(pcap) -> list:
    """(message type, giaddr, hops, option 82 sub-options) of every relayed request in pcap."""
    out = []
    for pkt in capture.packets_raw(pcap, "dhcp.type == 1"):
        layers = pkt["_source"]["layers"]
        opts = capture.dhcp_options(layers["dhcp_raw"][0])
        out.append((opts[53][0], layers["dhcp"]["dhcp.ip.relay"], int(layers["dhcp"]["dhcp.hops"]),
                    sub_options(opts.get(82, b""))))
    return out


def start_captures(s):
    t = s.topo
    return {
        "client": capture.start_capture(s.procs, t.relay, t.relay_down_if, s.artifacts / "client-link.pcap",
                                        name="tshark-client"),
        "server": capture.start_capture(s.procs, t.relay, t.relay_up_if, s.artifacts / "server-link.pcap",
                                        name="tshark-server"),
    }


@pytest.fixture(scope="class")
def with_lessor(request, tmp_path_factory):
    with shared_setup(request, tmp_path_factory, Topology4) as s:
        t, procs = s.topo, s.procs
        caps = start_captures(s)
        srv = start_lessor(procs, t.server, s.artifacts / "lessor", identifier=GIADDR, listen=[SERVER],
                           relays=[str(addressing.CLIENT_NET)],
                           subnets=[Subnet4(str(addressing.CLIENT_NET), addressing.POOL_V4,
                                            routers=GIADDR)])
        relay = start_relay(procs, t, s.artifacts / "relay", servers4=[SERVER],
                            recovery=NO_RECOVERY)
        client = make_dhclient(t.client, t.client_if, s.artifacts / "dhclient")
        ev = client.acquire(procs)
        addr = ev["new_ip_address"]
        binding = srv.wait_state(addr, "active")
        shown = relay.show()
        verify_bound = relay.verify(t.relay_down_if, addr, mac_of(t.client, t.client_if))
        verify_other = relay.verify(t.relay_up_if, addr)
        client.release(procs)
        released = srv.wait_state(addr, "released")
        after_release = relay.show()
        verify_released = relay.verify(t.relay_down_if, addr)
        pcaps = capture.stop_captures(caps)
        rc = relay.stop()
        yield SimpleNamespace(topo=t, addr=addr, mac=mac_of(t.client, t.client_if), binding=binding,
                              released=released, shown=shown, after_release=after_release,
                              relay_id=relay.relay_id(), pcaps=pcaps, rc=rc,
                              relay_log=relay.proc.output(), verify_bound=verify_bound,
                              verify_other=verify_other, verify_released=verify_released)


class TestRelayToLessor:
    def test_the_client_is_bound_through_the_relay(self, with_lessor):
        lo, hi = (ipaddress.ip_address(a) for a in addressing.POOL_V4)
        assert lo <= ipaddress.ip_address(with_lessor.addr) <= hi, with_lessor.addr
        assert with_lessor.binding["state"] == "active"
        assert with_lessor.binding["mac"] == with_lessor.mac

    def test_show_lists_the_gleaned_lease_with_circuit_and_remote_id(self, with_lessor):
        r = with_lessor
        entries = [e for e in r.shown["entries"] if e["bound"] == r.addr]
        assert len(entries) == 1, r.shown
        e = entries[0]
        assert e["interface"] == r.topo.relay_down_if
        assert e["circuit_id"] == r.topo.relay_down_if
        assert e["remote_id"] == f"{socket.gethostname()}:{r.topo.relay_down_if}"
        assert e["hardware"] == r.mac
        assert e["origin"] == "gleaned"
        assert e["expires"] > r.shown["now"]
        assert r.shown["counters"]["dhcp4"]["gleaned"] >= 1

    def test_the_servers_binding_carries_the_relays_option_82_and_relay_id(self, with_lessor):
        b = with_lessor.binding
        assert bytes.fromhex(b["relay_id"]) == with_lessor.relay_id, b
        assert bytes.fromhex(b["circuit_id"]) == with_lessor.topo.relay_down_if.encode(), b
        subs = sub_options(bytes.fromhex(b["relay_agent_information"]))
        assert subs[12] == with_lessor.relay_id

    def test_requests_are_relayed_with_giaddr_hops_and_option_82(self, with_lessor):
        msgs = relayed(with_lessor.pcaps["server"])
        kinds = {m[0] for m in msgs}
        assert {1, 3, 7} <= kinds, msgs          # DISCOVER, REQUEST, and the RELEASE
        for kind, giaddr, hops, subs in msgs:
            assert (giaddr, hops) == (GIADDR, 1)
            assert subs[1] == with_lessor.topo.relay_down_if.encode()
            assert subs[12] == with_lessor.relay_id

    def test_the_client_link_never_sees_option_82(self, with_lessor):
        pcap = with_lessor.pcaps["client"]
        assert capture.count(pcap, "dhcp.option.dhcp == 5") >= 1
        assert capture.count(pcap, "dhcp.option.type == 82") == 0

    def test_captures_decode_cleanly(self, with_lessor):
        for link, pcap in with_lessor.pcaps.items():
            rep = capture.check_decode(pcap)
            assert rep.frames >= 4, f"{link}: {rep}"
            assert rep.ok, f"{link}: {rep}"

    def test_source_verification(self, with_lessor):
        r = with_lessor
        assert r.verify_bound == (0, "yes: bound to this client behind this interface")
        assert r.verify_other == (1, "no: bound to a client behind another interface")
        assert r.verify_released == (1, "no: nothing is known of this address")

    def test_release_removes_the_entry(self, with_lessor):
        assert with_lessor.released["state"] == "released"
        assert not [e for e in with_lessor.after_release["entries"] if e["bound"] == with_lessor.addr]
        assert with_lessor.after_release["counters"]["dhcp4"]["removed"] >= 1

    def test_a_clean_stop(self, with_lessor):
        assert with_lessor.rc == 0
        assert "relay stopped:" in with_lessor.relay_log


@pytest.fixture(scope="class")
def with_dhcpd(request, tmp_path_factory):
    with shared_setup(request, tmp_path_factory, Topology4) as s:
        t, procs = s.topo, s.procs
        caps = start_captures(s)
        # The relay's giaddr as the server identifier, as for lessor serve (module docs).
        dhcpd = start_dhcpd(procs, t.server, t.server_if, s.artifacts / "dhcpd",
                            extra_global=f"server-identifier {GIADDR};")
        # With receive-spin: the polling receive loop relays as the sleeping one does.
        relay = start_relay(procs, t, s.artifacts / "relay", servers4=[SERVER],
                            recovery=NO_RECOVERY, receive_spin=True)
        client = make_dhclient(t.client, t.client_if, s.artifacts / "dhclient")
        ev = client.acquire(procs)
        addr = ev["new_ip_address"]
        lease = dhcpd.wait_binding_state(addr, "active")
        shown = relay.show()
        client.release(procs)
        dhcpd.wait_binding_state(addr, "free")
        after_release = relay.show()
        pcaps = capture.stop_captures(caps)
        conf = (s.artifacts / "relay" / "relay.toml").read_text()
        yield SimpleNamespace(topo=t, addr=addr, lease=lease, shown=shown, pcaps=pcaps,
                              after_release=after_release, dhcpd_log=dhcpd.proc.output(),
                              relay_id=relay.relay_id(), conf=conf)


class TestRelayToIscDhcpd:
    def test_the_relay_runs_with_receive_spin(self, with_dhcpd):
        assert "receive-spin = true" in with_dhcpd.conf

    def test_show_lists_the_gleaned_lease(self, with_dhcpd):
        r = with_dhcpd
        e = [e for e in r.shown["entries"] if e["bound"] == r.addr]
        assert len(e) == 1 and e[0]["circuit_id"] == r.topo.relay_down_if, r.shown

    def test_release_removes_the_entry(self, with_dhcpd):
        assert not [e for e in with_dhcpd.after_release["entries"] if e["bound"] == with_dhcpd.addr]

    def test_dhcpd_saw_the_relays_circuit_and_remote_id(self, with_dhcpd):
        r = with_dhcpd
        want = f"LSR-COMMIT {r.addr} circuit-id={r.topo.relay_down_if} remote-id={socket.gethostname()}:{r.topo.relay_down_if}"
        assert want in r.dhcpd_log, r.dhcpd_log[-2000:]

    def test_requests_carry_the_relay_id_and_decode_cleanly(self, with_dhcpd):
        msgs = relayed(with_dhcpd.pcaps["server"])
        assert {1, 3, 7} <= {m[0] for m in msgs}, msgs
        assert all(m[3][12] == with_dhcpd.relay_id for m in msgs)
        for link, pcap in with_dhcpd.pcaps.items():
            rep = capture.check_decode(pcap)
            assert rep.ok, f"{link}: {rep}"
