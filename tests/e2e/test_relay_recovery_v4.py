"""`lessor relay` recovers its table (issue 15): ISC dhclient -> `lessor relay` -> `lessor serve`.

The client gets a lease through the relay, which gleans it; the relay is killed (SIGKILL: its
table is memory only) and started again with no client traffic. Its table is rebuilt by bulk
leasequery alone, by its relay-id, and equals what it was: same address, client, interface,
circuit-id and remote-id, its times within a second or two, origin "recovered".

Then two `lessor serve` holding overlapping bindings of the relay-id with different
client-last-transaction-times (the second seeded with `lessor leases import`): each address is
taken from the server that heard its client last.

Then ISC dhcpd 4.4.3, which has no bulk leasequery: recovery reports the server given up and the
table stays empty; `lessor relay --lookup` of the client's address recovers the entry by UDP
leasequery (dhcpd's `allow leasequery;`), and `--verify` answers from the table."""
from __future__ import annotations

import socket
from types import SimpleNamespace

import pytest

from harness import addressing
from harness.isc import make_dhclient, start_dhcpd
from harness.lessor import LessorServer, Subnet4, write_config
from harness.netns import Topology4
from harness.relay import start_relay, write_relay_config
from harness.shared import shared_setup
from harness.util import run
from harness.lessor import lessor_bin

SERVER = addressing.SERVER_V4
GIADDR = addressing.RELAY_DOWN_V4
RELAY_ID = "00:01:02:03:04:05"
# The relay's bulk connections leave from its upstream address, its UDP leasequeries from giaddr.
REQUESTERS = [f"{GIADDR}/32", f"{addressing.RELAY_UP_V4}/32"]

OLD = "3 2025/01/01 00:00:00"
NEW = "0 2025/06/01 00:00:00"
OLD_UNIX = 1_735_689_600
NEW_UNIX = 1_748_736_000

# What identifies an entry, whatever its origin.
SAME = ("bound", "htype", "hardware", "client_id", "interface", "circuit_id", "circuit_id_hex",
        "remote_id", "remote_id_hex")


def isc_leases(iface: str, leases) -> str:
    """A dhcpd.leases file: (address, MAC's last octet, cltt) of the relay's clients behind
    `iface`, with its relay-id."""
    relay_id = ":".join(f"{int(b, 16):x}" for b in RELAY_ID.split(":"))
    out = "authoring-byte-order little-endian;\n\n"
    for addr, mac, cltt in leases:
        out += (f"lease {addr} {{\n  starts {cltt};\n  ends 4 2100/11/25 22:54:04;\n  cltt {cltt};\n"
                f"  binding state active;\n  hardware ethernet 02:00:00:00:00:{mac:02x};\n"
                f"  option agent.circuit-id \"{iface}\";\n  option agent.remote-id \"seed-{mac:02x}\";\n"
                f"  option agent.relay-id {relay_id};\n}}\n")
    return out


def lessor_with_bulk(procs, t, workdir, *, name: str, port: int, seed=None) -> LessorServer:
    """`lessor serve` on SERVER:`port` with bulk leasequery on TCP `port`, its store imported
    from the dhcpd.leases text `seed` first when given."""
    workdir.mkdir(parents=True, exist_ok=True)
    store = workdir / f"{name}.db"
    conf = write_config(workdir / f"{name}.toml", identifier=GIADDR, store=store,
                        subnets=[Subnet4(str(addressing.CLIENT_NET), addressing.POOL_V4, routers=GIADDR)],
                        listen=[SERVER], relays=[str(addressing.CLIENT_NET)], port=port,
                        requesters=REQUESTERS, bulk_listen=[SERVER], bulk_port=port)
    if seed is not None:
        leases = workdir / f"{name}.leases"
        leases.write_text(seed)
        run([str(lessor_bin()), "leases", "import", "--isc", str(leases), "--config", str(conf)])
    srv = LessorServer(procs, t.server, conf, store, name=name, ready="bulk leasequery: listening")
    srv.check()
    srv.start()
    return srv


def by_address(shown: dict) -> dict:
    return {e["bound"]: e for e in shown["entries"]}


def pool(i: int) -> str:
    """The i-th address from the top of the pool (dhclient gets one from the bottom)."""
    import ipaddress
    return str(ipaddress.ip_address(addressing.POOL_V4[1]) - i)


@pytest.fixture(scope="class")
def with_lessor(request, tmp_path_factory):
    with shared_setup(request, tmp_path_factory, Topology4) as s:
        t, procs = s.topo, s.procs
        iface = t.relay_down_if
        # A: the server the relay forwards to. It also holds Y, heard long ago.
        a = lessor_with_bulk(procs, t, s.artifacts / "a", name="lessor-a", port=67,
                             seed=isc_leases(iface, [(pool(10), 0xa1, OLD)]))
        relay = start_relay(procs, t, s.artifacts / "relay", servers4=[SERVER], relay_id=RELAY_ID)
        first_log = relay.proc.output()
        client = make_dhclient(t.client, t.client_if, s.artifacts / "dhclient")
        ev = client.acquire(procs)
        addr = ev["new_ip_address"]
        a.wait_state(addr, "active")
        before = relay.show()
        # The relay dies; nothing is relayed meanwhile (dhclient renews at T1, minutes away).
        relay = relay.restart("lessor-relay-2")
        one = relay.show()
        one_log = relay.proc.output()
        # B: a second server holding X from long ago (another client), Y heard more recently
        # than A heard it, and Z.
        b = lessor_with_bulk(procs, t, s.artifacts / "b", name="lessor-b", port=6767,
                             seed=isc_leases(iface, [(addr, 0xb0, OLD), (pool(10), 0xb1, NEW),
                                                     (pool(11), 0xb2, OLD)]))
        write_relay_config(relay.config, state_dir=relay.state_dir,
                           dhcp4={"servers": [SERVER], "remote-id": "{hostname}:{interface}",
                                  "interface": [{"name": iface}]},
                           relay_id=RELAY_ID,
                           recovery={"servers4": [f"{SERVER}:67", f"{SERVER}:6767"]})
        relay = relay.restart("lessor-relay-3")
        two = relay.show()
        two_log = relay.proc.output()
        rc = relay.stop()
        yield SimpleNamespace(topo=t, addr=addr, mac=ev.get("mac"), before=before, one=one,
                              one_log=one_log, two=two, two_log=two_log, first_log=first_log,
                              rc=rc, y=pool(10), z=pool(11), b_output=b.output())


class TestRecoveryFromLessor:
    def test_the_first_start_recovers_nothing_of_the_client(self, with_lessor):
        r = with_lessor
        # A held Y already: the first start recovered it.
        assert f"recovery: dhcp4 server {SERVER}:67: streamed=1 kept=1 retries=0 end=done" in r.first_log, r.first_log
        assert r.before["entries"], r.before
        assert by_address(r.before)[r.addr]["origin"] == "gleaned"

    def test_the_table_is_rebuilt_by_bulk_leasequery_alone_and_equals_what_it_was(self, with_lessor):
        r = with_lessor
        before, after = by_address(r.before), by_address(r.one)
        assert set(after) == set(before), (r.before, r.one)
        was, now = before[r.addr], after[r.addr]
        assert {k: now[k] for k in SAME} == {k: was[k] for k in SAME}, (was, now)
        assert now["interface"] == r.topo.relay_down_if
        assert now["circuit_id"] == r.topo.relay_down_if
        assert now["remote_id"] == f"{socket.gethostname()}:{r.topo.relay_down_if}"
        assert now["origin"] == "recovered"
        assert abs(now["cltt"] - was["cltt"]) <= 2, (was, now)
        assert abs(now["expires"] - was["expires"]) <= 2, (was, now)
        assert r.one["counters"]["recovered"] == 2
        assert r.one["counters"]["dhcp4"]["forwarded_to_servers"] == 0, "no client traffic"
        assert f"recovery: dhcp4 server {SERVER}:67: streamed=2 kept=2 retries=0 end=done" in r.one_log
        assert "relay ready:" in r.one_log and "; 2 entries" in r.one_log, r.one_log

    def test_two_servers_overlapping_bindings_are_settled_by_cltt(self, with_lessor):
        r = with_lessor
        got = by_address(r.two)
        assert set(got) == {r.addr, r.y, r.z}, r.two
        # X: A heard the client now, B long ago. Y: B more recently than A. Z: B only.
        assert {k: got[r.addr][k] for k in SAME} == {k: by_address(r.one)[r.addr][k] for k in SAME}
        assert got[r.y]["hardware"] == "02:00:00:00:00:b1" and got[r.y]["cltt"] == NEW_UNIX
        assert got[r.y]["remote_id"] == "seed-b1"
        assert got[r.z]["hardware"] == "02:00:00:00:00:b2" and got[r.z]["cltt"] == OLD_UNIX
        for e in got.values():
            assert (e["origin"], e["interface"]) == ("recovered", r.topo.relay_down_if), e
        assert f"recovery: dhcp4 server {SERVER}:6767: streamed=3 kept=2 retries=0 end=done" in r.two_log, r.two_log
        assert f"recovery: dhcp4 server {SERVER}:67: streamed=2 kept=1 retries=0 end=done" in r.two_log, r.two_log
        assert "bindings=3 conflicts=2 merged=3" in r.two_log, r.two_log

    def test_a_clean_stop(self, with_lessor):
        assert with_lessor.rc == 0


@pytest.fixture(scope="class")
def with_dhcpd(request, tmp_path_factory):
    with shared_setup(request, tmp_path_factory, Topology4) as s:
        t, procs = s.topo, s.procs
        dhcpd = start_dhcpd(procs, t.server, t.server_if, s.artifacts / "dhcpd")
        # dhcpd listens for no bulk leasequery: given up after 1 s + 2 s of backoff.
        recovery = {"max-retry": "2s", "ready-after": "8s"}
        relay = start_relay(procs, t, s.artifacts / "relay", servers4=[SERVER], relay_id=RELAY_ID,
                             recovery=recovery)
        client = make_dhclient(t.client, t.client_if, s.artifacts / "dhclient")
        ev = client.acquire(procs)
        addr = ev["new_ip_address"]
        dhcpd.wait_binding_state(addr, "active")
        before = relay.show()
        relay = relay.restart("lessor-relay-2")
        log = relay.proc.output()
        empty = relay.show()
        looked = relay.lookup(addr)
        verified = relay.verify(t.relay_down_if, addr)
        after = relay.show()
        # An address dhcpd has not leased: UNASSIGNED, then the negative cache.
        free = pool(0)
        unassigned = relay.lookup(free)
        cached = relay.lookup(free)
        counters = relay.show()["counters"]
        rc = relay.stop()
        yield SimpleNamespace(topo=t, addr=addr, before=before, log=log, empty=empty, looked=looked,
                              verified=verified, after=after, unassigned=unassigned, cached=cached,
                              counters=counters, rc=rc, dhcpd_log=dhcpd.proc.output())


class TestRecoveryFromIscDhcpd:
    def test_recovery_reports_the_server_without_bulk_and_the_table_stays_empty(self, with_dhcpd):
        r = with_dhcpd
        assert f"recovery: dhcp4 server {SERVER}:67: streamed=0 kept=0 retries=2 given up: cannot connect" in r.log, r.log
        assert "servers-failed=1" in r.log, r.log
        assert r.empty["entries"] == [], r.empty

    def test_lookup_recovers_the_entry_by_udp_leasequery(self, with_dhcpd):
        r = with_dhcpd
        code, a = r.looked
        assert code == 0, a
        assert a["source"] == "leasequery" and a["leasequery"]["said"] == "active", a
        was = by_address(r.before)[r.addr]
        now = a["entry"]
        assert now["origin"] == "queried"
        for k in ("bound", "hardware", "interface", "circuit_id", "remote_id"):
            assert now[k] == was[k], (k, was, now)
        assert r.after["counters"]["queried"] == 1

    def test_verify_answers_from_the_recovered_entry(self, with_dhcpd):
        assert with_dhcpd.verified == (0, "yes: bound to this client behind this interface")

    def test_an_unleased_address_is_negatively_cached(self, with_dhcpd):
        r = with_dhcpd
        assert r.unassigned[0] == 1 and r.unassigned[1]["leasequery"]["said"] == "unassigned", r.unassigned
        assert r.cached[1]["leasequery"] == {"said": "unassigned", "from_cache": True,
                                              "server": f"{SERVER}:67"}, r.cached
        assert r.counters["cache_hits"] == 1

    def test_a_clean_stop(self, with_dhcpd):
        assert with_dhcpd.rc == 0
