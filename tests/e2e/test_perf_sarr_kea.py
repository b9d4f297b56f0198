"""`lessor perf sarr` against the real ISC Kea 2.2 kea-dhcp6 (and `lessor perf dora`
against kea-dhcp4): the generator is the relay, in its own namespace; Kea serves
a /64 address pool and a /48 prefix pool delegating /56s, with its memfile lease
file (persist = true), control socket and server-id in the test's directory.

The scenario runs once (module fixture); each check is its own test."""
from __future__ import annotations

import ipaddress
import json
from types import SimpleNamespace

import pytest

from harness import kea
from harness.lessor import lessor_bin
from harness.pair import GEN_V4, GEN_V6, SERVER_V4, SERVER_V6, GeneratorPair
from harness.shared import shared_setup

ADDRESS_POOL = ipaddress.ip_network("2001:db8:1::/64")
PD_POOL = ipaddress.ip_network("2001:db8:100::/48")
RELAY_ID = "00:02:00:00:0d:e9:70:65:72:66"          # DUID-EN 3561 "perf"
CLIENTS = 200


def perf_sarr(s, name, *args):
    p = s.procs.run(s.topo.gen, name, [
        str(lessor_bin()), "perf", "sarr", "--server", SERVER_V6, "--bind", f"[{GEN_V6}]:0",
        "--link-address", GEN_V6, "--timeout", "500ms", "--json", *args], timeout=60)
    return json.loads(p.stdout_path.read_text())


@pytest.fixture(scope="module")
def run(request, tmp_path_factory):
    if not kea.Path(kea.KEA_DHCP6).is_file():
        pytest.skip("kea-dhcp6 missing: run sudo scripts/e2e-deps.sh")
    with shared_setup(request, tmp_path_factory, GeneratorPair) as s:
        workdir = s.artifacts / "kea6"
        cfg = kea.config6(workdir, [f"{s.topo.server_if}/{SERVER_V6}"], [
            kea.Subnet6(str(ADDRESS_POOL), pools=[str(ADDRESS_POOL)],
                        pd_pools=[(str(PD_POOL), 56)])])
        server = kea.start_kea(s.procs, s.topo.server, workdir, cfg)
        bound = s.artifacts / "bound.txt"
        both = perf_sarr(s, "perf-sarr-both", "--ia", "both", "--clients", str(CLIENTS),
                         "--rate", "400", "--in-flight", "64", "--seed", "1",
                         "--interface-id", "ge-0/0/1", "--remote-id", "3561",
                         "--relay-id", RELAY_ID, "--bound-out", str(bound))
        leases = server.leases()
        replies = server.statistic("pkt6-reply-sent")
        # 56 /56s are left of the 256 in the /48: the next 100 clients (another seed, so other
        # DUIDs) get 56 and 44 ADVERTISEs without a prefix.
        pd = perf_sarr(s, "perf-sarr-pd", "--ia", "pd", "--clients", "100", "--seed",
                       str(1 << 40))
        server4 = kea.start_kea(s.procs, s.topo.server, s.artifacts / "kea4", kea.config4(
            s.artifacts / "kea4", [s.topo.server_if],
            [kea.Subnet4("192.0.2.0/24", pools=["192.0.2.100 - 192.0.2.150"])]))
        dora = s.procs.run(s.topo.gen, "perf-dora", [
            str(lessor_bin()), "perf", "dora", "--server", f"{SERVER_V4}:67",
            "--bind", f"{GEN_V4}:67", "--clients", "20", "--timeout", "500ms", "--json"],
            timeout=60)
        yield SimpleNamespace(both=both, pd=pd, leases=leases, replies=replies,
                              bound=bound.read_text().splitlines(), kea=server, workdir=workdir,
                              dora=json.loads(dora.stdout_path.read_text()),
                              leases4=server4.leases())


def test_every_sarr_completes(run):
    r = run.both
    assert (r["started"], r["completed"]) == (CLIENTS, CLIENTS), r
    assert (r["drops"], r["not_granted"], r["unexpected"], r["malformed"]) == (0, 0, 0, 0), r
    assert (r["addresses"], r["prefixes"]) == (CLIENTS, CLIENTS)
    assert r["latency_ms"]["sarr"]["count"] == CLIENTS
    assert r["offered_rate_per_s"] == pytest.approx(400, rel=0.01)


def test_kea_sent_one_reply_per_client(run):
    assert run.replies == CLIENTS


def test_addresses_from_the_64_prefixes_are_56s_of_the_48(run):
    addrs, prefixes = [], []
    for line in run.bound:
        duid, *leases = line.split()
        assert duid.startswith("00:03:00:01:02:")            # DUID-LL of a 02: MAC
        for lease in leases:
            (prefixes if "/" in lease else addrs).append(lease)
    assert len(set(addrs)) == len(addrs) == CLIENTS
    assert all(ipaddress.ip_address(a) in ADDRESS_POOL for a in addrs)
    nets = [ipaddress.ip_network(p) for p in prefixes]
    assert len(set(nets)) == len(nets) == CLIENTS
    assert all(n.prefixlen == 56 and n.subnet_of(PD_POOL) for n in nets)


def test_bound_out_matches_keas_lease_file(run):
    ours = set()
    for line in run.bound:
        duid, *leases = line.split()
        for lease in leases:
            ours.add((duid, lease))
    theirs = set()
    for row in run.leases:
        kind = int(row["lease_type"])
        lease = row["address"] if kind == kea.LEASE_NA else f"{row['address']}/{row['prefix_len']}"
        theirs.add((row["duid"], lease))
    assert ours == theirs


def test_prefix_pool_exhaustion_is_not_granted_not_dropped(run):
    # All 100 SOLICITs arrive at once (closed loop, 100 <= --in-flight): Kea advertises a free
    # prefix without holding it, so some clients learn at REQUEST time that it went to another.
    r = run.pd
    free = 256 - CLIENTS
    assert (r["completed"], r["prefixes"], r["addresses"]) == (free, free, 0), r
    assert r["not_granted"] == 100 - free, r
    assert (r["drops"], r["unfinished"]) == (0, 0), r


def test_kea_wrote_only_into_the_test_directory(run):
    names = {p.name for p in run.workdir.iterdir()}
    assert {"kea-dhcp6.json", "kea-dhcp6.leases.csv", "kea-dhcp6.sock"} <= names
    assert any(n.endswith(".pid") for n in names), names
    assert run.kea.lease_file.parent == run.workdir


def test_perf_dora_against_kea_dhcp4(run):
    r = run.dora
    assert (r["completed"], r["drops"], r["naks"]) == (20, 0, 0), r
    assert len(run.leases4) == 20
    assert all(ipaddress.ip_address(l["address"]) in ipaddress.ip_network("192.0.2.0/24")
               for l in run.leases4)
