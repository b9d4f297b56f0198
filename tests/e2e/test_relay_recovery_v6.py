"""`lessor relay` recovers its DHCPv6 table (issue 15): ISC `dhclient -6 -N -P` -> `lessor relay`
-> `lessor serve` with [dhcp6] and a [leasequery6] bulk listener (RFC 5460, TCP 547).

The client gets an address and a prefix through the relay, which gleans both; the relay is
killed (SIGKILL: its table is memory only) and started again with no client traffic. Its table is
rebuilt by bulk leasequery by its relay-id alone and equals what it was: the same address and
prefix, client DUID, interface, Interface-ID and Remote-Id, its times within a second or two,
origin "recovered". Then a relay that recovers nothing at start (`at-start = false`, as one whose
bulk recovery missed a binding) learns the address and the prefix on demand: `--lookup` sends a
UDP LEASEQUERY by address (RFC 5007) and merges the answer as "queried", the prefix for an
address inside it."""
from __future__ import annotations

import ipaddress
from types import SimpleNamespace

import pytest

from harness import addressing as A
from harness.isc6 import make_dhclient6
from harness.lessor import LessorServer, Link6, write_config6
from harness.netns import Topology6
from harness.relay import start_relay
from harness.server6 import LessorServer6
from harness.shared import shared_setup

SERVER = A.SERVER_V6
DOWN = "r0"
RELAY_ID = "00:03:00:01:02:00:00:06"
# What identifies an entry, whatever its origin.
SAME = ("bound", "client_id", "interface", "circuit_id", "circuit_id_hex", "remote_id", "remote_id_hex")


def lessor_with_bulk6(procs, t, workdir) -> LessorServer6:
    """`lessor serve` on SERVER with [dhcp6] for the client link and bulk leasequery on TCP 547,
    the relay's upstream address allowed to ask."""
    store = workdir / "lessor.db"
    conf = write_config6(workdir / "lessor.toml", store=store, listen=[SERVER],
                         links=[Link6(str(A.CLIENT_NET6), pools=[f"{A.POOL_V6[0]}-{A.POOL_V6[1]}"],
                                      prefix_pools=[(str(A.PD_POOL_V6), A.PD_LEN_V6)])])
    with conf.open("a") as f:
        f.write(f'\n[leasequery6]\nrequesters = ["{A.RELAY_UP_V6}/128"]\n\n'
                f'[leasequery6.bulk]\nlisten = ["{SERVER}"]\n')
    srv = LessorServer(procs, t.server, conf, store, name="lessor6", ready="DHCPv6 bulk leasequery: listening")
    srv.check()
    srv.start()
    return LessorServer6(srv)


def by_bound(shown: dict) -> dict:
    return {e["bound"]: e for e in shown["entries"]}


@pytest.fixture(scope="class")
def recovered(request, tmp_path_factory):
    with shared_setup(request, tmp_path_factory, Topology6) as s:
        t, procs = s.topo, s.procs
        srv = lessor_with_bulk6(procs, t, s.artifacts / "lessor6")
        relay = start_relay(procs, t, s.artifacts / "relay", servers6=[SERVER], relay_id=RELAY_ID)
        first_log = relay.proc.output()
        client = make_dhclient6(t.client, t.client_if, s.artifacts / "dhclient6", address=True, prefix=True)
        evs = client.acquire(procs)
        addr = [e for e in evs if "new_ip6_address" in e][0]["new_ip6_address"]
        prefix = [e for e in evs if "new_ip6_prefix" in e][0]["new_ip6_prefix"]
        for k in (addr, prefix):
            srv.wait_state(k, "active")
        before = relay.show()
        # The relay dies; nothing is relayed meanwhile (dhclient renews at T1, minutes away).
        relay = relay.restart("lessor-relay-2")
        after = relay.show()
        log = relay.proc.output()
        rc = relay.stop()
        # A relay that recovered nothing: what it is asked about, it asks the server.
        late = start_relay(procs, t, s.artifacts / "relay-late", servers6=[SERVER], relay_id=RELAY_ID,
                           recovery={"at-start": False})
        inside = str(ipaddress.IPv6Network(prefix)[0x1234])
        looked = {k: late.lookup(k) for k in (addr, inside)}
        late_show = late.show()
        late_log = late.proc.output()
        late_rc = late.stop()
        yield SimpleNamespace(addr=addr, prefix=prefix, before=before, after=after, log=log,
                              first_log=first_log, rc=rc, inside=inside, looked=looked,
                              late_show=late_show, late_log=late_log, late_rc=late_rc)


class TestRecovery6FromLessor:
    def test_the_first_start_asks_and_finds_nothing(self, recovered):
        r = recovered
        assert f"recovery: dhcp6 bulk leasequery by relay-id to [{SERVER}]:547" in r.first_log, r.first_log
        assert f"recovery: dhcp6 server [{SERVER}]:547: streamed=0 kept=0 retries=0 end=done" in r.first_log
        before = by_bound(r.before)
        assert {before[k]["origin"] for k in (r.addr, r.prefix)} == {"gleaned"}, r.before

    def test_the_address_and_the_prefix_come_back_as_they_were(self, recovered):
        r = recovered
        before, after = by_bound(r.before), by_bound(r.after)
        assert set(after) == set(before) == {r.addr, r.prefix}, (r.before, r.after)
        for k in (r.addr, r.prefix):
            was, now = before[k], after[k]
            assert {f: now[f] for f in SAME} == {f: was[f] for f in SAME}, (was, now)
            assert (now["interface"], now["circuit_id"]) == (DOWN, DOWN), now
            assert now["client_id"] and now["remote_id_hex"], now
            assert now["origin"] == "recovered", now
            assert abs(now["cltt"] - was["cltt"]) <= 2, (was, now)
            assert abs(now["expires"] - was["expires"]) <= 2, (was, now)

    def test_recovery_came_before_readiness_without_client_traffic(self, recovered):
        r = recovered
        assert f"recovery: dhcp6 server [{SERVER}]:547: streamed=2 kept=2 retries=0 end=done" in r.log, r.log
        assert "bindings=2 conflicts=0 merged=2 kept-newer=0 skipped=0 servers-failed=0" in r.log, r.log
        assert "recovery: dhcp4" not in r.log, r.log
        assert "relay ready:" in r.log and "; 2 entries" in r.log, r.log
        c = r.after["counters"]
        assert c["recovered"] == 2, c
        assert c["dhcp6"]["forwarded_to_servers"] == 0, "no client traffic"

    def test_a_clean_stop(self, recovered):
        assert recovered.rc == 0


class TestOnDemand6FromLessor:
    def test_the_address_and_the_prefix_are_learnt_on_demand(self, recovered):
        r = recovered
        assert "recovery: off" in r.late_log, r.late_log
        assert f"dhcp6: on-demand leasequery to [{SERVER}]:547" in r.late_log, r.late_log
        before = by_bound(r.before)
        for asked, bound in ((r.addr, r.addr), (r.inside, r.prefix)):
            code, a = r.looked[asked]
            assert code == 0, a
            assert (a["source"], a["leasequery"]["said"]) == ("leasequery", "active"), a
            e = a["entry"]
            assert e["origin"] == "queried", e
            assert {f: e[f] for f in SAME} == {f: before[bound][f] for f in SAME}, (before[bound], e)
            assert abs(e["cltt"] - before[bound]["cltt"]) <= 2, (before[bound], e)
        c = r.late_show["counters"]
        assert (c["queried"], c["recovered"]) == (2, 0), c
        assert set(by_bound(r.late_show)) == {r.addr, r.prefix}, r.late_show
        assert r.late_rc == 0
