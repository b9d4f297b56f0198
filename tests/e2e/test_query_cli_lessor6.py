"""`lessor query` and `lessor bulk` (DHCPv6, RFC 5007 / RFC 5460) against Lessor's own UDP and
TCP responders, end to end.

Real ISC `dhclient -6 -N -P` gets an address (IA_NA) and a prefix (IA_PD) through ISC
`dhcrelay -6 -I` and a second relay hop (harness/bulk6_tools.py: RELAY_ID and REMOTE_ID, which
dhcrelay cannot add) from `lessor serve` A. From the relay's namespace (the requestor an access
concentrator would be), `lessor query` asks A over UDP by the address, by an address inside the
delegated prefix and by client-id (--json and the table), and `lessor bulk` asks A over TCP by
relay-id, remote-id, link-address and client-id (--json and the table).

RFC 5007 §4.3.4 (several servers, answers merged by CLT_TIME): a second `lessor serve` B, with
other lifetimes, was given the same client (same DUID: dhclient is started with the DUID-LL of
the simulated client `lessor perf sarr --seed` makes) a few seconds before A; `lessor query
--server A --server B` (either order) returns A's fresher data; after B serves the client
again, B's.

Topology6 (client 2001:db8:1::/64, server link 2001:db8:2::/64, prefixes from
2001:db8:100::/48); on the server link the second hop is 2001:db8:2::3 and B 2001:db8:2::4."""
from __future__ import annotations

import json
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List

import pytest

from harness import addressing
from harness.dhcp6_clients import client_record, start_dhclient6
from harness.isc6 import start_dhcrelay6
from harness.lessor import lessor_bin
from harness.netns import Topology6
from harness.procs import ProcessManager
from harness.util import HarnessError, run, wait_for

TOOLS = Path(__file__).parent / "harness" / "bulk6_tools.py"
HOP2 = "2001:db8:2::3"
SERVER_A = addressing.SERVER_V6
SERVER_B = "2001:db8:2::4"
LINK_ADDRESS = addressing.RELAY_DOWN_V6          # dhcrelay's link-address
RELAY_ID = "0003000102000000aa01"                  # the second hop's DUID (RELAY_ID, option 53)
REMOTE_ID = "72656d6f74652d31"                     # "remote-1", enterprise 4491 (bulk6_tools)
REMOTE_ENTERPRISE = 4491
# The simulated client of `lessor perf sarr --seed SEED`: client 0's MAC is 02 and the low 40
# bits of the seed, its DUID the DUID-LL of that MAC; dhclient is given the same DUID.
SEED = 0x0102030405
DUID = "00030001020102030405"
# A's and B's lifetimes (seconds): which server's data the merged answer holds shows in them.
A_PREFERRED, A_VALID = 300, 600
B_PREFERRED, B_VALID = 100, 200


def lessor_config(store: Path, listen: str, server_duid: str, preferred: int, valid: int) -> str:
    return f"""[server]
store = "{store}"
stats-interval = "0s"

[dhcp6]
server-duid = "{server_duid}"
listen = ["{listen}"]
preferred-lifetime = "{preferred}s"
valid-lifetime = "{valid}s"

[[dhcp6.link]]
prefix = "2001:db8:1::/64"
pools = ["2001:db8:1::1000-2001:db8:1::10ff"]
prefix-pools = [{{ prefix = "2001:db8:100::/48", delegated-length = 56 }}]

[leasequery6]
requesters = ["2001:db8:2::/64"]

[leasequery6.bulk]
listen = ["{listen}"]
"""


def start_lessor(procs: ProcessManager, ns, workdir: Path, name: str, listen: str, duid: str,
                 preferred: int, valid: int):
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "lessor.toml"
    conf.write_text(lessor_config(workdir / "lessor.db", listen, duid, preferred, valid))
    cp = run([str(lessor_bin()), "check", str(conf)], check=False)
    if cp.returncode != 0:
        raise HarnessError(f"lessor check {conf}:\n{cp.stdout}{cp.stderr}")
    p = procs.start(ns, name, [str(lessor_bin()), "serve", "--config", str(conf)])
    p.wait_output(f"DHCPv6 bulk leasequery: listening on tcp [{listen}]:547", timeout=15)
    return p


def isc_octal(octets: bytes) -> str:
    """Octets as ISC writes a string in its lease file: every octet as a 3-digit octal escape."""
    return "".join(f"\\{b:03o}" for b in octets)


@dataclass
class Run:
    rc: int
    out: list        # one JSON object per line (--json) or the text lines
    err: str


@dataclass
class Scenario:
    address: str = ""
    prefix: str = ""
    inside: str = ""
    bound_at: float = 0.0
    runs: Dict[str, Run] = field(default_factory=dict)
    a_log: str = ""


def cli(procs, ns, name: str, args: List[str], json_out: bool = True) -> Run:
    argv = [str(lessor_bin()), *args, "--timeout", "15s"] + (["--json"] if json_out else [])
    p = procs.run(ns, name, argv, timeout=40, check=False)
    text = p.stdout_path.read_text()
    out = ([json.loads(line) for line in text.splitlines() if line.strip()] if json_out
           else text.splitlines())
    return Run(p.popen.returncode, out, p.stderr_path.read_text())


def sarr_to_b(procs, ns, name: str) -> dict:
    """The simulated client (DUID above) gets an address and a prefix from B, relayed from B's
    own address with link-address 2001:db8:1::1."""
    p = procs.run(ns, name, [str(lessor_bin()), "perf", "sarr", "--server", f"[{SERVER_B}]:547",
                             "--bind", f"[{SERVER_B}]:0", "--link-address", LINK_ADDRESS,
                             "--ia", "both", "--clients", "1", "--seed", str(SEED), "--json"],
                  timeout=30, check=False)
    out = p.stdout_path.read_text()
    assert p.popen.returncode == 0, (out, p.stderr_path.read_text())
    report = json.loads(out)
    assert report["completed"] == 1, report
    return report


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Scenario:
    artifacts = tmp_path_factory.mktemp("query-lessor6")
    procs = ProcessManager(artifacts)
    topo = None
    try:
        topo = Topology6()
        for a in (HOP2, SERVER_B):
            topo.server.add_addr(topo.server_if, f"{a}/64")
        a = start_lessor(procs, topo.server, artifacts / "a", "lessor-a", SERVER_A,
                         "00:02:00:00:ab:11:00:00:00:0a", A_PREFERRED, A_VALID)
        start_lessor(procs, topo.server, artifacts / "b", "lessor-b", SERVER_B,
                     "00:02:00:00:ab:11:00:00:00:0b", B_PREFERRED, B_VALID)
        hop = procs.start(topo.server, "relay-hop2",
                          [sys.executable, str(TOOLS), "relay", "--listen", HOP2, "--server", SERVER_A,
                           "--relay-id", RELAY_ID, "--remote-id", REMOTE_ID, "--seconds", "120"])
        hop.wait_output("relay ready", timeout=10)
        start_dhcrelay6(procs, topo.relay, topo.relay_down_if, topo.relay_up_if, HOP2,
                        artifacts / "dhcrelay")
        s = Scenario()
        s.runs["sarr-b-1"] = Run(0, [sarr_to_b(procs, topo.server, "sarr-b-1")], "")
        # CLT_TIME is in seconds: B's transaction at least two seconds before A's.
        time.sleep(2.5)

        # dhclient -6 with the simulated client's DUID (read from its lease file at start).
        workdir = artifacts / "dhclient6"
        workdir.mkdir()
        (workdir / "dhclient6.leases").write_text(
            f'default-duid "{isc_octal(bytes.fromhex(DUID))}";\n')
        s.bound_at = time.time()
        dh = start_dhclient6(procs, topo.client, topo.client_if, workdir)
        try:
            wait_for(lambda: "iaprefix" in dh.leasefile.read_text()
                     and "iaaddr" in dh.leasefile.read_text(), timeout=30, what="dhclient's lease file")
        except HarnessError as e:
            raise AssertionError(f"{e}\n--- dhclient ---\n{dh.proc.output()[-3000:]}\n"
                                 f"--- lessor A ---\n{a.output()[-3000:]}") from None
        dh.proc.stop(signal.SIGKILL)     # no Release: the bindings stay active
        record = client_record(dh.leasefile.read_text())
        assert record.duid.hex() == DUID, record
        s.address = next(w for k, w in record.leased if k == "na")
        s.prefix = next(w for k, w in record.leased if k == "pd")
        s.inside = s.prefix.split("/")[0].rstrip(":") + "::7"

        rly = topo.relay
        a_only = ["--server", SERVER_A]
        both, both_reversed = a_only + ["--server", SERVER_B], ["--server", SERVER_B] + a_only
        bulk = ["bulk", "--server", SERVER_A]
        s.runs.update({
            "address": cli(procs, rly, "q-address", ["query", "ip", s.address, *a_only]),
            "address-text": cli(procs, rly, "q-address-text", ["query", "ip", s.address, *a_only],
                                json_out=False),
            "inside": cli(procs, rly, "q-inside", ["query", "ip", s.inside, *a_only]),
            "client-id": cli(procs, rly, "q-cid", ["query", "client-id", DUID, *a_only]),
            "nobody": cli(procs, rly, "q-nobody", ["query", "ip", "2001:db8:1::10fe", *a_only]),
            "b-only": cli(procs, rly, "q-b", ["query", "client-id", DUID, "--server", SERVER_B]),
            "merged": cli(procs, rly, "q-merged", ["query", "client-id", DUID, *both]),
            "merged-reversed": cli(procs, rly, "q-merged-rev", ["query", "ip", s.address,
                                                                  *both_reversed]),
            "bulk-relay-id": cli(procs, rly, "b-relay-id", [*bulk, "relay-id", RELAY_ID]),
            "bulk-relay-id-text": cli(procs, rly, "b-relay-id-text", [*bulk, "relay-id", RELAY_ID],
                                      json_out=False),
            "bulk-remote-id": cli(procs, rly, "b-remote-id",
                                  [*bulk, "remote-id", "text:remote-1", "--enterprise-number",
                                   str(REMOTE_ENTERPRISE)]),
            "bulk-link": cli(procs, rly, "b-link", [*bulk, "link-address", LINK_ADDRESS]),
            "bulk-client-id": cli(procs, rly, "b-cid", [*bulk, "client-id", DUID]),
            "bulk-unknown-relay": cli(procs, rly, "b-unknown", [*bulk, "relay-id",
                                                                "0003000102000000dead"]),
        })
        # B serves the client again: now B's data is the fresher.
        time.sleep(2.5)
        s.runs["sarr-b-2"] = Run(0, [sarr_to_b(procs, topo.server, "sarr-b-2")], "")
        s.runs["merged-after"] = cli(procs, rly, "q-merged-after",
                                     ["query", "client-id", DUID, *both])
        (artifacts / "runs.json").write_text(json.dumps(
            {k: [r.rc, r.out, r.err] for k, r in s.runs.items()}, indent=1))
        a.stop()
        s.a_log = a.output()
        return s
    finally:
        procs.stop_all()
        if topo is not None:
            topo.teardown()


def only(run: Run) -> dict:
    assert run.rc == 0, (run.out, run.err)
    (o,) = run.out
    return o


def the_client(o: dict) -> dict:
    assert o["found"] is True and o["status_name"] is None, o
    (c,) = o["clients"]
    return c


def check_bindings(s: Scenario, c: dict, preferred: int, valid: int) -> None:
    """The client's address and prefix with remaining lifetimes of that server's configuration."""
    assert c["client_id"] == DUID, c
    assert [a["address"] for a in c["addresses"]] == [s.address], c
    assert [p["prefix"] for p in c["prefixes"]] == [s.prefix], c
    for x in c["addresses"] + c["prefixes"]:
        assert preferred - 60 <= x["preferred_lifetime"] <= preferred, x
        assert valid - 60 <= x["valid_lifetime"] <= valid, x
        assert x["valid_until"] >= int(s.bound_at), x


def check_relay(c: dict) -> None:
    """LQ_RELAY_DATA (lessor query asks for it): the chain as the server received it, outermost
    first: the second hop (its RELAY_ID and REMOTE_ID), then dhcrelay (link-address of the
    client link, its Interface-Id, the client's link-local peer-address)."""
    r = c["relay"]
    assert r and r["peer_address"] == HOP2, c
    outer, inner = r["hops"]
    assert outer["relay_id"] == RELAY_ID, outer
    assert outer["remote_id"]["value"] == REMOTE_ID, outer
    assert outer["remote_id"]["value_text"] == "remote-1", outer
    assert outer["remote_id"]["enterprise_number"] == REMOTE_ENTERPRISE, outer
    assert outer["peer_address"] == addressing.RELAY_UP_V6, outer
    assert inner["link_address"] == LINK_ADDRESS, inner
    assert inner["peer_address"].startswith("fe80::"), inner
    assert "interface_id" in inner, inner


def test_query_by_address(scenario):
    o = only(scenario.runs["address"])
    assert o["query"] == {"kind": "ip", "value": scenario.address, "link_address": "::"}, o
    assert o["server"] == f"[{SERVER_A}]:547" and o["server_id"] == "00020000ab110000000a", o
    c = the_client(o)
    check_bindings(scenario, c, A_PREFERRED, A_VALID)
    # Lessor's CLT_TIME is relative: seconds since dhclient's REQUEST.
    assert 0 <= c["clt_time"] <= time.time() - scenario.bound_at + 2, c
    assert c["cltt_ago"] == c["clt_time"], c
    assert scenario.bound_at - 2 <= c["cltt"] <= time.time(), c
    check_relay(c)
    assert o["other_answers"] == [], o


def test_query_by_an_address_inside_the_delegated_prefix(scenario):
    # RFC 5007 §4.1.2.1: the client delegated a prefix that contains the address; all of its
    # bindings on the link, as for its address.
    o = only(scenario.runs["inside"])
    c = the_client(o)
    check_bindings(scenario, c, A_PREFERRED, A_VALID)
    by_address = the_client(only(scenario.runs["address"]))
    assert (c["client_id"], c["relay"]) == (by_address["client_id"], by_address["relay"]), c


def test_query_by_client_id(scenario):
    o = only(scenario.runs["client-id"])
    assert o["query"]["kind"] == "client-id" and o["query"]["value"] == DUID, o
    c = the_client(o)
    check_bindings(scenario, c, A_PREFERRED, A_VALID)
    check_relay(c)


def test_query_text_one_row_per_binding(scenario):
    r = scenario.runs["address-text"]
    assert r.rc == 0, r
    assert r.out[0].split()[:3] == ["BINDING", "STATE", "CLIENT-ID"], r.out
    rows = [line.split() for line in r.out[1:]]
    assert [row[0] for row in rows] == [scenario.address, scenario.prefix], r.out
    duid = ":".join(DUID[i:i + 2] for i in range(0, len(DUID), 2))
    for row in rows:
        assert row[1:3] == ["active", duid], row
        assert f"[{SERVER_A}]:547" == row[-1], row
        assert HOP2 in row and LINK_ADDRESS in row, row


def test_query_for_an_address_nobody_holds(scenario):
    r = scenario.runs["nobody"]
    assert r.rc == 1, r
    (o,) = r.out
    assert o["found"] is False and o["clients"] == [] and o["status_name"] is None, o


def bulk_lines(s: Scenario, name: str) -> List[dict]:
    r = s.runs[name]
    assert r.rc == 0, (r.out, r.err)
    return r.out


@pytest.mark.parametrize("name,kind", [("bulk-relay-id", "relay-id"), ("bulk-remote-id", "remote-id"),
                                       ("bulk-link", "link-address"), ("bulk-client-id", "client-id")])
def test_bulk_lists_the_address_and_the_prefix(scenario, name, kind):
    lines = bulk_lines(scenario, name)
    # Lessor sends one CLIENT_DATA per binding (the address, the prefix), each a line.
    assert sorted(x for line in lines for x in [a["address"] for a in line["addresses"]] +
                  [p["prefix"] for p in line["prefixes"]]) == sorted([scenario.address, scenario.prefix]), lines
    for line in lines:
        assert line["query"]["kind"] == kind, line
        assert line["server"] == f"[{SERVER_A}]:547", line
        assert line["server_id"] == "00020000ab110000000a", line
        assert line["client_id"] == DUID, line
        assert 0 <= line["clt_time"] <= time.time() - scenario.bound_at + 2, line
        for x in line["addresses"] + line["prefixes"]:
            assert A_PREFERRED - 60 <= x["preferred_lifetime"] <= A_PREFERRED, x
            assert A_VALID - 60 <= x["valid_lifetime"] <= A_VALID, x
        check_relay(line)
    if kind == "remote-id":
        assert lines[0]["query"]["value"] == REMOTE_ID, lines[0]
        assert lines[0]["query"]["enterprise_number"] == REMOTE_ENTERPRISE, lines[0]
    if kind == "link-address":
        assert lines[0]["query"]["value"] == LINK_ADDRESS, lines[0]


def test_bulk_text_and_a_relay_nobody_is_behind(scenario):
    r = scenario.runs["bulk-relay-id-text"]
    assert r.rc == 0, r
    assert r.out[0].split()[:2] == ["BINDING", "CLIENT-ID"], r.out
    assert sorted(line.split()[0] for line in r.out[1:]) == sorted([scenario.address, scenario.prefix])
    # Nothing behind that relay: no binding, exit 1.
    r = scenario.runs["bulk-unknown-relay"]
    assert r.rc == 1 and r.out == [], r
    assert "stats bulk6: " in scenario.a_log and "query-relay-id=3" in scenario.a_log, scenario.a_log


def test_two_servers_merged_by_clt_time(scenario):
    # B alone: its own (older) data for the client, with its lifetimes.
    b = the_client(only(scenario.runs["b-only"]))
    check_bindings(scenario, b, B_PREFERRED, B_VALID)
    assert b["relay"]["peer_address"] == SERVER_B, b   # perf sarr relayed from B's address
    a = the_client(only(scenario.runs["client-id"]))
    assert b["cltt"] < a["cltt"], (a, b)
    # Both asked, in either order: the same address and prefix from both, A's data (the more
    # recent CLT_TIME) wins (RFC 5007 §4.3.4); the other server's answer is listed.
    for name in ("merged", "merged-reversed"):
        o = only(scenario.runs[name])
        c = the_client(o)
        check_bindings(scenario, c, A_PREFERRED, A_VALID)
        assert abs(c["cltt"] - a["cltt"]) <= 1, (c, a)
        assert c["relay"]["peer_address"] == HOP2, c
        assert len(o["other_answers"]) == 1 and o["other_answers"][0]["found"] is True, o
    # After B served the client again, B's data is the fresher and wins.
    c = the_client(only(scenario.runs["merged-after"]))
    check_bindings(scenario, c, B_PREFERRED, B_VALID)
    assert c["cltt"] > a["cltt"], (c, a)
    assert c["relay"]["peer_address"] == SERVER_B, c
