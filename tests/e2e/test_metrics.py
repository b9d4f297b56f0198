"""`[metrics]` under load (issue 16, item 1; docs/operator-guide.md, "Metrics"): `lessor serve`
in the server namespace with its Prometheus endpoint on the server link; `lessor perf dora` from the
relay namespace (giaddr 192.0.2.1, the relay's client-side address) makes 10,000 clients go through
DORA while /metrics is scraped with curl; then `lessor perf leasequery` asks 500 queries by IP. The
counters must equal what the generators report: exactly where perf counts exactly (DISCOVERs,
REQUESTs, OFFERs, ACKs when nothing was sent twice; every leasequery and its answer kind), and the
sockets' and router's totals must add up with them. The scrapes during the load must parse, and
no counter may go down between two of them (the dashboard's metrics are checked by the unit tests
of crates/server/src/metrics).
"""
from __future__ import annotations

import json
import re
import time

from harness import addressing
from harness.lessor import LessorServer, Subnet4, lessor_bin, write_config

SERVER = addressing.SERVER_V4
GIADDR = addressing.RELAY_DOWN_V4
REQUESTER = addressing.RELAY_UP_V4
PORT = 9420
CLIENTS = 10000
QUERIES = 500
SAMPLE = re.compile(r'^([a-z_][a-z0-9_]*)(\{[^}]*\})? (\S+)$')


def scrape(t) -> tuple:
    """(samples "name{labels}" -> value, families declared by # TYPE) of one GET /metrics."""
    cp = t.server.run("curl", "-sS", "--max-time", "10", "-D", "-",
                      f"http://{SERVER}:{PORT}/metrics", timeout=20)
    # the harness reads output as text: the head's CRLFs may arrive as LFs
    head, body = re.split(r"\r?\n\r?\n", cp.stdout, maxsplit=1)
    assert head.startswith("HTTP/1.1 200"), head
    assert "text/plain; version=0.0.4" in head, head
    samples, declared = {}, set()
    for line in body.splitlines():
        if line.startswith("# TYPE "):
            declared.add(line.split()[2])
            continue
        if line.startswith("#") or not line:
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        samples[m.group(1) + (m.group(2) or "")] = float(m.group(3).replace("+Inf", "inf"))
    return samples, declared


def test_metrics_count_what_the_generators_sent(topo4, procs, artifacts):
    t = topo4
    workdir = artifacts / "lessor"
    store = workdir / "lessor.db"
    conf = write_config(workdir / "lessor.toml", identifier=SERVER, store=store, listen=[SERVER],
                        relays=[str(addressing.CLIENT_NET)],
                        requesters=[str(addressing.SERVER_NET)],
                        reply_to_source_port=[f"{REQUESTER}/32"],
                        subnets=[Subnet4(str(addressing.CLIENT_NET),
                                         ("192.0.2.10", "192.0.2.250"))])
    # room for every perf client (the client link's 241 addresses would run out): a /18 of
    # 198.18.0.0/15, chosen by perf's link-selection
    text = conf.read_text().replace(
        "[leasequery4]",
        '[[dhcp4.subnet]]\nprefix = "198.18.0.0/18"\npools = ["198.18.0.10-198.18.63.250"]\n\n'
        "[leasequery4]", 1)
    conf.write_text(text + f'\n[metrics]\nlisten = "{SERVER}:{PORT}"\n')
    srv = LessorServer(procs, t.server, conf, store)
    srv.check()
    srv.start()
    srv.proc.wait_output(f"metrics: listening on http://{SERVER}:{PORT}/metrics", timeout=10)

    before, _ = scrape(t)
    assert before['lessor_build_info{version="0.1.0"}'] == 1.0, before
    assert before['lessor_dhcp4_subnet_addresses{subnet="192.0.2.0/24"}'] == 241.0, before

    dora = procs.start(t.relay, "perf-dora", [
        str(lessor_bin()), "perf", "dora", "--server", f"{SERVER}:67", "--giaddr", GIADDR,
        "--bind", f"{GIADDR}:67", "--link-selection", "198.18.0.1",
        "--clients", str(CLIENTS), "--in-flight", "32", "--duration", "60s", "--json"])
    # Scrapes while the load runs: each parses, and no counter goes down.
    last = before
    scrapes = 0
    deadline = time.monotonic() + 90
    while dora.alive() and time.monotonic() < deadline:
        now, _ = scrape(t)
        scrapes += 1
        for series, v in last.items():
            if "_total" in series and series in now:
                assert now[series] >= v, (series, v, now[series])
        last = now
        time.sleep(0.2)
    assert dora.wait(30) == 0, dora.output()[-3000:]
    assert scrapes >= 1
    report = json.loads(dora.stdout_path.read_text().strip().splitlines()[-1])
    assert report["completed"] == CLIENTS, report
    assert report["naks"] == 0 and report["drops"] == 0 and report["unfinished"] == 0, report

    lq = procs.run(t.relay, "perf-leasequery", [
        str(lessor_bin()), "perf", "leasequery", "--server", f"{SERVER}:67",
        "--bind", f"{REQUESTER}:0", "--by", "ip", "--addresses", "198.18.0.10-198.18.3.250",
        "--queries", str(QUERIES), "--in-flight", "8", "--timeout", "1s", "--json"], timeout=60)
    lqr = json.loads(lq.stdout_path.read_text().strip().splitlines()[-1])
    assert lqr["sent"] == QUERIES and lqr["timeouts"] == 0, lqr

    m, _ = scrape(t)

    def v(series: str) -> float:
        assert series in m, f"{series} not in the scrape"
        return m[series]

    # DHCPv4: what perf sent is what the router received, type by type.
    retrans = report["retransmissions"]
    discovers = v('lessor_dhcp4_received_messages_total{type="dhcpdiscover"}')
    requests = v('lessor_dhcp4_received_messages_total{type="dhcprequest"}')
    offers = v('lessor_dhcp4_sent_messages_total{type="dhcpoffer"}')
    acks = v('lessor_dhcp4_sent_messages_total{type="dhcpack"}')
    assert discovers + requests == 2 * CLIENTS + retrans, (discovers, requests, report)
    if retrans == 0:
        assert (discovers, offers, requests, acks) == (CLIENTS,) * 4, m
    else:
        assert acks >= CLIENTS and offers >= CLIENTS, (offers, acks, report)
    assert v('lessor_dhcp4_sent_messages_total{type="dhcpnak"}') == 0
    assert v('lessor_dhcp4_routed_messages_total{to="dhcp"}') == discovers + requests

    # Leasequery: every query, by key and by requester, and each answer kind as perf counted.
    assert v("lessor_leasequery4_received_queries_total") == QUERIES
    assert v('lessor_leasequery4_queries_total{key="ip"}') == QUERIES
    assert v(f'lessor_leasequery4_requester_queries_total{{requester="{REQUESTER}"}}') == QUERIES
    assert v(f'lessor_leasequery4_requester_rate_limited_total{{requester="{REQUESTER}"}}') == 0
    for kind in ("active", "unassigned", "unknown"):
        assert v(f'lessor_leasequery4_sent_messages_total{{type="dhcplease{kind}"}}') == lqr[kind]

    # The sockets saw everything the router routed, and sent every reply.
    routed = discovers + requests + QUERIES
    assert v("lessor_udp4_received_datagrams_total") == routed
    sent = sum(val for s, val in m.items() if s.startswith("lessor_udp4_sent_datagrams_total"))
    assert sent == offers + acks + QUERIES, (sent, offers, acks)

    # The store made the ACKed bindings durable; the pools show them.
    commits = v("lessor_store_commits_total")
    assert commits >= 1 and v("lessor_store_commit_duration_seconds_count") == commits
    assert v('lessor_store_commit_duration_seconds_bucket{le="+Inf"}') == commits
    assert v("lessor_store_changes_total") >= CLIENTS
    assert v('lessor_dhcp4_subnet_assigned_addresses{subnet="198.18.0.0/18"}') == CLIENTS
    assert v('lessor_dhcp4_bindings{state="active"}') == CLIENTS
    assert v("lessor_store_healthy") == 1

    srv.stop()
    assert "stopped" in srv.output()
