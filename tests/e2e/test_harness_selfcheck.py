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
