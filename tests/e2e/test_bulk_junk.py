"""Junk over TCP on several connections at once against `lessor serve`'s bulk leasequery
listeners, DHCPv6 (RFC 5460) and DHCPv4 (RFC 6926), from harness/bulk_junk.py (one generator
for both families): random octets, a frame size of 0, a 65,535-octet frame announced but cut
short, a well-formed message that is not a query, a query whose options do not parse, (DHCPv6) a
LEASEQUERY whose options parse but ask nothing, and half a query then silence; meanwhile a
well-formed bulk query on another connection gets its whole answer.

What each must get (docs/protocol.md decisions 1 and 25): a frame that is no message of the
family, or (DHCPv6) any message but LEASEQUERY, closes the connection at once without a reply
(`closed-junk`); a frame that never completes is closed by data-timeout (`closed-data-timeout`;
2 s here); a DHCPv6 LEASEQUERY that parses is answered (MalformedQuery) and its connection stays
open; in DHCPv4 a well-formed frame whose message is not a DHCPBULKLEASEQUERY, or whose options
do not parse, is refused with a DHCPLEASEQUERYDONE carrying a status and the connection stays
open. Afterwards the server is still up, answers UDP leasequery, and its `stats bulk6` /
`stats bulk4` line counts each close.

Addresses: DHCPv6 2001:db8:1::/64 (the generator, its own relay) and 2001:db8:2::/64 (server);
DHCPv4 198.18.1.0 up (imported leases, never contacted), 198.51.100.0/24 server link."""
from __future__ import annotations

import ipaddress
import json
import re
import sys
from pathlib import Path

from harness import addressing
from harness.bulk6_tools import leasequery
from harness.bulk_junk import v4_message
from harness.lessor import LessorServer, Link6, Subnet4, lessor_bin, write_config, write_config6
from harness.pair import GEN_V6, SERVER_V6
from harness.util import run

JUNK = Path(__file__).with_name("harness") / "bulk_junk.py"
GEN = Path(__file__).resolve().parents[2] / "benches" / "gen_isc_leases.py"
RELAY_ID6 = "0003000102000000aa01"
DATA_TIMEOUT = 2.0
# closed "at once": well before data-timeout could have done it
AT_ONCE = 1.5


def stats_of(log: str, service: str) -> dict:
    """The last "stats SERVICE: k=v ..." line of the server's log, as a dict."""
    lines = [line for line in log.splitlines() if f"stats {service}:" in line]
    assert lines, log[-3000:]
    return {k: int(v) for k, v in re.findall(r"([A-Za-z0-9-]+)=(\d+)", lines[-1].split(": ", 1)[1])}


def run_junk(procs, ns, family: int, server: str, port: int, good: bytes, done_type: int) -> dict:
    p = procs.run(ns, f"bulk-junk{family}", [
        sys.executable, str(JUNK), "--family", str(family), "--server", server, "--port", str(port),
        "--good-hex", good.hex(), "--done-type", str(done_type), "--wait", "15"], timeout=60)
    out = json.loads(p.stdout_path.read_text().strip().splitlines()[-1])
    return {"seed": out["seed"], "good": out["good"], **{j["kind"]: j for j in out["junk"]}}


def closed_at_once_without_reply(res: dict, kind: str) -> None:
    j = res[kind]
    assert j["replies"] == [] and j["closed"] and j["after"] < AT_ONCE, (kind, res["seed"], j)


def closed_by_data_timeout(res: dict, kind: str) -> None:
    j = res[kind]
    assert j["replies"] == [] and j["closed"], (kind, res["seed"], j)
    assert DATA_TIMEOUT - 0.3 <= j["after"] < DATA_TIMEOUT + 4, (kind, res["seed"], j)


def answered_and_kept_open(res: dict, kind: str, reply_type: int, status: int | None) -> None:
    j = res[kind]
    assert [(r["type"], r["status"]) for r in j["replies"]] == [(reply_type, status)], \
        (kind, res["seed"], j)
    assert j["open_after_reply"] is True and j["closed"], (kind, res["seed"], j)


def test_v6_bulk_junk_on_several_connections(generator_pair, procs, artifacts):
    pair = generator_pair
    store = artifacts / "lessor.db"
    conf = write_config6(artifacts / "lessor.toml", store=store, listen=[SERVER_V6],
                         server_lines=['stats-interval = "0s"'],
                         links=[Link6("2001:db8:1::/64", pools=["2001:db8:1::1000-2001:db8:1::1fff"],
                                      prefix_pools=[("2001:db8:100::/48", 56)])])
    conf.write_text(conf.read_text() + f"""
[leasequery6]
requesters = ["{addressing.CLIENT_NET6}"]

[leasequery6.bulk]
listen = ["{SERVER_V6}"]
data-timeout = "{int(DATA_TIMEOUT)}s"
max-connections-per-requester = 16
""")
    srv = LessorServer(procs, pair.server, conf, store, ready="dhcp6: listening on")
    srv.check()
    srv.start()
    srv.proc.wait_output(f"DHCPv6 bulk leasequery: listening on tcp [{SERVER_V6}]:547", timeout=10)
    bound = artifacts / "bound.txt"
    sarr = procs.run(pair.gen, "perf-sarr", [
        str(lessor_bin()), "perf", "sarr", "--server", SERVER_V6, "--bind", f"[{GEN_V6}]:0",
        "--link-address", GEN_V6, "--ia", "both", "--clients", "100", "--in-flight", "16",
        "--relay-id", RELAY_ID6, "--seed", "7", "--timeout", "500ms", "--bound-out", str(bound),
        "--json"], timeout=60)
    assert json.loads(sarr.stdout_path.read_text())["completed"] == 100, sarr.output()[-2000:]

    good = leasequery(1, 4, "::", b"")          # QUERY_BY_LINK_ADDRESS ::, every binding
    res = run_junk(procs, pair.gen, 6, SERVER_V6, 547, good, 16)
    (artifacts / "junk6.json").write_text(json.dumps(res, indent=1))

    for kind in ("random", "zero-length", "not-a-query", "garbage-options"):
        closed_at_once_without_reply(res, kind)
    for kind in ("short-65535", "half-then-idle"):
        closed_by_data_timeout(res, kind)
    answered_and_kept_open(res, "malformed-query", 15, 8)           # REPLY, MalformedQuery
    g = res["good"]
    assert g["done"] and g["bindings"] == 200 and g["messages"] == 201, g
    assert g["types"] == {"15": 1, "17": 199, "16": 1}, g

    # Still up, and UDP leasequery answers.
    assert srv.proc.alive()
    address = bound.read_text().split()[1]
    q = procs.run(pair.gen, "query-udp6", [str(lessor_bin()), "query", "ip", address.split("/")[0],
                                           "--server", SERVER_V6, "--timeout", "5s", "--json"],
                  timeout=30, check=False)
    assert q.popen.returncode == 0, q.output()[-2000:]

    assert srv.stop() == 0
    bulk = stats_of(srv.output(), "bulk6")
    print("server:", bulk)
    assert bulk["accepted"] == 8, bulk
    assert bulk.get("closed-junk", 0) == 4, bulk
    assert bulk.get("closed-data-timeout", 0) == 2, bulk
    assert bulk.get("closed-finished", 0) + bulk.get("closed-socket-error", 0) == 2, bulk
    assert bulk.get("status-MalformedQuery", 0) == 1, bulk
    assert bulk.get("query-link-address", 0) == 1 and bulk["bindings"] == 200, bulk
    assert bulk.get("closed-panic", 0) == 0, bulk


V4_BINDINGS = 300
V4_RELAY_ID = b"relay-000000"
V4_FIRST = ipaddress.IPv4Address("198.18.1.0")


def test_v4_bulk_junk_on_several_connections(topo4, procs, artifacts):
    t = topo4
    server = addressing.SERVER_V4
    legit = addressing.RELAY_UP_V4
    workdir = artifacts / "lessor"
    store = workdir / "lessor.db"
    last = V4_FIRST + V4_BINDINGS - 1
    conf = write_config(workdir / "lessor.toml", identifier=server, store=store, listen=[server],
                        relays=[str(addressing.SERVER_NET)], requesters=[str(addressing.SERVER_NET)],
                        bulk_listen=[server], reply_to_source_port=[f"{legit}/32"],
                        server_lines=['stats-interval = "0s"'],
                        subnets=[Subnet4("198.18.0.0/15", (str(V4_FIRST), str(last)))])
    text = conf.read_text()
    assert text.rstrip().endswith("port = 67"), text       # [leasequery4.bulk] comes last
    conf.write_text(text.rstrip() + f'\ndata-timeout = "{int(DATA_TIMEOUT)}s"\n'
                    'max-connections-per-requester = 16\n')
    leases = workdir / "dhcpd.leases"
    run([sys.executable, str(GEN), str(V4_BINDINGS), str(leases), str(V4_BINDINGS)])
    imp = run([str(lessor_bin()), "leases", "import", "--isc", str(leases), "--config", str(conf)],
              check=False)
    assert imp.returncode == 0, imp.stdout + imp.stderr
    srv = LessorServer(procs, t.server, conf, store)
    srv.check()
    srv.start()
    srv.proc.wait_output(f"bulk leasequery: listening on tcp {server}:67", timeout=10)

    # An RFC 6926 DHCPBULKLEASEQUERY by relay-id (option 82 sub-option 12).
    agent = bytes([12, len(V4_RELAY_ID)]) + V4_RELAY_ID
    body = v4_message(14, 0x4242, bytes([82, len(agent)]) + agent, hw=False)
    good = len(body).to_bytes(2, "big") + body
    res = run_junk(procs, t.relay, 4, server, 67, good, 15)
    (artifacts / "junk4.json").write_text(json.dumps(res, indent=1))

    for kind in ("random", "zero-length"):
        closed_at_once_without_reply(res, kind)
    for kind in ("short-65535", "half-then-idle"):
        closed_by_data_timeout(res, kind)
    # A DHCPDISCOVER, and a DHCPBULKLEASEQUERY whose options do not parse: refused with a
    # DHCPLEASEQUERYDONE (15) carrying MalformedQuery (RFC 6926 status 3); the connection stays.
    for kind in ("not-a-query", "garbage-options"):
        answered_and_kept_open(res, kind, 15, 3)
    g = res["good"]
    assert g["done"] and g["bindings"] == V4_BINDINGS, g

    assert srv.proc.alive()
    p = procs.run(t.relay, "perf-lq", [
        str(lessor_bin()), "perf", "leasequery", "--server", f"{server}:67", "--bind", f"{legit}:0",
        "--by", "ip", "--addresses", f"{V4_FIRST}-{last}", "--queries", "50", "--in-flight", "4",
        "--timeout", "1s", "--json"], timeout=30)
    lq = json.loads(p.stdout_path.read_text().strip().splitlines()[-1])
    assert lq["timeouts"] == 0 and lq["active"] == 50, lq

    assert srv.stop() == 0
    bulk = stats_of(srv.output(), "bulk4")
    print("server:", bulk)
    assert bulk["accepted"] == 7, bulk
    assert bulk.get("closed-junk", 0) == 2, bulk
    assert bulk.get("closed-data-timeout", 0) == 2, bulk
    assert bulk.get("closed-finished", 0) + bulk.get("closed-socket-error", 0) == 3, bulk
    assert bulk.get("query-relay-id", 0) == 1 and bulk["bindings"] == V4_BINDINGS, bulk
    # the DHCPDISCOVER (not the query type) and the unparsable options
    assert bulk.get("failed-unknown-query-type", 0) + bulk.get("failed-malformed-query", 0) == 2, \
        bulk
    assert bulk.get("closed-panic", 0) == 0, bulk
