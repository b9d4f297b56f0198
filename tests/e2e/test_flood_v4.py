"""Issue 12 item 7 end to end: a DHCPDISCOVER flood from one hardware address on a served link
(Scapy) is held to the per-client rate limit while a real ISC dhclient on the same link gets
its lease, and lessor says so in its log."""
from __future__ import annotations

import ipaddress
import re
import threading
from types import SimpleNamespace

import pytest

from harness.isc import make_dhclient
from harness.lessor import Subnet4, start_lessor
from harness.netns import TopologyDirect4
from harness.scapy_runner import scapy_flood
from harness.shared import shared_setup

FLOOD_MAC = "02:00:00:00:0f:01"
COUNT = 2000
# [dhcp4.rate-limit] defaults: per-client 10 per second, burst 20
PER_CLIENT, BURST = 10, 20


@pytest.fixture(scope="module")
def flood(request, tmp_path_factory):
    with shared_setup(request, tmp_path_factory, TopologyDirect4) as s:
        t, procs, artifacts = s.topo, s.procs, s.artifacts
        srv = start_lessor(procs, t.server, artifacts / "lessor", identifier=t.server_addr,
                           listen=[t.server_addr], interfaces=[t.server_if],
                           subnets=[Subnet4(t.net, t.pool, routers=t.server_addr)])
        result = {}

        def run_flood():
            result["flood"] = scapy_flood(t.client, t.client_if, FLOOD_MAC, count=COUNT,
                                          log=artifacts / "scapy.log")
        flooder = threading.Thread(target=run_flood)
        flooder.start()
        client = make_dhclient(t.client, t.client_if, artifacts / "dhclient")
        ev = client.acquire(procs)
        flooder.join(180)
        addr = ev["new_ip_address"]
        b = srv.wait_state(addr, "active")
        stop_rc = srv.stop()
        yield SimpleNamespace(topo=t, ev=ev, addr=addr, binding=b, flood=result.get("flood"),
                              log=srv.output(), stop_rc=stop_rc)


def test_the_real_client_gets_its_lease_during_the_flood(flood):
    lo, hi = (ipaddress.ip_address(a) for a in flood.topo.pool)
    assert flood.ev["reason"] == "BOUND"
    assert lo <= ipaddress.ip_address(flood.addr) <= hi
    assert flood.binding["mac"] != FLOOD_MAC


def test_the_flooding_address_gets_its_burst_and_its_rate_only(flood):
    f = flood.flood
    assert f is not None and f["sent"] == COUNT, f
    # the burst, then 10 per second while it lasted (and a second of slack for the linger)
    most = BURST + PER_CLIENT * (int(f["seconds"]) + 2)
    assert 1 <= f["offers"] <= most, f


def test_the_log_says_what_was_refused_and_where_to_change_it(flood):
    lines = [l for l in flood.log.splitlines() if "warning: dhcp4:" in l]
    assert lines, flood.log[-3000:]
    assert "rate-limited-client" in lines[0] and "[dhcp4.rate-limit]" in lines[0], lines
    m = re.search(r"dropped-rate-limited-client=(\d+)", flood.log)
    assert m and int(m.group(1)) >= COUNT - BURST - PER_CLIENT * (int(flood.flood["seconds"]) + 2), \
        flood.log[-3000:]


def test_server_stops_cleanly(flood):
    assert flood.stop_rc == 0
