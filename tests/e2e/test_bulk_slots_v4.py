"""Bulk leasequery slots cannot be held (issue 12, item 5; docs/leasequery.md, "Bulk
leasequery limits"): 1,000 idle or trickling TCP connections from four requester
addresses while a legitimate requester (`lessor bulk`, from a fifth address) gets its
whole answer and UDP leasequery p99 stays within twice its idle value.

The server holds 3,000 bindings of one relay-id (benches/gen_isc_leases.py, addresses
in 198.18.0.0/15: data in the store, never contacted), imported with `lessor leases
import --isc`. From the relay namespace, harness/tcp_hold.py keeps 1,000 connections
to the bulk port: idle ones, ones announcing a 65,535-octet frame and sending one
octet of it a second, and ones that ask one query and then do the same; each is opened
again 2 s after the server closes it (some 500 connections a second). The per-requester
cap refuses most at once; the first-query and frame deadlines (3 s here, to see several
rounds in a bounded run) close the others. Meanwhile `lessor bulk` must get all 3,000
bindings, and `lessor perf leasequery` (UDP, by IP; the median p99 of three runs) must
stay within max(2 x idle, idle + 5 ms): on a shared 2-CPU CI machine the attacker script,
the server and the load generator share the CPUs with whatever else runs, and a
sub-millisecond idle p99 doubles from scheduling noise alone, so a 5 ms floor (and the
median) keep the test about the server, not the machine.
"""
from __future__ import annotations

import ipaddress
import json
import re
import statistics
import sys
import time
from pathlib import Path

from harness import addressing
from harness.lessor import LessorServer, Subnet4, lessor_bin, write_config
from harness.util import run

BINDINGS = 3000
RELAY_ID = "relay-000000"
FIRST = ipaddress.IPv4Address("198.18.1.0")
LAST = FIRST + BINDINGS - 1
SERVER = addressing.SERVER_V4
LEGIT = addressing.RELAY_UP_V4
# the holders' addresses, beside the legitimate requester's on the relay's upstream link
HOLDERS = ["198.51.100.11", "198.51.100.12", "198.51.100.13", "198.51.100.14"]
DEADLINE = "3s"
REPO = Path(__file__).resolve().parents[2]
HOLD = Path(__file__).with_name("harness") / "tcp_hold.py"
GEN = REPO / "benches" / "gen_isc_leases.py"


def p99(t, procs, name: str) -> float:
    """UDP leasequery p99 (ms): 3,000 queries by IP, 8 in flight, from the legitimate
    requester's address."""
    p = procs.run(t.relay, name, [
        str(lessor_bin()), "perf", "leasequery", "--server", f"{SERVER}:67",
        "--bind", f"{LEGIT}:0", "--by", "ip", "--addresses", f"{FIRST}-{LAST}", "--random",
        "--queries", "3000", "--in-flight", "8", "--timeout", "1s", "--json"], timeout=30)
    out = json.loads(p.stdout_path.read_text().strip().splitlines()[-1])
    assert out["timeouts"] == 0, out
    return float(out["latency_ms"]["p99"])


def median_p99(t, procs, name: str) -> tuple:
    """The median of three p99s, and the three: one run's p99 on a shared machine swings by
    several times from other processes' bursts alone."""
    runs = [p99(t, procs, f"{name}-{i}") for i in range(3)]
    return statistics.median(runs), runs


def stats_of(log: str, service: str) -> dict:
    """The last "stats SERVICE: k=v ..." line of the server's log, as a dict."""
    lines = [l for l in log.splitlines() if f"stats {service}:" in l]
    assert lines, log[-3000:]
    return {k: int(v) for k, v in re.findall(r"([a-z0-9-]+)=(\d+)", lines[-1].split(": ", 1)[1])}


def test_held_slots_do_not_starve_a_requester_or_udp_leasequery(topo4, procs, artifacts):
    t = topo4
    for a in HOLDERS:
        t.relay.add_addr(t.relay_up_if, f"{a}/24")

    # 3,000 bindings of one relay-id, imported into a fresh store
    workdir = artifacts / "lessor"
    store = workdir / "lessor.db"
    conf = write_config(workdir / "lessor.toml", identifier=SERVER, store=store, listen=[SERVER],
                        relays=[str(addressing.SERVER_NET)], requesters=[str(addressing.SERVER_NET)],
                        bulk_listen=[SERVER],
                        # `lessor perf leasequery` asks from an unprivileged port
                        reply_to_source_port=[f"{LEGIT}/32"],
                        subnets=[Subnet4("198.18.0.0/15", (str(FIRST), str(LAST)))])
    text = conf.read_text()
    assert text.rstrip().endswith("port = 67"), text       # [leasequery4.bulk] comes last
    conf.write_text(text.rstrip() + f'\nframe-timeout = "{DEADLINE}"\n'
                    f'first-query-timeout = "{DEADLINE}"\n')
    leases = workdir / "dhcpd.leases"
    run([sys.executable, str(GEN), str(BINDINGS), str(leases), str(BINDINGS)])
    imp = run([str(lessor_bin()), "leases", "import", "--isc", str(leases), "--config", str(conf)],
              check=False)
    assert imp.returncode == 0, imp.stdout + imp.stderr
    srv = LessorServer(procs, t.server, conf, store)
    srv.check()
    srv.start()
    srv.proc.wait_output(f"bulk leasequery: listening on tcp {SERVER}:67", timeout=10)

    idle, idle_runs = median_p99(t, procs, "perf-idle")

    hold = procs.start(t.relay, "tcp-hold", [
        sys.executable, str(HOLD), "--server", f"{SERVER}:67", "--sources", ",".join(HOLDERS),
        "--connections", "1000", "--duration", "20", "--trickle-every", "1",
        "--reopen-after", "2"])
    try:
        # the holders ramp up over a second; by 4 s the first deadlines have fired
        time.sleep(4)
        legit = procs.run(t.relay, "bulk-legit", [
            str(lessor_bin()), "bulk", "relay-id", RELAY_ID, "--server", SERVER, "--json",
            "--timeout", "10s"], timeout=30, check=False)
        busy, busy_runs = median_p99(t, procs, "perf-busy")
        rc = hold.wait(40)
    finally:
        if hold.alive():
            hold.stop()
    assert rc == 0, hold.output()[-3000:]
    held = json.loads(hold.stdout_path.read_text().strip().splitlines()[-1])

    # the legitimate requester got every binding, once
    bindings = [json.loads(l) for l in legit.stdout_path.read_text().splitlines() if l.strip()]
    assert legit.popen.returncode == 0, legit.output()[-3000:]
    got = {b["address"] for b in bindings}
    assert len(bindings) == BINDINGS and len(got) == BINDINGS, (len(bindings), len(got))

    # UDP leasequery kept its latency
    limit = max(2 * idle, idle + 5.0)
    print(f"UDP leasequery p99 (median of 3): idle {idle:.3f} ms {idle_runs}, with 1,000 "
          f"holders {busy:.3f} ms {busy_runs} (limit {limit:.3f} ms); holders: {held}")
    assert busy <= limit, (idle_runs, busy_runs, held)

    # the holders were refused or closed, and never held a slot for long: at the end at most
    # their 8 slots (4 addresses x max-connections-per-requester 2) plus connections whose
    # refusal was still on its way
    assert held["opened"] >= 1000 and held["still_open_at_end"] <= 20, held
    assert sum(held["closed_later"].values()) > 0 and sum(held["closed_fast"].values()) > 0, held

    assert srv.stop() == 0
    bulk = stats_of(srv.output(), "bulk4")
    print("server:", bulk)
    assert bulk["refused-per-requester"] > 0, bulk
    assert bulk["closed-first-query-timeout"] > 0, bulk
    assert bulk["closed-frame-timeout"] > 0, bulk
    assert bulk["closed-finished"] >= 1, bulk
    assert bulk.get("closed-panic", 0) == 0, bulk
