"""`lessor relay` DHCPv6 end to end: ISC `dhclient -6 -N -P` (an address, IA_NA, and a prefix,
IA_PD) on the client link -> `lessor relay` (relay namespace: downstream r0, upstream r1) ->
`lessor serve` with [dhcp6], and ISC Kea 2.2's kea-dhcp6 as the reference server.

The relay lists the address and the prefix with the interface, Interface-ID and Remote-Id it
relayed with; Lessor's stored bindings carry the relay chain with our Interface-ID, Remote-Id and
Relay-Id (Kea's memfile keeps no relay data); `dhclient -6 -r` releases both and the relay
forgets them; tshark decodes RELAY-FORW / RELAY-REPL without warnings. Then both families at
once: `dhclient -4` and `dhclient -6` on one client link through one relay."""
from __future__ import annotations

import ipaddress
import socket
from types import SimpleNamespace

import pytest

from harness import addressing as A, capture, dhcp6
from harness.isc import make_dhclient
from harness.isc6 import make_dhclient6
from harness.lessor import Subnet4, start_lessor
from harness.netns import Topology4, Topology6
from harness.relay import ENTERPRISE, start_relay
from harness.server6 import LinkSpec, servers_under_test, start_server6
from harness.shared import shared_setup

SERVER = A.SERVER_V6
DOWN = "r0"
REMOTE_ID = ENTERPRISE.to_bytes(4, "big") + f"{socket.gethostname()}:{DOWN}".encode()
CLIENT_LINK = LinkSpec(str(A.CLIENT_NET6), A.POOL_V6, str(A.PD_POOL_V6), A.PD_LEN_V6, DOWN.encode())
PORTS = "udp port 546 or udp port 547"
INTERFACE_ID, REMOTE_ID_CODE, RELAY_ID = 18, 37, 53


@pytest.fixture(scope="module", params=servers_under_test())
def kind(request) -> str:
    return request.param


def split_events(evs):
    na = [e for e in evs if "new_ip6_address" in e]
    pd = [e for e in evs if "new_ip6_prefix" in e]
    assert len(na) == 1 and len(pd) == 1, evs
    return na[0]["new_ip6_address"], pd[0]["new_ip6_prefix"]


def by_bound(shown: dict) -> dict:
    return {e["bound"]: e for e in shown["entries"]}


@pytest.fixture(scope="class")
def through_relay(request, tmp_path_factory, kind):
    with shared_setup(request, tmp_path_factory, Topology6) as s:
        t, procs = s.topo, s.procs
        caps = {
            "client": capture.start_capture(procs, t.relay, t.relay_down_if, s.artifacts / "client-link.pcap",
                                            PORTS, name="tshark-client"),
            "server": capture.start_capture(procs, t.relay, t.relay_up_if, s.artifacts / "server-link.pcap",
                                            PORTS, name="tshark-server"),
        }
        srv = start_server6(kind, procs, t.server, t.server_if, SERVER, s.artifacts / kind, [CLIENT_LINK])
        # Neither server listens for bulk leasequery: recovery gives up at once (no retry).
        relay = start_relay(procs, t, s.artifacts / "relay", servers6=[SERVER],
                            recovery={"max-retry": "0s"})
        ready = relay.proc.output()
        client = make_dhclient6(t.client, t.client_if, s.artifacts / "dhclient6", address=True, prefix=True)
        addr, prefix = split_events(client.acquire(procs))
        bound = {k: srv.wait_state(k, "active") for k in (addr, prefix)}
        shown = relay.show()
        inside = str(ipaddress.IPv6Network(prefix)[1])
        verify = {
            "address": relay.verify(t.relay_down_if, addr),
            "in-prefix": relay.verify(t.relay_down_if, inside),
            "other-interface": relay.verify(t.relay_up_if, inside),
        }
        client.release(procs)
        released = {k: srv.wait_state(k, "released") for k in (addr, prefix)}
        after_release = relay.show()
        pcaps = capture.stop_captures(caps)
        rc = relay.stop()
        yield SimpleNamespace(kind=kind, addr=addr, prefix=prefix, bound=bound, shown=shown,
                              verify=verify, released=released, after_release=after_release,
                              pcaps=pcaps, rc=rc, relay_log=relay.proc.output(), ready=ready,
                              relay_id=relay.relay_id(), server_link=dhcp6.messages(pcaps["server"]),
                              client_link=dhcp6.messages(pcaps["client"]))


class TestRelay6:
    def test_the_client_gets_an_address_and_a_prefix(self, through_relay):
        r = through_relay
        lo, hi = (ipaddress.IPv6Address(a) for a in A.POOL_V6)
        assert lo <= ipaddress.IPv6Address(r.addr) <= hi, r.addr
        assert ipaddress.IPv6Network(r.prefix).subnet_of(A.PD_POOL_V6), r.prefix

    def test_show_lists_both_with_interface_id_and_remote_id(self, through_relay):
        r = through_relay
        entries = by_bound(r.shown)
        for k in (r.addr, r.prefix):
            e = entries[k]
            assert e["interface"] == DOWN, e
            assert e["circuit_id"] == DOWN, e                 # the Interface-ID we sent
            assert bytes.fromhex(e["remote_id_hex"].replace(":", "")) == REMOTE_ID, e
            assert e["origin"] == "gleaned" and e["expires"] > r.shown["now"], e
        c = r.shown["counters"]["dhcp6"]
        assert c["gleaned"] >= 2 and c["forwarded_to_servers"] >= 2 and c["forwarded_to_clients"] >= 2, c
        assert not any(c["dropped"].values()), c

    def test_source_verification_of_ipv6_addresses(self, through_relay):
        v = through_relay.verify
        assert v["address"] == (0, "yes: bound to this client behind this interface"), v
        assert v["in-prefix"] == (0, "yes: bound to this client behind this interface"), v
        assert v["other-interface"] == (1, "no: bound to a client behind another interface"), v

    def test_relay_forws_carry_our_relay_options(self, through_relay):
        r = through_relay
        forws = [m for m in r.server_link if m.outer_type == "RELAY-FORW"]
        assert {m.msg_type for m in forws} >= {"SOLICIT", "REQUEST", "RELEASE"}, forws
        for m in forws:
            hop = m.hops[0]
            assert (m.src, m.sport, m.dport) == (A.RELAY_UP_V6, 547, 547), m
            assert (hop.hop_count, hop.link_address) == (0, A.RELAY_DOWN_V6), hop
            assert hop.peer_address.startswith("fe80::"), hop
            opts = dict(hop.options)
            assert opts[INTERFACE_ID] == DOWN.encode()
            assert opts[REMOTE_ID_CODE] == REMOTE_ID
            assert opts[RELAY_ID] == r.relay_id

    def test_the_client_link_sees_plain_dhcpv6(self, through_relay):
        msgs = through_relay.client_link
        assert msgs and not [m for m in msgs if m.hops], "relay messages on the client link"
        assert {m.msg_type for m in msgs} >= {"SOLICIT", "ADVERTISE", "REQUEST", "REPLY", "RELEASE"}
        for m in msgs:
            if m.msg_type in ("ADVERTISE", "REPLY"):
                assert (m.sport, m.dport) == (547, 546), m

    def test_the_servers_binding_carries_the_relay_chain(self, through_relay):
        r = through_relay
        if r.kind == "kea":
            pytest.skip("Kea 2.2's memfile keeps no relay data")
        for k in (r.addr, r.prefix):
            b = r.bound[k]
            assert b["relay_peer"] == A.RELAY_UP_V6, b
            assert bytes.fromhex(b["interface_id"]) == DOWN.encode(), b
            chain = bytes.fromhex(b["relay_chain"])
            hop = dhcp6.decode(chain).hops[0]
            opts = dict(hop.options)
            assert (opts[INTERFACE_ID], opts[REMOTE_ID_CODE], opts[RELAY_ID]) == \
                (DOWN.encode(), REMOTE_ID, r.relay_id), hop

    def test_release_frees_both_and_the_relay_forgets_them(self, through_relay):
        r = through_relay
        assert all(b["state"] == "released" for b in r.released.values()), r.released
        left = by_bound(r.after_release)
        assert r.addr not in left and r.prefix not in left, left
        assert r.after_release["counters"]["dhcp6"]["removed"] >= 2

    def test_captures_decode_cleanly(self, through_relay):
        for link, pcap in through_relay.pcaps.items():
            rep = capture.check_decode(pcap)
            assert rep.frames >= 6, f"{link}: {rep}"
            assert rep.ok, f"{link}: {rep}"
        assert capture.count(through_relay.pcaps["server"], "dhcpv6.msgtype == 12") >= 3
        assert capture.count(through_relay.pcaps["server"], "dhcpv6.msgtype == 13") >= 3

    def test_recovery_without_a_bulk_listener_is_given_up_at_once(self, through_relay):
        r = through_relay
        assert f"recovery: dhcp6 server [{SERVER}]:547: streamed=0 kept=0 retries=0 given up: cannot connect" \
            in r.ready, r.ready
        assert "servers-failed=1" in r.ready and "; 0 entries" in r.ready, r.ready

    def test_a_clean_stop_with_the_counters(self, through_relay):
        assert through_relay.rc == 0
        assert "dhcp6-forwarded-to-servers=" in through_relay.relay_log


@pytest.fixture(scope="class")
def both_families(request, tmp_path_factory):
    with shared_setup(request, tmp_path_factory, lambda: Topology4(ipv6=True)) as s:
        t, procs = s.topo, s.procs
        srv4 = start_lessor(procs, t.server, s.artifacts / "lessor4", identifier=A.RELAY_DOWN_V4, name="lessor4",
                            listen=[A.SERVER_V4], relays=[str(A.CLIENT_NET)],
                            subnets=[Subnet4(str(A.CLIENT_NET), A.POOL_V4, routers=A.RELAY_DOWN_V4)])
        srv6 = start_server6("lessor", procs, t.server, t.server_if, SERVER, s.artifacts / "lessor6",
                             [CLIENT_LINK])
        # The server has no bulk listener: no start-up recovery to wait for.
        relay = start_relay(procs, t, s.artifacts / "relay", servers4=[A.SERVER_V4], servers6=[SERVER],
                            recovery={"at-start": False, "on-demand": False})
        ready = relay.proc.output()
        c4 = make_dhclient(t.client, t.client_if, s.artifacts / "dhclient4")
        c6 = make_dhclient6(t.client, t.client_if, s.artifacts / "dhclient6", address=True, prefix=True)
        addr4 = c4.acquire(procs)["new_ip_address"]
        addr6, prefix = split_events(c6.acquire(procs))
        srv4.wait_state(addr4, "active")
        for k in (addr6, prefix):
            srv6.wait_state(k, "active")
        shown = relay.show()
        rc = relay.stop()
        yield SimpleNamespace(addr4=addr4, addr6=addr6, prefix=prefix, shown=shown, ready=ready, rc=rc,
                              log=relay.proc.output())


class TestBothFamiliesInOneRelay:
    def test_the_readiness_line_names_both(self, both_families):
        line = [l for l in both_families.ready.splitlines() if "relay ready:" in l][0]
        assert f"dhcp4 from {DOWN} (giaddr {A.RELAY_DOWN_V4})" in line, line
        assert f"dhcp6 from {DOWN} (link-address {A.RELAY_DOWN_V6}, interface-id \"{DOWN}\")" in line, line

    def test_the_table_holds_both_families(self, both_families):
        r = both_families
        entries = by_bound(r.shown)
        for k in (r.addr4, r.addr6, r.prefix):
            assert entries[k]["interface"] == DOWN and entries[k]["circuit_id"] == DOWN, entries
        assert entries[r.addr4]["hardware"], entries[r.addr4]
        c = r.shown["counters"]
        assert c["dhcp4"]["gleaned"] >= 1 and c["dhcp6"]["gleaned"] >= 2, c

    def test_the_stop_line_counts_both(self, both_families):
        assert both_families.rc == 0
        stop = [l for l in both_families.log.splitlines() if "relay stopped:" in l][0]
        assert "dhcp4-forwarded-to-servers=" in stop and "dhcp6-forwarded-to-servers=" in stop, stop
