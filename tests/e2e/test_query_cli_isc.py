"""`lessor query` (our CLI requestor) against ISC dhcpd 4.4.3 and `lessor serve`
loaded with the same bindings.

The bindings are made as in test_leasequery_isc_diff.py (lq_common.isc_leases_imported):
ISC dhcpd hands out three leases (dhclient through dhcrelay -a with a client-id;
two Scapy relay clients with option 82, one then released), its dhcpd.leases is
imported into a fresh Lessor store. dhcrelay is stopped (it would hold port 67 of
the relay); then, one at a time on the same address and port, dhcpd restarted on
the copy and lessor serve on the import are asked the same `lessor query` runs
from the relay namespace, `--bind RELAY:67 --json` (ISC answers only giaddr:67).

Compared: exit codes, and the JSON fields state, found, address, htype, mac,
client_id, option 82 (raw, circuit-id, remote-id, relay-id, other sub-options),
associated_ips, server_id, lease_end and cltt (±3 s), T1/T2 against the lease end.
Every difference is asserted as documented (docs/leasequery.md "Lessor vs ISC
dhcpd 4.4.3 (measured)", docs/query.md "Interoperability").

One module-scoped fixture makes the bindings and does every `lessor query` run
once; each run's exit code and each value's answer is its own test."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness import capture
from harness.lessor import lessor_bin
from lq_common import (CLIENT_ID, FREE_IN_POOL, LEASE_TIME, OUTSIDE, RELAY, SCAPY_CLIENTS, SERVER,
                       UNKNOWN_MAC, IscLeases, agent, isc_leases_imported, isc_then_lessor)

# fields that must be equal between the two servers (where ISC follows RFC 4388)
SAME = ("query", "state", "found", "address", "htype", "mac", "client_id", "relay_agent_information",
        "circuit_id", "circuit_id_text", "remote_id", "remote_id_text", "relay_id",
        "relay_sub_options", "associated_ips", "server_id", "vendor_class_id", "hostname",
        "server", "other_answers")
TOLERANCE = 3  # seconds, for lease_end / cltt (the two servers are asked some seconds apart)

# run name -> (kind, values, expected exit code); a value is named here and made concrete by the
# fixture (`values_of`), so that every (run, value) is a test of its own
RUNS = {
    "ip-active": ("ip", ["addr_a"], 0),
    "ip-active-agent": ("ip", ["addr_b"], 0),
    # active, managed-but-free, released (ISC: free), unmanaged: several values in one run
    "ip-mixed": ("ip", ["addr_a", "free", "addr_r", "outside"], 1),
    "mac-active": ("mac", ["mac_a", "mac_b"], 0),
    "mac-unknown": ("mac", ["unknown_mac"], 1),
    "mac-released": ("mac", ["mac_r"], 1),
    "cid-active": ("client-id", ["cid"], 0),
    "cid-unknown": ("client-id", ["nobody"], 1),
}
EXPECTED_STATE = {
    ("ip-active", "addr_a"): "active", ("ip-active-agent", "addr_b"): "active",
    ("ip-mixed", "addr_a"): "active", ("ip-mixed", "free"): "unassigned",
    ("ip-mixed", "addr_r"): "unassigned", ("ip-mixed", "outside"): "unknown",
    ("mac-active", "mac_a"): "active", ("mac-active", "mac_b"): "active",
    ("mac-unknown", "unknown_mac"): "unknown", ("mac-released", "mac_r"): "unknown",
    ("cid-active", "cid"): "active", ("cid-unknown", "nobody"): "unknown",
}
MAC_B, MAC_R = SCAPY_CLIENTS[0]["chaddr"], SCAPY_CLIENTS[1]["chaddr"]


def lessor_query(procs, ns, name, kind, values, *, bind=f"{RELAY}:67", timeout="5s"):
    """One `lessor query KIND VALUES... --server SERVER --bind BIND --json` run inside ns:
    (exit code, [one JSON object per VALUE], stderr)."""
    argv = [str(lessor_bin()), "query", kind, *values, "--server", SERVER, "--json", "--timeout", timeout]
    if bind:
        argv += ["--bind", bind]
    p = procs.run(ns, name, argv, timeout=30, check=False)
    out = p.stdout_path.read_text()
    objs = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert len(objs) == len(values), (name, p.output())
    return p.popen.returncode, objs, p.stderr_path.read_text()


@dataclass
class Cli:
    artifacts: Path
    lv: IscLeases
    relay_down_if: str
    values: dict           # value name (RUNS) -> the value given to `lessor query`
    res: dict              # server ("isc" / "lessor") -> run name -> (exit code, objects, stderr)
    pcap: dict             # server -> its capture
    none: tuple            # (exit code, objects, stderr) with no server at all

    def answers(self, server: str, run: str) -> dict:
        """value -> the JSON object answering it, in the order printed."""
        return {o["query"]["value"]: o for o in self.res[server][run][1]}

    def answer(self, server: str, run: str, value_name: str) -> dict:
        return self.answers(server, run)[self.values[value_name]]


@pytest.fixture(scope="module")
def cli(shared4) -> Cli:
    t, procs, artifacts = shared4.topo, shared4.procs, shared4.artifacts
    lv = isc_leases_imported(t, procs, artifacts, scapy_log=artifacts / "scapy.log")
    # dhcrelay listens on port 67 of the relay: `--bind RELAY:67` needs it gone
    lv.dhcrelay.proc.stop()
    values = {"addr_a": lv.addr_a, "addr_b": lv.addr_b, "addr_r": lv.addr_r, "free": FREE_IN_POOL,
              "outside": OUTSIDE, "mac_a": lv.mac_a, "mac_b": MAC_B, "mac_r": MAC_R,
              "unknown_mac": UNKNOWN_MAC, "cid": CLIENT_ID.hex(), "nobody": b"nobody".hex()}

    def ask(server):
        cap = capture.start_capture(procs, t.relay, t.relay_up_if, artifacts / f"cli-{server}.pcap",
                                    name=f"tshark-{server}")
        res = {}
        for name, (kind, names, _) in RUNS.items():
            res[name] = lessor_query(procs, t.relay, f"query-{server}-{name}", kind,
                                     [values[n] for n in names])
        # decision 4: without --bind the CLI sends from giaddr, an ephemeral port
        res["ephemeral-port"] = lessor_query(procs, t.relay, f"query-{server}-ephemeral", "ip",
                                             [lv.addr_a], bind=None, timeout="3s")
        pcap = capture.stop_captures({server: cap})[server]
        return res, pcap

    (isc_res, isc_pcap), (les_res, les_pcap) = isc_then_lessor(t, procs, artifacts, lv, ask)
    # no server at all: every VALUE an error, exit 2
    none = lessor_query(procs, t.relay, "query-none", "ip", [lv.addr_a, FREE_IN_POOL], timeout="2s")
    (artifacts / "compare.json").write_text(json.dumps({"isc": isc_res, "lessor": les_res,
                                                        "none": [none[0], none[1]]}, indent=1))
    return Cli(artifacts, lv, t.relay_down_if, values, {"isc": isc_res, "lessor": les_res},
               {"isc": isc_pcap, "lessor": les_pcap}, none)


@pytest.mark.parametrize("server", ["isc", "lessor"])
def test_capture_decodes_cleanly(cli, server):
    # the CLI's queries and the server's replies decode cleanly in tshark
    pcap = cli.pcap[server]
    rep = capture.check_decode(pcap, "dhcp.option.dhcp >= 10")
    assert rep.ok and rep.frames >= 2 * len(RUNS), (pcap, rep)


def test_no_server_every_value_is_an_error(cli):
    none_rc, none_out, none_err = cli.none
    assert none_rc == 2, none_out
    assert all("error" in o and "state" not in o for o in none_out), none_out
    assert "hint" not in none_err, none_err  # bound to port 67: nothing to suggest


def test_ephemeral_port_isc_answers_giaddr_67_the_cli_times_out_with_a_hint(cli):
    # decision 4: from an ephemeral port, ISC answers giaddr:67 (nobody there): the CLI
    # times out (exit 2) ...
    rc, (o,), err = cli.res["isc"]["ephemeral-port"]
    assert rc == 2 and "error" in o, o
    # ... and says how to get the answer
    assert "hint: sent from an ephemeral port; servers that answer only giaddr port 67" in err, err
    assert f"need --bind {RELAY}:67 (as root)" in err, err


def test_ephemeral_port_lessor_answers_the_source_port(cli):
    # decision 4: Lessor, with the requester in reply-to-source-port, answers the source port
    # (exit 0)
    rc, (o,), err = cli.res["lessor"]["ephemeral-port"]
    assert rc == 0 and o["state"] == "active" and o["address"] == cli.lv.addr_a, o
    assert "hint" not in err, err


@pytest.mark.parametrize("run", list(RUNS))
def test_exit_code_and_answers_in_order(cli, run):
    # exit codes: the same for both, as expected; both answer the same values in the same order
    want = RUNS[run][2]
    assert cli.res["isc"][run][0] == want, (run, cli.res["isc"][run])
    assert cli.res["lessor"][run][0] == want, (run, cli.res["lessor"][run])
    i_all, l_all = cli.answers("isc", run), cli.answers("lessor", run)
    assert list(i_all) == list(l_all), (run, i_all, l_all)


def test_every_value_answered(cli):
    for server in ("isc", "lessor"):
        seen = {(run, v) for run in RUNS for v in cli.answers(server, run)}
        want = {(run, cli.values[n]) for run, n in EXPECTED_STATE}
        assert seen == want, (server, seen ^ want)


@pytest.mark.parametrize("run,value", list(EXPECTED_STATE), ids=[f"{r}-{v}" for r, v in EXPECTED_STATE])
def test_same_answer(cli, run, value):
    i, l = cli.answer("isc", run, value), cli.answer("lessor", run, value)
    assert "error" not in i and "error" not in l, (run, i, l)
    assert l["state"] == EXPECTED_STATE[(run, value)], (run, l)
    if run == "mac-released":
        # D1: ISC answers a MAC query for a client whose only lease is free with
        # UNASSIGNED naming that address; RFC 4388 §6.4: UNASSIGNED only for a
        # query by IP -> Lessor UNKNOWN, no address. Both are "not found" (exit 1).
        assert (i["state"], i["address"], i["mac"]) == ("unassigned", cli.lv.addr_r, MAC_R), i
        assert (l["state"], l["address"], l["mac"]) == ("unknown", None, MAC_R), l
        assert i["found"] is l["found"] is False
        return
    diff = {k: (i.get(k), l.get(k)) for k in SAME if i.get(k) != l.get(k)}
    assert not diff, (run, value, diff)
    if l["state"] == "active":
        assert l["address"] and l["mac"], l
        for k in ("lease_end", "cltt"):
            assert abs(i[k] - l[k]) <= TOLERANCE, (run, k, i, l)
        for o in (i, l):
            assert abs(o["lease_end"] - o["cltt"] - LEASE_TIME) <= 2, o
            assert 0 < o["lease_remaining"] <= LEASE_TIME, o
            assert o["server_id"] == SERVER, o
            assert o["associated_ips"] == [], o
        # T1/T2 (asked for by the CLI's PRL): both send the time remaining until the
        # client's T1 / T2 (the remaining figures are relative to each reply's arrival,
        # seconds apart: compare their distance to the lease end, 300 s and 75 s)
        for k, before_end in (("t1_remaining", LEASE_TIME // 2), ("t2_remaining", LEASE_TIME // 8)):
            for o in (i, l):
                assert o[k] is not None, (run, k, o)
                assert abs(o["lease_remaining"] - o[k] - before_end) <= 1, (run, k, o)
    else:
        for o in (i, l):
            assert o["found"] is False and o["lease_end"] is None and o["cltt"] is None, o
            assert o["relay_agent_information"] is None and o["client_id"] is None, o


# --- option 82 and client-id as they were given out

def test_dhclient_binding_by_ip_has_its_client_id_and_circuit_id(cli):
    a = cli.answer("lessor", "ip-active", "addr_a")
    assert a["client_id"] == CLIENT_ID.hex() and a["mac"] == cli.lv.mac_a, a
    assert a["circuit_id_text"] == cli.relay_down_if and a["remote_id"] is None, a


def test_scapy_relay_binding_by_ip_has_its_option82(cli):
    b = cli.answer("lessor", "ip-active-agent", "addr_b")
    assert b["relay_agent_information"] == agent((1, b"sc-1"), (2, b"rid-A")).hex(), b
    assert (b["circuit_id_text"], b["remote_id_text"], b["client_id"]) == ("sc-1", "rid-A", None), b


def test_by_mac_and_by_client_id_name_the_bound_address(cli):
    assert cli.answer("lessor", "mac-active", "mac_b")["address"] == cli.lv.addr_b
    assert cli.answer("lessor", "cid-active", "cid")["address"] == cli.lv.addr_a


def test_unassigned_and_unknown_by_ip_echo_the_address(cli):
    # RFC 4388 erratum 3518 for UNKNOWN
    got = [cli.answer("lessor", "ip-mixed", v)["address"] for v in ("free", "addr_r", "outside")]
    assert got == [FREE_IN_POOL, cli.lv.addr_r, OUTSIDE]
