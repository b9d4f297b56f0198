"""Checks of the harness itself (no DHCP daemons): decode checker, address
guard, stale-namespace sweep, process teardown."""
from __future__ import annotations

import subprocess
import sys

import pytest

from harness import addressing, capture, netns
from harness.util import run


def test_decode_check_flags_malformed(tmp_path):
    from scapy.all import BOOTP, DHCP, IP, UDP, Ether, Raw, wrpcap
    good = (Ether() / IP(src="192.0.2.1", dst="198.51.100.2") / UDP(sport=67, dport=67)
            / BOOTP(op=1) / DHCP(options=[("message-type", 1), "end"]))
    # magic cookie, then option 53 claiming 5 bytes with only 1 present
    bad = (Ether() / IP(src="192.0.2.1", dst="198.51.100.2") / UDP(sport=67, dport=67)
           / BOOTP(op=1) / Raw(b"\x63\x82\x53\x63\x35\x05\x01"))
    wrpcap(str(tmp_path / "good.pcap"), [good])
    wrpcap(str(tmp_path / "bad.pcap"), [good, bad])
    assert capture.check_decode(tmp_path / "good.pcap").ok
    rep = capture.check_decode(tmp_path / "bad.pcap")
    assert not rep.ok and rep.malformed and rep.expert == ["frame 2: Malformed Packet (Exception occurred)"]


def test_address_guard():
    assert addressing.check_allowed("192.0.2.7/24")
    assert addressing.check_allowed("2001:db8:1::5")
    for bad in ("10.0.0.1", "192.168.1.1/24", "8.8.8.8", "fd00::1"):
        with pytest.raises(ValueError):
            addressing.check_allowed(bad)


def test_sweep_removes_namespaces_of_dead_runs():
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait(timeout=10)
    name = f"{netns.PREFIX}{p.pid}-1-stale"          # that pid is gone now
    run(["ip", "netns", "add", name])
    (netns.NETNS_ETC / name).mkdir(parents=True, exist_ok=True)
    try:
        assert name in netns.sweep_stale()
        assert name not in run(["ip", "netns", "list"]).stdout
        assert not (netns.NETNS_ETC / name).exists()
    finally:
        run(["ip", "netns", "del", name], check=False)


def test_teardown_kills_processes_and_namespaces(topo4, procs):
    names = [ns.name for ns in topo4.namespaces]
    p = procs.start(topo4.relay, "sleeper", ["sleep", "300"])
    assert p.alive()
    # the server routes the client link back through the relay
    assert f"via {addressing.RELAY_UP_V4}" in topo4.server.ip("route", "get", addressing.POOL_V4[0]).stdout
    procs.stop_all()
    topo4.teardown()
    assert not p.alive()
    listed = run(["ip", "netns", "list"]).stdout
    assert not any(n in listed for n in names)
    assert not any((netns.NETNS_ETC / n).exists() for n in names)


def _campaign_seeds(avoid_mac=None):
    from harness import mutate4
    ids = mutate4.identities(4, avoid_mac=avoid_mac)
    for i, w in enumerate(ids):
        w.address = f"203.0.113.{64 + i}"
    return ids, mutate4.seeds(ids, server=addressing.SERVER_V4, giaddr="203.0.113.2",
                              legacy="203.0.113.3", unassigned_ip="203.0.113.120",
                              outside_ip="198.18.0.1")


def test_campaign_seeds_are_valid_dhcp():
    """Each seed of the live-server campaign (harness/mutate4.py) decodes as the DHCP message
    its name says, with every option whole (Scapy), before any mutation."""
    from scapy.all import BOOTP, DHCP
    from harness import mutate4
    _, seeds = _campaign_seeds()
    names = {"discover": 1, "offer": 2, "request": 3, "decline": 4, "release": 7, "inform": 8,
             "lq-bulk": 14, "lq-active": 16, "lq-tls": 18, "lq-by": 10, "legacy": 10}
    for s in seeds:
        raw = s.encode()
        p = BOOTP(raw)
        opts = dict(o for o in p[DHCP].options if isinstance(o, tuple))
        want = next(t for key, t in names.items() if key in s.name)
        assert opts["message-type"] == want, (s.name, opts)
        assert mutate4.message_type(raw) == want
        assert "end" in p[DHCP].options, s.name
        assert all(isinstance(o, tuple) or o in ("end", "pad") for o in p[DHCP].options), s.name
        assert s.channel in mutate4.CHANNELS


def test_campaign_mutations_are_reproducible_and_spare_the_clients_mac():
    from harness import mutate4
    ids, seeds = _campaign_seeds()
    protected = ids[1].mac          # a MAC the seeds carry: no mutated datagram may keep it
    a = mutate4.Mutator(seeds, seed=5, avoid_mac=protected).batch(20000)
    assert a == mutate4.Mutator(seeds, seed=5, avoid_mac=protected).batch(20000)
    assert a != mutate4.Mutator(seeds, seed=6, avoid_mac=protected).batch(20000)
    assert not [d for _, d in a if d[28:34] == protected]
    sizes = [len(d) for _, d in a]
    # whole Ethernet frames, or past the server's receive slot (counted there as truncated)
    assert all(n <= mutate4.MAX_DATAGRAM or n > mutate4.RECEIVE_SLOT for n in sizes)
    assert min(sizes) < 240 and any(n > mutate4.RECEIVE_SLOT for n in sizes)
    assert len({d for _, d in a}) > 19000   # nearly all distinct


def test_dhcp6_decode_and_relay_chain_stripping():
    from harness import dhcp6

    def opt(code, value):
        return code.to_bytes(2, "big") + len(value).to_bytes(2, "big") + value
    import ipaddress
    a = lambda s: ipaddress.IPv6Address(s).packed  # noqa: E731
    iaaddr = opt(dhcp6.IAADDR, a("2001:db8:1::1000") + (8).to_bytes(4, "big") + (12).to_bytes(4, "big"))
    iaprefix = opt(dhcp6.IAPREFIX, (8).to_bytes(4, "big") + (12).to_bytes(4, "big") + bytes([56]) + a("2001:db8:100::"))
    ia_na = opt(dhcp6.IA_NA, (9).to_bytes(4, "big") + (3).to_bytes(4, "big") + (5).to_bytes(4, "big") + iaaddr)
    ia_pd = opt(dhcp6.IA_PD, (9).to_bytes(4, "big") + (3).to_bytes(4, "big") + (5).to_bytes(4, "big") + iaprefix)
    reply = bytes([7, 0, 0, 42]) + opt(dhcp6.CLIENTID, b"\x00\x03\x00\x01\x02\x00\x00\x00\x00\x01") + ia_na + ia_pd
    inner = (bytes([13, 0]) + a("2001:db8:1::1") + a("fe80::1") + opt(dhcp6.INTERFACE_ID, b"in")
             + opt(dhcp6.RELAY_MSG, reply))
    outer = (bytes([13, 1]) + a("::") + a("2001:db8:2::1") + opt(dhcp6.INTERFACE_ID, b"out")
             + opt(dhcp6.RELAY_MSG, inner) + opt(37, b"\x00\x00\x00\x09rid"))
    m = dhcp6.decode(outer)
    assert [h.hop_count for h in m.hops] == [1, 0] and m.msg_type == "REPLY" and m.xid == 42
    assert m.interface_id() == b"in"            # the hop nearest the client
    assert [(l.ia_type, l.key, l.preferred, l.valid, l.t1, l.t2) for l in m.leases()] == [
        ("ia-na", "2001:db8:1::1000", 8, 12, 3, 5), ("ia-pd", "2001:db8:100::/56", 8, 12, 3, 5)]
    stripped = dhcp6.decode(dhcp6.without_client_message(outer))
    assert [h.options for h in stripped.hops] == [
        [(dhcp6.INTERFACE_ID, b"out"), (dhcp6.RELAY_MSG, inner[:34] + opt(dhcp6.INTERFACE_ID, b"in")),
         (37, b"\x00\x00\x00\x09rid")],
        [(dhcp6.INTERFACE_ID, b"in")]]
    assert stripped.msg_type == "?"            # no client message left


def test_topology6_addresses_usable_at_once(procs):
    t = netns.Topology6()
    try:
        for ns, ifn in ((t.client, t.client_if), (t.relay, t.relay_down_if), (t.server, t.server_if)):
            out = ns.ip("-6", "addr", "show", "dev", ifn).stdout
            assert "scope link" in out and "tentative" not in out, out
        # the server routes the client link and the delegated prefixes back through the relay
        assert f"via {addressing.RELAY_UP_V6}" in t.server.ip("-6", "route", "get", "2001:db8:100::1").stdout
        assert f"via {addressing.RELAY_UP_V6}" in t.server.ip("-6", "route", "get", addressing.POOL_V6[0]).stdout
    finally:
        t.teardown()
