"""DHCPv6 end to end (issue 13): ISC `dhclient -6` (an address, IA_NA, and a prefix, IA_PD) and
`dhcpcd` (a prefix) through ISC `dhcrelay -6 -I` (interface-id) to the server; renewal,
release, a restart, the relay chain the store keeps, and `kill -9` under relayed SARR load
(Kea's `perfdhcp -6 -A 1`) losing no binding a REPLY granted.

Every scenario runs against each server of `harness.server6.servers_under_test()`: `lessor
serve` and ISC Kea 2.2's kea-dhcp6, the reference that shows the scenario itself is right
(`LESSOR_E2E_V6_SERVERS=kea` or `=lessor` runs one). What only Lessor keeps (the relay chain)
is skipped for Kea, whose memfile has no relay data.

Each scenario is a class: one class-scoped fixture runs it once (its own namespaces, daemons and
captures, torn down when the class is done) and records what it saw; each check is its own
test."""
from __future__ import annotations

import ipaddress
import signal
import sys
import time
from collections import Counter
from types import SimpleNamespace

import pytest

from harness import addressing as A, capture, dhcp6
from harness.dhcpcd6 import make_dhcpcd6
from harness.isc6 import make_dhclient6, start_dhcrelay6
from harness.netns import Topology6, TopologyChain6, TopologyDirect6
from harness.server6 import LinkSpec, servers_under_test, start_server6
from harness.shared import Shared, shared_setup

SERVER = A.SERVER_V6
RELAY = A.RELAY_UP_V6          # the source of every RELAY-FORW: relay_peer in the store
LINK_ADDRESS = A.RELAY_DOWN_V6  # dhcrelay -6 puts its lower interface's address there
# dhcrelay -6 -I -l r0#7: option 18 = the #index as a 4-octet host-order integer
IFINDEX = 7
INTERFACE_ID = IFINDEX.to_bytes(4, sys.byteorder)
CLIENT_LINK = LinkSpec(str(A.CLIENT_NET6), A.POOL_V6, str(A.PD_POOL_V6), A.PD_LEN_V6, INTERFACE_ID)
# perfdhcp -A 1 is the relay itself: its link-address is its own address on the server link
LOAD_LINK = LinkSpec(str(A.SERVER_NET6), ("2001:db8:2::1000", "2001:db8:2::ffff"), "2001:db8:200::/40", 56)
# short lifetimes: dhclient renews (T1) every 3 s
SHORT = dict(preferred=8, valid=12, renew=3, rebind=5)
PORTS = "udp port 546 or udp port 547"
DNS6 = "2001:db8::53"           # dns-servers (option 23) configured for the whole server
SUCCESS = 0


@pytest.fixture(scope="module", params=servers_under_test())
def kind(request) -> str:
    return request.param


def env6(request, tmp_path_factory):
    return shared_setup(request, tmp_path_factory, Topology6)


def in_pool(addr: str, pool=A.POOL_V6) -> bool:
    lo, hi = (ipaddress.IPv6Address(a) for a in pool)
    return lo <= ipaddress.IPv6Address(addr) <= hi


def in_pd_pool(prefix: str, pool=A.PD_POOL_V6, length=A.PD_LEN_V6) -> bool:
    net = ipaddress.IPv6Network(prefix)
    return net.prefixlen == length and net.subnet_of(pool)


def duid_hex(colon: str) -> str:
    """dhclient's 0:1:0:1:... form (octets without leading zeros) as plain hex."""
    return "".join(f"{int(x, 16):02x}" for x in colon.split(":"))


def start_relayed(s: Shared, kind: str, **conf):
    """Captures on both relay links, the server, dhcrelay -6 -I. Returns (captures, server)."""
    t, procs, artifacts = s.topo, s.procs, s.artifacts
    caps = {
        "client": capture.start_capture(procs, t.relay, t.relay_down_if, artifacts / "client-link.pcap",
                                        PORTS, name="tshark-client"),
        "server": capture.start_capture(procs, t.relay, t.relay_up_if, artifacts / "server-link.pcap",
                                        PORTS, name="tshark-server"),
    }
    srv = start_server6(kind, procs, t.server, t.server_if, SERVER, artifacts / kind, [CLIENT_LINK],
                        **conf)
    start_dhcrelay6(procs, t.relay, t.relay_down_if, t.relay_up_if, SERVER, artifacts / "dhcrelay",
                    lower_index=IFINDEX)
    return caps, srv


def split_events(evs):
    """BOUND6-style calls of one IA_NA + one IA_PD: (address call, prefix call)."""
    na = [e for e in evs if "new_ip6_address" in e]
    pd = [e for e in evs if "new_ip6_prefix" in e]
    assert len(na) == 1 and len(pd) == 1, evs
    return na[0], pd[0]


def relayed_from_client(msgs, types):
    return [m for m in msgs if m.outer_type == "RELAY-FORW" and m.msg_type in types and m.src == RELAY]


def replies_to_relay(msgs):
    return [m for m in msgs if m.outer_type == "RELAY-REPL" and m.src == SERVER]


def assert_decodes_cleanly(pcaps: dict, min_frames: int = 2) -> None:
    for link, pcap in pcaps.items():
        rep = capture.check_decode(pcap)
        assert rep.frames >= min_frames, f"{link}: {rep}"
        assert rep.ok, f"{link}: {rep}"


def skip_for_kea(kind: str, why: str = "Kea 2.2's memfile keeps no relay data") -> None:
    if kind == "kea":
        pytest.skip(why)


# ---------------------------------------------------------------- (a) + (c): lease, renew, release

@pytest.fixture(scope="class")
def lease_renew_release(request, tmp_path_factory, kind):
    """dhclient -6 -N -P through dhcrelay -6 -I: an address and a prefix, a RENEW at T1 = 3 s,
    then dhclient -6 -r (RELEASE)."""
    with env6(request, tmp_path_factory) as s:
        t, procs = s.topo, s.procs
        caps, srv = start_relayed(s, kind, dns_servers=[DNS6], **SHORT)
        client = make_dhclient6(t.client, t.client_if, s.artifacts / "dhclient6", address=True, prefix=True)
        na, pd = split_events(client.acquire(procs))
        addr, prefix = na["new_ip6_address"], pd["new_ip6_prefix"]
        client_addrs = t.client.addrs(t.client_if, "-6")
        bound = {k: srv.wait_state(k, "active") for k in (addr, prefix)}
        # T1 = 3 s: one RENEW (both IAs), answered through the relay
        n = len(client.events())
        renew_na, renew_pd = split_events(client.wait_events(("RENEW6",), n=2, after=n, timeout=15))
        renewed = {k: srv.wait_binding(k, lambda b, k=k: b["end"] > bound[k]["end"], what="renewed end")
                   for k in (addr, prefix)}
        released_ev = client.release(procs)
        released = {k: srv.wait_state(k, "released") for k in (addr, prefix)}
        client_addrs_after = t.client.addrs(t.client_if, "-6")
        pcaps = capture.stop_captures(caps)
        stop_rc = srv.stop()
        stats = {n: srv.stats(n) for n in ("dhcp6", "router6")} if kind == "lessor" else {}
        yield SimpleNamespace(kind=kind, srv=srv, na=na, pd=pd, addr=addr, prefix=prefix,
                              stop_rc=stop_rc, stats=stats, output=srv.output(),
                              client_addrs=client_addrs, bound=bound, renew_na=renew_na,
                              renew_pd=renew_pd, renewed=renewed, released_ev=released_ev,
                              released=released, client_addrs_after=client_addrs_after, pcaps=pcaps,
                              server_link=dhcp6.messages(pcaps["server"]),
                              client_link=dhcp6.messages(pcaps["client"]))


class TestLeaseRenewReleaseThroughRelay:
    def test_client_gets_a_pool_address_and_a_delegated_prefix(self, lease_renew_release):
        r = lease_renew_release
        assert in_pool(r.addr), r.na
        assert in_pd_pool(r.prefix), r.pd
        for ev in (r.na, r.pd):
            assert (ev["new_preferred_life"], ev["new_max_life"]) == ("8", "12"), ev
            assert (ev["new_renew"], ev["new_rebind"]) == ("3", "5"), ev

    def test_client_gets_the_configured_dns_server(self, lease_renew_release):
        r = lease_renew_release
        assert r.na.get("new_dhcp6_name_servers") == DNS6, r.na
        reps = [m for m in replies_to_relay(r.server_link) if m.msg_type in ("ADVERTISE", "REPLY")]
        assert all(dhcp6.first(m.options, 23) == ipaddress.IPv6Address(DNS6).packed
                   for m in reps if m.leases()), [m.options for m in reps]

    def test_address_is_configured_on_the_client(self, lease_renew_release):
        r = lease_renew_release
        assert f"{r.addr}/128" in r.client_addrs, r.client_addrs

    def test_store_has_both_for_the_clients_duid_and_iaid(self, lease_renew_release):
        r = lease_renew_release
        duid = duid_hex(r.na["new_dhcp6_client_id"])
        iaid = int(r.na["new_iaid"].replace(":", ""), 16)
        na, pd = r.bound[r.addr], r.bound[r.prefix]
        assert (na["ia_type"], na["prefix_len"], na["duid"], na["iaid"]) == ("ia-na", 128, duid, iaid), na
        assert (pd["ia_type"], pd["duid"], pd["iaid"]) == ("ia-pd", duid, iaid), pd
        # and the client sent that DUID in every message the relay forwarded
        assert {m.client_duid.hex() for m in relayed_from_client(r.server_link, ("SOLICIT", "REQUEST",
                                                                                  "RENEW", "RELEASE"))} == {duid}

    def test_renewal_keeps_the_address_and_the_prefix(self, lease_renew_release):
        r = lease_renew_release
        assert r.renew_na["new_ip6_address"] == r.addr, r.renew_na
        assert r.renew_pd["new_ip6_prefix"] == r.prefix, r.renew_pd
        for k in (r.addr, r.prefix):
            assert r.renewed[k]["state"] == "active" and r.renewed[k]["end"] > r.bound[k]["end"], r.renewed

    def test_renew_is_relayed_and_answered_with_both_ias(self, lease_renew_release):
        msgs = lease_renew_release.server_link
        renews = relayed_from_client(msgs, ("RENEW",))
        assert renews, msgs
        for rn in renews:
            reps = [m for m in replies_to_relay(msgs) if m.msg_type == "REPLY" and m.xid == rn.xid]
            assert reps, f"no REPLY to RENEW xid {rn.xid:#x}"
            keys = {l.key for l in reps[0].leases() if l.valid > 0}
            assert keys == {lease_renew_release.addr, lease_renew_release.prefix}, reps[0].leases()
            assert set(reps[0].ia_status().values()) <= {None, SUCCESS}, reps[0].ia_status()

    def test_release_marks_both_released(self, lease_renew_release):
        r = lease_renew_release
        assert len(r.released_ev) == 2
        for k in (r.addr, r.prefix):
            assert r.released[k]["state"] == "released", r.released[k]
            assert r.released[k]["duid"] == r.bound[k]["duid"]
        assert f"{r.addr}/128" not in r.client_addrs_after

    def test_release_is_answered_with_success(self, lease_renew_release):
        # RFC 8415 §18.3.7: a Reply with a Status Code option of Success
        msgs = lease_renew_release.server_link
        rels = relayed_from_client(msgs, ("RELEASE",))
        assert rels, msgs
        reps = [m for m in replies_to_relay(msgs) if m.msg_type == "REPLY" and m.xid == rels[-1].xid]
        assert reps and reps[0].status() == SUCCESS, [(m.msg_type, m.options) for m in reps]

    def test_relay_forw_carries_link_address_and_interface_id(self, lease_renew_release):
        fw = relayed_from_client(lease_renew_release.server_link, ("SOLICIT", "REQUEST", "RENEW", "RELEASE"))
        assert {m.msg_type for m in fw} == {"SOLICIT", "REQUEST", "RENEW", "RELEASE"}, fw
        for m in fw:
            assert len(m.hops) == 1 and m.hops[0].link_address == LINK_ADDRESS, m.hops
            assert m.interface_id() == INTERFACE_ID, m.hops

    def test_relay_repl_echoes_interface_id_peer_and_link(self, lease_renew_release):
        # RFC 8415 §19.3.x / §9: RELAY-REPL copies hop-count, link-address, peer-address and the
        # Interface-ID option of the RELAY-FORW it answers; it goes back to the relay
        msgs = lease_renew_release.server_link
        fw = {m.xid: m for m in relayed_from_client(msgs, ("SOLICIT", "REQUEST", "RENEW", "RELEASE"))}
        reps = replies_to_relay(msgs)
        assert {m.msg_type for m in reps} >= {"ADVERTISE", "REPLY"}, reps
        for m in reps:
            assert m.dst == RELAY and m.xid in fw, (m.src, m.dst, m.xid)
            f = fw[m.xid].hops[0]
            h = m.hops[0]
            assert (h.hop_count, h.link_address, h.peer_address) == (f.hop_count, f.link_address,
                                                                      f.peer_address), (h, f)
            assert dhcp6.first(h.options, dhcp6.INTERFACE_ID) == INTERFACE_ID, h.options

    def test_relay_repl_seen_by_tshark_with_interface_id(self, lease_renew_release):
        pcap = lease_renew_release.pcaps["server"]
        n_repl = capture.count(pcap, f"ipv6.src == {SERVER} && dhcpv6.msgtype == 13")
        assert n_repl >= 3
        assert capture.count(pcap, f"ipv6.src == {SERVER} && dhcpv6.msgtype == 13 && "
                                   f"dhcpv6.interface_id == {INTERFACE_ID.hex()}") == n_repl

    def test_every_reply_names_one_server(self, lease_renew_release):
        msgs = replies_to_relay(lease_renew_release.server_link)
        duids = {m.server_duid for m in msgs}
        assert len(duids) == 1 and None not in duids, duids
        assert duid_hex(lease_renew_release.na["new_dhcp6_server_id"]) == next(iter(duids)).hex()

    def test_every_reply_returns_the_requests_client_id_and_goes_to_port_547(self, lease_renew_release):
        # RFC 8415 §18.3: the Client Identifier of the message answered; §19.3.x: RELAY-REPL
        # to the relay's port 547 (no Relay Source Port option was sent)
        msgs = lease_renew_release.server_link
        fw = {m.xid: m for m in relayed_from_client(msgs, ("SOLICIT", "REQUEST", "RENEW", "RELEASE"))}
        reps = replies_to_relay(msgs)
        assert reps
        for m in reps:
            assert m.client_duid == fw[m.xid].client_duid, (m.xid, m.options)
            assert (m.sport, m.dport) == (547, 547), (m.msg_type, m.sport, m.dport)

    def test_store_keeps_the_relay_peer_and_interface_id(self, lease_renew_release):
        skip_for_kea(lease_renew_release.kind)
        r = lease_renew_release
        for k in (r.addr, r.prefix):
            b = r.renewed[k]
            assert b["relay_peer"] == RELAY, b
            assert b["interface_id"] == INTERFACE_ID.hex(), b

    def test_store_keeps_the_relay_chain(self, lease_renew_release):
        # the outer RELAY-FORW without the client's message (docs/protocol.md): dhcrelay sends
        # the same chain with every message of this client
        skip_for_kea(lease_renew_release.kind)
        r = lease_renew_release
        chains = {dhcp6.without_client_message(m.hops[0].raw).hex()
                  for m in relayed_from_client(r.server_link, ("REQUEST", "RENEW"))}
        assert len(chains) == 1, chains
        for k in (r.addr, r.prefix):
            assert r.renewed[k]["relay_chain"] == next(iter(chains)), r.renewed[k]

    def test_server_stops_with_exit_0(self, lease_renew_release):
        assert lease_renew_release.stop_rc == 0, lease_renew_release.output[-3000:]

    def test_lessors_counters_match_the_wire(self, lease_renew_release):
        # the stats lines logged at stop (counters at 0 left out) count what the capture saw,
        # and nothing was dropped
        skip_for_kea(lease_renew_release.kind, "Lessor's stats lines")
        r = lease_renew_release
        router, dhcp = r.stats["router6"], r.stats["dhcp6"]
        fw = Counter(m.msg_type for m in relayed_from_client(r.server_link, ("SOLICIT", "REQUEST", "RENEW",
                                                                             "RELEASE")))
        for t in ("solicit", "request", "renew", "release"):
            assert router.get(f"relayed-{t}", 0) == fw[t.upper()], (t, router, fw)
        replies = Counter(m.msg_type for m in replies_to_relay(r.server_link))
        assert dhcp.get("advertises", 0) == replies["ADVERTISE"], (dhcp, replies)
        # every REPLY here changed a binding: each waited until it was durable
        assert dhcp.get("replies-durable", 0) == replies["REPLY"] and not dhcp.get("replies"), (dhcp, replies)
        assert dhcp.get("released") == 2, dhcp          # the address and the prefix
        assert {k: v for k, v in dhcp.items() if k.startswith("dropped-") and v} == {}, dhcp

    def test_client_link_sees_plain_dhcpv6(self, lease_renew_release):
        msgs = lease_renew_release.client_link
        assert msgs and not [m for m in msgs if m.hops], "relay messages on the client link"
        assert {m.msg_type for m in msgs} >= {"SOLICIT", "ADVERTISE", "REQUEST", "REPLY", "RENEW", "RELEASE"}

    def test_captures_decode_cleanly(self, lease_renew_release):
        assert_decodes_cleanly(lease_renew_release.pcaps, min_frames=8)


# ---------------------------------------------------------------- (b): dhcpcd, a prefix

@pytest.fixture(scope="class")
def dhcpcd_prefix(request, tmp_path_factory, kind):
    """dhcpcd -6 (ia_pd only, no hooks) through the relay; then SIGALRM: RELEASE and exit."""
    with env6(request, tmp_path_factory) as s:
        t, procs = s.topo, s.procs
        caps, srv = start_relayed(s, kind)
        c = make_dhcpcd6(t.client, t.client_if, s.artifacts / "dhcpcd", iaid=5)
        c.start(procs)
        prefixes = c.delegated()
        bound = {p: srv.wait_state(p, "active") for p in prefixes}
        release_rc = c.release()
        released = {p: srv.wait_state(p, "released") for p in prefixes}
        pcaps = capture.stop_captures(caps)
        yield SimpleNamespace(kind=kind, prefixes=prefixes, bound=bound, release_rc=release_rc,
                              released=released, pcaps=pcaps, output=c.proc.output(),
                              server_link=dhcp6.messages(pcaps["server"]))


class TestDhcpcdPrefixThroughRelay:
    def test_dhcpcd_gets_one_prefix_of_the_pool(self, dhcpcd_prefix):
        assert len(dhcpcd_prefix.prefixes) == 1, dhcpcd_prefix.prefixes
        assert in_pd_pool(dhcpcd_prefix.prefixes[0]), dhcpcd_prefix.prefixes

    def test_store_has_it_for_dhcpcds_duid_and_iaid(self, dhcpcd_prefix):
        r = dhcpcd_prefix
        reqs = relayed_from_client(r.server_link, ("REQUEST",))
        assert reqs
        b = r.bound[r.prefixes[0]]
        assert (b["ia_type"], b["iaid"], b["duid"]) == ("ia-pd", 5, reqs[-1].client_duid.hex()), b

    def test_reply_grants_what_the_store_holds(self, dhcpcd_prefix):
        r = dhcpcd_prefix
        reps = [m for m in replies_to_relay(r.server_link) if m.msg_type == "REPLY"]
        granted = {l.key for m in reps for l in m.leases() if l.valid > 0}
        assert granted == set(r.prefixes), [m.leases() for m in reps]

    def test_release_on_sigalrm_marks_it_released(self, dhcpcd_prefix):
        r = dhcpcd_prefix
        assert r.release_rc == 0, r.output[-2000:]
        assert relayed_from_client(r.server_link, ("RELEASE",))
        assert all(b["state"] == "released" for b in r.released.values()), r.released

    def test_store_keeps_the_relay_peer_and_interface_id(self, dhcpcd_prefix):
        skip_for_kea(dhcpcd_prefix.kind)
        b = dhcpcd_prefix.bound[dhcpcd_prefix.prefixes[0]]
        assert (b["relay_peer"], b["interface_id"]) == (RELAY, INTERFACE_ID.hex()), b

    def test_dhcpcd_ran_no_hook(self, dhcpcd_prefix):
        # `-c /bin/true`: dhcpcd-run-hooks (resolv.conf, hostname, NTP) never ran
        assert "executing: /bin/true" in dhcpcd_prefix.output
        assert "dhcpcd-run-hooks" not in dhcpcd_prefix.output

    def test_captures_decode_cleanly(self, dhcpcd_prefix):
        assert_decodes_cleanly(dhcpcd_prefix.pcaps, min_frames=6)


# ---------------------------------------------------------------- (d): restart keeps the binding

@pytest.fixture(scope="class")
def restart(request, tmp_path_factory, kind):
    """A lease and a prefix with T1 = 3 s; SIGTERM and restart the server: the next RENEW gets
    both again; then kill -9 and restart: the same once more."""
    with env6(request, tmp_path_factory) as s:
        t, procs = s.topo, s.procs
        caps, srv = start_relayed(s, kind, **SHORT)
        client = make_dhclient6(t.client, t.client_if, s.artifacts / "dhclient6", address=True, prefix=True)
        na, pd = split_events(client.acquire(procs))
        keys = (na["new_ip6_address"], pd["new_ip6_prefix"])
        before = {k: srv.wait_state(k, "active") for k in keys}

        term_rc = srv.stop(signal.SIGTERM)
        term_out = srv.output()
        after_stop = srv.by_key()
        srv.start()
        restarted_at = time.time()
        after_start = srv.by_key()
        n = len(client.events())
        renew1 = split_events(client.wait_events(("RENEW6", "REBIND6"), n=2, after=n, timeout=15))
        b1 = {k: srv.wait_binding(k, lambda b, k=k: b["end"] > before[k]["end"] and b["state"] == "active",
                                  what="renewed after restart") for k in keys}

        kill_rc = srv.kill()
        after_kill = srv.by_key()
        srv.start()
        killed_restarted_at = time.time()
        n = len(client.events())
        renew2 = split_events(client.wait_events(("RENEW6", "REBIND6"), n=2, after=n, timeout=15))
        b2 = {k: srv.wait_binding(k, lambda b, k=k: b["end"] > b1[k]["end"] and b["state"] == "active",
                                  what="renewed after kill -9") for k in keys}
        pcaps = capture.stop_captures(caps)
        yield SimpleNamespace(kind=kind, na=na, pd=pd, keys=keys, before=before, term_rc=term_rc,
                              term_out=term_out, after_stop=after_stop, after_start=after_start,
                              restarted_at=restarted_at, renew1=renew1, b1=b1, kill_rc=kill_rc,
                              after_kill=after_kill, killed_restarted_at=killed_restarted_at,
                              renew2=renew2, b2=b2, pcaps=pcaps, msgs=dhcp6.messages(pcaps["server"]))


class TestRestartKeepsBinding:
    def test_sigterm_exits_0(self, restart):
        assert restart.term_rc == 0, restart.term_out[-3000:]

    def test_store_keeps_both_over_a_clean_stop_and_start(self, restart):
        for k in restart.keys:
            assert restart.after_stop[k]["state"] == "active", restart.after_stop
            assert restart.after_start[k]["state"] == "active", restart.after_start
            assert restart.after_start[k]["end"] == restart.before[k]["end"]

    def test_renew_after_restart_gets_the_same_address_and_prefix(self, restart):
        addr, prefix = restart.keys
        for ev_na, ev_pd in (restart.renew1, restart.renew2):
            assert ev_na["new_ip6_address"] == addr, ev_na
            assert ev_pd["new_ip6_prefix"] == prefix, ev_pd

    def test_renews_after_restarts_are_answered_success(self, restart):
        # a RENEW answered NoBinding would mean the binding was lost
        msgs = restart.msgs
        for since in (restart.restarted_at, restart.killed_restarted_at):
            reps = [m for m in replies_to_relay(msgs) if m.msg_type == "REPLY" and m.time >= since]
            assert reps, f"no REPLY after {since}"
            assert set(reps[0].ia_status().values()) <= {None, SUCCESS}, reps[0].ia_status()
            assert {l.key for l in reps[0].leases() if l.valid > 0} == set(restart.keys)

    def test_server_duid_survives_restarts(self, restart):
        duids = {m.server_duid for m in replies_to_relay(restart.msgs)}
        assert len(duids) == 1, duids
        assert duid_hex(restart.renew2[0]["new_dhcp6_server_id"]) == next(iter(duids)).hex()

    def test_kill_9_keeps_the_renewed_binding(self, restart):
        for k in restart.keys:
            b = restart.after_kill[k]
            assert b["state"] == "active" and b["end"] >= restart.b1[k]["end"], (b, restart.b1[k])

    def test_store_lists_both_after_the_last_renew(self, restart):
        for k in restart.keys:
            assert restart.b2[k]["duid"] == restart.before[k]["duid"]

    def test_captures_decode_cleanly(self, restart):
        assert_decodes_cleanly(restart.pcaps, min_frames=8)


# ---------------------------------------------------------------- (e): kill -9 under relayed SARR load

LOAD_CLIENTS = 5000
LOAD_RATE = 400        # SARR exchanges started per second
LOAD_SECONDS = 8
KILL_AFTER = 3.0


@pytest.fixture(scope="class")
def kill_under_load(request, tmp_path_factory, kind):
    """perfdhcp -6 -A 1 (a relay of its own, link-address 2001:db8:2::1) runs SARR for an address
    and a prefix per client; kill -9 of the server mid-run; every REPLY the capture on the
    server's interface saw must be in the store (reopened by a restart) with that client's DUID."""
    with env6(request, tmp_path_factory) as s:
        t, procs, artifacts = s.topo, s.procs, s.artifacts
        cap = capture.start_capture(procs, t.server, t.server_if, artifacts / "server.pcap", PORTS,
                                    name="tshark-server")
        srv = start_server6(kind, procs, t.server, t.server_if, SERVER, artifacts / kind, [LOAD_LINK])
        perf = procs.start(t.relay, "perfdhcp", [
            "/usr/sbin/perfdhcp", "-6", "-A", "1", "-l", t.relay_up_if, "-R", str(LOAD_CLIENTS),
            "-r", str(LOAD_RATE), "-p", str(LOAD_SECONDS), "-e", "address-and-prefix", SERVER])
        time.sleep(KILL_AFTER)
        kill_rc = srv.kill()
        killed_at = time.time()
        perf_rc = perf.wait(LOAD_SECONDS + 15)
        pcap = cap.stop()
        srv.start()  # reopens the store
        stored = srv.by_key()
        msgs = dhcp6.messages(pcap)
        yield SimpleNamespace(kind=kind, kill_rc=kill_rc, killed_at=killed_at, perf_rc=perf_rc,
                              perf_out=perf.output(), stored=stored, msgs=msgs, pcap=pcap,
                              output=srv.output())


def granted(msgs):
    """(client DUID hex, lease) for every IA address / prefix a REPLY to a REQUEST granted."""
    reqs = {m.xid: m for m in msgs if m.outer_type == "RELAY-FORW" and m.msg_type == "REQUEST"}
    out = []
    for m in msgs:
        if m.outer_type == "RELAY-REPL" and m.msg_type == "REPLY" and m.xid in reqs:
            st = m.ia_status()
            for l in m.leases():
                if l.valid > 0 and st.get((l.ia_type, l.iaid)) in (None, SUCCESS):
                    out.append((m.client_duid.hex(), l))
    return out


class TestKillUnderLoadLosesNoReplyedBinding:
    def test_load_ran_and_the_kill_came_mid_run(self, kill_under_load):
        r = kill_under_load
        g = granted(r.msgs)
        assert len(g) >= 200, f"only {len(g)} leases granted before the kill:\n{r.perf_out[-2000:]}"
        after = [m for m in r.msgs if m.outer_type == "RELAY-FORW" and m.time > r.killed_at + 0.5]
        assert after, "no RELAY-FORW after the kill: the load ended before it"
        assert r.kill_rc not in (0, None), r.kill_rc

    def test_every_replyed_lease_is_in_the_store_with_its_duid(self, kill_under_load):
        r = kill_under_load
        g = granted(r.msgs)
        missing = [(duid, l.key) for duid, l in g if l.key not in r.stored]
        wrong = [(duid, l.key, r.stored[l.key]["duid"]) for duid, l in g
                 if l.key in r.stored and r.stored[l.key]["duid"] != duid]
        assert not missing, f"{len(missing)} of {len(g)} REPLY-ed leases lost, e.g. {missing[:5]}"
        assert not wrong, f"{len(wrong)} stored with another DUID, e.g. {wrong[:5]}"

    def test_replyed_leases_are_active_of_the_right_type(self, kill_under_load):
        r = kill_under_load
        g = granted(r.msgs)
        bad = [(l.key, r.stored[l.key]["state"], r.stored[l.key]["ia_type"]) for _, l in g
               if l.key in r.stored and (r.stored[l.key]["state"] != "active"
                                         or r.stored[l.key]["ia_type"] != l.ia_type)]
        assert not bad, bad[:5]
        assert Counter(l.ia_type for _, l in g).keys() == {"ia-na", "ia-pd"}

    def test_servers_replies_decode_cleanly(self, kill_under_load):
        rep = capture.check_decode(kill_under_load.pcap, f"ipv6.src == {SERVER}")
        assert rep.frames >= 400 and rep.ok, rep

    def test_store_keeps_perfdhcps_relay(self, kill_under_load):
        skip_for_kea(kill_under_load.kind)
        r = kill_under_load
        g = granted(r.msgs)
        peers = {r.stored[l.key]["relay_peer"] for _, l in g if l.key in r.stored}
        assert peers == {RELAY}, peers


# ---------------------------------------------------------------- rapid commit (RFC 8415 §18.3.1)

@pytest.fixture(scope="class")
def rapid_commit(request, tmp_path_factory, kind):
    """rapid-commit on in the server, dhclient -6 -N -P sending Rapid Commit: SOLICIT → REPLY."""
    with env6(request, tmp_path_factory) as s:
        t, procs = s.topo, s.procs
        caps, srv = start_relayed(s, kind, rapid_commit=True)
        client = make_dhclient6(t.client, t.client_if, s.artifacts / "dhclient6", address=True, prefix=True,
                                extra_conf="send dhcp6.rapid-commit;\n")
        na, pd = split_events(client.acquire(procs))
        keys = (na["new_ip6_address"], pd["new_ip6_prefix"])
        bound = {k: srv.wait_state(k, "active") for k in keys}
        pcaps = capture.stop_captures(caps)
        yield SimpleNamespace(kind=kind, keys=keys, bound=bound, pcaps=pcaps,
                              msgs=dhcp6.messages(pcaps["server"]))


class TestRapidCommit:
    def test_solicit_answered_by_a_reply_with_rapid_commit(self, rapid_commit):
        msgs = rapid_commit.msgs
        sols = relayed_from_client(msgs, ("SOLICIT",))
        assert sols and all(dhcp6.first(m.options, dhcp6.RAPID_COMMIT) == b"" for m in sols), sols
        reps = [m for m in replies_to_relay(msgs) if m.xid == sols[0].xid]
        assert [m.msg_type for m in reps] == ["REPLY"], [(m.msg_type, m.xid) for m in reps]
        assert dhcp6.first(reps[0].options, dhcp6.RAPID_COMMIT) == b"", reps[0].options
        assert {l.key for l in reps[0].leases() if l.valid > 0} == set(rapid_commit.keys)

    def test_no_advertise_no_request(self, rapid_commit):
        types = {m.msg_type for m in rapid_commit.msgs}
        assert "ADVERTISE" not in types and "REQUEST" not in types, types

    def test_store_has_both_active(self, rapid_commit):
        addr, prefix = rapid_commit.keys
        assert in_pool(addr) and in_pd_pool(prefix)
        assert rapid_commit.bound[addr]["ia_type"] == "ia-na" and rapid_commit.bound[prefix]["ia_type"] == "ia-pd"
        assert rapid_commit.bound[addr]["duid"] == rapid_commit.bound[prefix]["duid"]


# ---------------------------------------------------------------- a client on the server's link

@pytest.fixture(scope="class")
def direct(request, tmp_path_factory, kind):
    """No relay: dhclient -6 -N -P on the server's own link (`interfaces`, ff02::1:2), renew at
    T1 = 3 s, release."""
    with shared_setup(request, tmp_path_factory, TopologyDirect6) as s:
        t, procs, artifacts = s.topo, s.procs, s.artifacts
        cap = capture.start_capture(procs, t.server, t.server_if, artifacts / "direct-link.pcap", PORTS,
                                    name="tshark-direct")
        link = LinkSpec(t.net, t.pool, t.pd_pool, 56, interface=t.server_if)
        srv = start_server6(kind, procs, t.server, t.server_if, None, artifacts / kind, [link],
                            dns_servers=[DNS6], **SHORT)
        client = make_dhclient6(t.client, t.client_if, artifacts / "dhclient6", address=True, prefix=True)
        na, pd = split_events(client.acquire(procs))
        keys = (na["new_ip6_address"], pd["new_ip6_prefix"])
        bound = {k: srv.wait_state(k, "active") for k in keys}
        n = len(client.events())
        renew = split_events(client.wait_events(("RENEW6",), n=2, after=n, timeout=15))
        client.release(procs)
        released = {k: srv.wait_state(k, "released") for k in keys}
        pcaps = capture.stop_captures({"direct": cap})
        yield SimpleNamespace(kind=kind, topo=t, na=na, pd=pd, keys=keys, bound=bound, renew=renew,
                              released=released, pcaps=pcaps, msgs=dhcp6.messages(pcaps["direct"]),
                              client_ll=t.link_local(t.client, t.client_if),
                              server_ll=t.link_local(t.server, t.server_if))


class TestDirectClientOnServerLink:
    def test_client_gets_an_address_and_a_prefix_of_the_link(self, direct):
        t = direct.topo
        addr, prefix = direct.keys
        assert in_pool(addr, t.pool), direct.na
        assert in_pd_pool(prefix, ipaddress.IPv6Network(t.pd_pool), 56), direct.pd

    def test_client_gets_the_configured_dns_server(self, direct):
        assert direct.na.get("new_dhcp6_name_servers") == DNS6, direct.na

    def test_store_has_both_without_relay_data(self, direct):
        for k in direct.keys:
            b = direct.bound[k]
            assert b["duid"] == duid_hex(direct.na["new_dhcp6_client_id"]), b
            assert (b["relay_peer"], b["interface_id"], b["relay_chain"]) == (None, None, None), b

    def test_renew_keeps_both(self, direct):
        ev_na, ev_pd = direct.renew
        assert (ev_na["new_ip6_address"], ev_pd["new_ip6_prefix"]) == direct.keys

    def test_release_marks_both_released(self, direct):
        assert all(b["state"] == "released" for b in direct.released.values()), direct.released

    def test_client_multicasts_and_server_answers_its_link_local(self, direct):
        # RFC 8415 §18.2: to All_DHCP_Relay_Agents_and_Servers; the server answers the client's
        # link-local address (port 546) from an address of the interface, never a relay message
        msgs = direct.msgs
        from_client = [m for m in msgs if m.src == direct.client_ll]
        from_server = [m for m in msgs if m.src != direct.client_ll]
        assert {m.msg_type for m in from_client} == {"SOLICIT", "REQUEST", "RENEW", "RELEASE"}, from_client
        assert all(m.dst == "ff02::1:2" for m in from_client), [(m.msg_type, m.dst) for m in from_client]
        assert {m.msg_type for m in from_server} == {"ADVERTISE", "REPLY"}, from_server
        assert all(m.dst == direct.client_ll and not m.hops for m in from_server), \
            [(m.msg_type, m.src, m.dst) for m in from_server]
        assert {m.src for m in from_server} <= {direct.server_ll, direct.topo.server_addr}

    def test_capture_decodes_cleanly(self, direct):
        assert_decodes_cleanly(direct.pcaps, min_frames=8)


# ---------------------------------------------------------------- two relays in a row

IFINDEX2 = 9
INTERFACE_ID2 = IFINDEX2.to_bytes(4, sys.byteorder)


@pytest.fixture(scope="class")
def relay_chain(request, tmp_path_factory, kind):
    """dhclient -6 -N -P behind two ISC dhcrelay -6 -I in a row (the first, nearest the client,
    -l r0#7 -u 2001:db8:4::2%m0; the second -l m1#9 -u 2001:db8:2::2%r1), then a release."""
    with shared_setup(request, tmp_path_factory, TopologyChain6) as s:
        t, procs, artifacts = s.topo, s.procs, s.artifacts
        caps = {
            "client": capture.start_capture(procs, t.relay, t.relay_down_if, artifacts / "client-link.pcap",
                                            PORTS, name="tshark-client"),
            "server": capture.start_capture(procs, t.relay2, t.relay2_up_if, artifacts / "server-link.pcap",
                                            PORTS, name="tshark-server"),
        }
        srv = start_server6(kind, procs, t.server, t.server_if, SERVER, artifacts / kind, [CLIENT_LINK])
        start_dhcrelay6(procs, t.relay2, t.relay2_down_if, t.relay2_up_if, SERVER, artifacts / "dhcrelay2",
                        lower_index=IFINDEX2, name="dhcrelay6-2")
        start_dhcrelay6(procs, t.relay, t.relay_down_if, t.relay_up_if, A.RELAY2_DOWN_V6,
                        artifacts / "dhcrelay", lower_index=IFINDEX)
        client = make_dhclient6(t.client, t.client_if, artifacts / "dhclient6", address=True, prefix=True)
        na, pd = split_events(client.acquire(procs))
        keys = (na["new_ip6_address"], pd["new_ip6_prefix"])
        bound = {k: srv.wait_state(k, "active") for k in keys}
        client.release(procs)
        released = {k: srv.wait_state(k, "released") for k in keys}
        pcaps = capture.stop_captures(caps)
        yield SimpleNamespace(kind=kind, na=na, pd=pd, keys=keys, bound=bound, released=released,
                              pcaps=pcaps, msgs=dhcp6.messages(pcaps["server"]),
                              client_link=dhcp6.messages(pcaps["client"]))


class TestTwoRelaysInARow:
    def test_client_gets_an_address_and_a_prefix_of_the_client_link(self, relay_chain):
        # the link is the one of the relay nearest the client (link-address 2001:db8:1::1)
        addr, prefix = relay_chain.keys
        assert in_pool(addr) and in_pd_pool(prefix), relay_chain.keys

    def test_server_sees_two_hops(self, relay_chain):
        fw = relayed_from_client(relay_chain.msgs, ("SOLICIT", "REQUEST", "RELEASE"))
        assert {m.msg_type for m in fw} == {"SOLICIT", "REQUEST", "RELEASE"}, fw
        for m in fw:
            assert [(h.hop_count, h.link_address, dhcp6.first(h.options, dhcp6.INTERFACE_ID)) for h in m.hops] \
                == [(1, A.RELAY2_DOWN_V6, INTERFACE_ID2), (0, LINK_ADDRESS, INTERFACE_ID)], m.hops
            assert m.hops[0].peer_address == A.RELAY1_UP_V6

    def test_relay_repl_nests_both_hops_with_their_interface_ids(self, relay_chain):
        msgs = relay_chain.msgs
        fw = {m.xid: m for m in relayed_from_client(msgs, ("SOLICIT", "REQUEST", "RELEASE"))}
        reps = replies_to_relay(msgs)
        assert {m.msg_type for m in reps} == {"ADVERTISE", "REPLY"}, reps
        for m in reps:
            assert m.xid in fw and m.dst == RELAY, (m.xid, m.dst)
            assert [h.msg_type for h in m.hops] == ["RELAY-REPL", "RELAY-REPL"], m.hops
            for h, f in zip(m.hops, fw[m.xid].hops):
                assert (h.hop_count, h.link_address, h.peer_address) == \
                    (f.hop_count, f.link_address, f.peer_address), (h, f)
                assert dhcp6.first(h.options, dhcp6.INTERFACE_ID) == dhcp6.first(f.options, dhcp6.INTERFACE_ID)

    def test_the_client_gets_plain_replies(self, relay_chain):
        msgs = relay_chain.client_link
        assert {m.msg_type for m in msgs} >= {"ADVERTISE", "REPLY"} and not [m for m in msgs if m.hops]

    def test_release_marks_both_released(self, relay_chain):
        assert all(b["state"] == "released" for b in relay_chain.released.values()), relay_chain.released

    def test_store_keeps_both_hops(self, relay_chain):
        # relay_peer: the second relay (source of the outer RELAY-FORW); interface-id: the hop
        # nearest the client's; the chain: both hops' headers and options, the client's message
        # removed (docs/protocol.md)
        skip_for_kea(relay_chain.kind)
        r = relay_chain
        chains = {dhcp6.without_client_message(m.hops[0].raw).hex()
                  for m in relayed_from_client(r.msgs, ("REQUEST",))}
        assert len(chains) == 1, chains
        for k in r.keys:
            b = r.bound[k]
            assert b["relay_peer"] == RELAY, b
            assert b["interface_id"] == INTERFACE_ID.hex(), b
            assert b["relay_chain"] == next(iter(chains)), b
        chain = dhcp6.decode(bytes.fromhex(next(iter(chains))))
        assert len(chain.hops) == 2 and chain.msg_type == "?"

    def test_captures_decode_cleanly(self, relay_chain):
        assert_decodes_cleanly(relay_chain.pcaps, min_frames=6)


# ---------------------------------------------------------------- CONFIRM (RFC 8415 §18.2.3, §18.3.3)

WRONG_LINK_ADDRESS = "2001:db8:3::5"   # not on the client's link


@pytest.fixture(scope="class")
def confirm(request, tmp_path_factory, kind):
    """dhclient -6 -N gets an address and dies without releasing; started again it CONFIRMs the
    address (Success, kept); then its lease file is pointed at an address of another link: the
    CONFIRM is answered NotOnLink and the client solicits again."""
    with env6(request, tmp_path_factory) as s:
        t, procs = s.topo, s.procs
        caps, srv = start_relayed(s, kind)
        client = make_dhclient6(t.client, t.client_if, s.artifacts / "dhclient6", address=True)
        first = client.acquire(procs)[0]
        addr = first["new_ip6_address"]
        b1 = srv.wait_state(addr, "active")
        client.stop()
        again = client.acquire(procs)[0]
        client.stop()
        text = client.leasefile.read_text()
        moved = text.replace(f"iaaddr {addr} ", f"iaaddr {WRONG_LINK_ADDRESS} ")
        assert moved != text, text
        client.leasefile.write_text(moved)
        third = client.acquire(procs)[0]
        b3 = srv.wait_state(addr, "active")
        pcaps = capture.stop_captures(caps)
        yield SimpleNamespace(kind=kind, addr=addr, first=first, again=again, third=third, b1=b1, b3=b3,
                              pcaps=pcaps, msgs=dhcp6.messages(pcaps["server"]))


def confirm_replies(msgs):
    """(the relayed CONFIRM, the REPLY to it) pairs, in order."""
    out = []
    for c in relayed_from_client(msgs, ("CONFIRM",)):
        reps = [m for m in replies_to_relay(msgs) if m.msg_type == "REPLY" and m.xid == c.xid]
        out.append((c, reps[0] if reps else None))
    return out


class TestConfirm:
    def test_confirm_of_the_leased_address_is_success(self, confirm):
        pairs = confirm_replies(confirm.msgs)
        assert len(pairs) == 2, pairs
        c, rep = pairs[0]
        assert [l.key for l in c.leases()] == [confirm.addr]
        assert rep is not None and rep.status() == SUCCESS, rep

    def test_client_keeps_its_address_after_success(self, confirm):
        assert confirm.again["new_ip6_address"] == confirm.addr, confirm.again
        # CONFIRM's Success is the whole exchange: no new SOLICIT or REQUEST before the second one
        sols = relayed_from_client(confirm.msgs, ("SOLICIT",))
        confirms = relayed_from_client(confirm.msgs, ("CONFIRM",))
        assert not [m for m in sols if confirms[0].time < m.time < confirms[1].time], sols

    def test_confirm_of_another_links_address_is_not_on_link(self, confirm):
        c, rep = confirm_replies(confirm.msgs)[1]
        assert [l.key for l in c.leases()] == [WRONG_LINK_ADDRESS]
        assert rep is not None and rep.status() == 4, rep        # NotOnLink

    def test_then_the_client_solicits_and_gets_its_address_again(self, confirm):
        confirms = relayed_from_client(confirm.msgs, ("CONFIRM",))
        assert [m for m in relayed_from_client(confirm.msgs, ("SOLICIT",)) if m.time > confirms[1].time]
        assert confirm.third["new_ip6_address"] == confirm.addr, confirm.third
        assert confirm.b3["duid"] == confirm.b1["duid"]

    def test_captures_decode_cleanly(self, confirm):
        assert_decodes_cleanly(confirm.pcaps, min_frames=8)


# ---------------------------------------------------------------- a reservation by DUID

RESERVED_DUID = bytes.fromhex("00030001020000000001")          # DUID-LL, 02:00:00:00:00:01
RESERVED_ADDRESS = "2001:db8:1::10"                             # on the link, outside the pool
RESERVED_PREFIX = "2001:db8:100:ff00::/56"                      # one the link's PD pool delegates


@pytest.fixture(scope="class")
def reservation(request, tmp_path_factory, kind):
    """A client whose DUID has a reservation (dhclient's lease file names it as default-duid)
    gets the reserved address and prefix through the relay; a second client gets pool ones."""
    with env6(request, tmp_path_factory) as s:
        t, procs, artifacts = s.topo, s.procs, s.artifacts
        link = LinkSpec(CLIENT_LINK.prefix, CLIENT_LINK.pool, CLIENT_LINK.pd_pool, CLIENT_LINK.pd_len,
                        CLIENT_LINK.interface_id,
                        reservations=[(RESERVED_DUID, [RESERVED_ADDRESS], [RESERVED_PREFIX])])
        caps = {"server": capture.start_capture(procs, t.relay, t.relay_up_if, artifacts / "server-link.pcap",
                                                PORTS, name="tshark-server")}
        srv = start_server6(kind, procs, t.server, t.server_if, SERVER, artifacts / kind, [link])
        start_dhcrelay6(procs, t.relay, t.relay_down_if, t.relay_up_if, SERVER, artifacts / "dhcrelay",
                        lower_index=IFINDEX)
        reserved = make_dhclient6(t.client, t.client_if, artifacts / "reserved", name="reserved",
                                  address=True, prefix=True, duid=RESERVED_DUID)
        na, pd = split_events(reserved.acquire(procs))
        bound = {k: srv.wait_state(k, "active") for k in (na["new_ip6_address"], pd["new_ip6_prefix"])}
        reserved.release(procs)
        other = make_dhclient6(t.client, t.client_if, artifacts / "other", name="other", address=True,
                               prefix=True, duid=bytes.fromhex("00030001020000000002"))
        o_na, o_pd = split_events(other.acquire(procs))
        pcaps = capture.stop_captures(caps)
        yield SimpleNamespace(kind=kind, na=na, pd=pd, bound=bound, o_na=o_na, o_pd=o_pd, pcaps=pcaps,
                              msgs=dhcp6.messages(pcaps["server"]))


class TestReservationByDuid:
    def test_the_client_sends_the_reserved_duid(self, reservation):
        sent = {m.client_duid for m in relayed_from_client(reservation.msgs, ("SOLICIT", "REQUEST"))}
        assert RESERVED_DUID in sent, sent

    def test_it_gets_the_reserved_address_and_prefix(self, reservation):
        assert reservation.na["new_ip6_address"] == RESERVED_ADDRESS, reservation.na
        assert reservation.pd["new_ip6_prefix"] == RESERVED_PREFIX, reservation.pd

    def test_store_has_them_for_that_duid(self, reservation):
        for k in (RESERVED_ADDRESS, RESERVED_PREFIX):
            assert reservation.bound[k]["duid"] == RESERVED_DUID.hex(), reservation.bound[k]

    def test_another_client_gets_pool_ones(self, reservation):
        assert in_pool(reservation.o_na["new_ip6_address"]), reservation.o_na
        assert in_pd_pool(reservation.o_pd["new_ip6_prefix"]), reservation.o_pd
        assert reservation.o_pd["new_ip6_prefix"] != RESERVED_PREFIX
