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
associated_ips, server_id, lease_end and cltt (±3 s), T1/T2 against the lease end. Every difference is asserted as documented (docs/leasequery.md "Lessor
vs ISC dhcpd 4.4.3 (measured)", docs/query.md "Interoperability")."""
from __future__ import annotations

import json

from harness import capture
from harness.lessor import lessor_bin
from lq_common import (CLIENT_ID, FREE_IN_POOL, LEASE_TIME, OUTSIDE, RELAY, SCAPY_CLIENTS, SERVER,
                       UNKNOWN_MAC, agent, isc_leases_imported, isc_then_lessor)

# fields that must be equal between the two servers (where ISC follows RFC 4388)
SAME = ("query", "state", "found", "address", "htype", "mac", "client_id", "relay_agent_information",
        "circuit_id", "circuit_id_text", "remote_id", "remote_id_text", "relay_id",
        "relay_sub_options", "associated_ips", "server_id", "vendor_class_id", "hostname",
        "server", "other_answers")
TOLERANCE = 3  # seconds, for lease_end / cltt (the two servers are asked some seconds apart)


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


def test_lessor_query_cli_lessor_vs_isc_dhcpd(topo4, procs, artifacts):
    t = topo4
    lv = isc_leases_imported(t, procs, artifacts, scapy_log=artifacts / "scapy.log")
    # dhcrelay listens on port 67 of the relay: `--bind RELAY:67` needs it gone
    lv.dhcrelay.proc.stop()
    mac_b, mac_r = SCAPY_CLIENTS[0]["chaddr"], SCAPY_CLIENTS[1]["chaddr"]
    cid_hex = CLIENT_ID.hex()

    # name -> (kind, values, expected exit code)
    runs = {
        "ip-active": ("ip", [lv.addr_a], 0),
        "ip-active-agent": ("ip", [lv.addr_b], 0),
        # active, managed-but-free, released (ISC: free), unmanaged: several values in one run
        "ip-mixed": ("ip", [lv.addr_a, FREE_IN_POOL, lv.addr_r, OUTSIDE], 1),
        "mac-active": ("mac", [lv.mac_a, mac_b], 0),
        "mac-unknown": ("mac", [UNKNOWN_MAC], 1),
        "mac-released": ("mac", [mac_r], 1),
        "cid-active": ("client-id", [cid_hex], 0),
        "cid-unknown": ("client-id", [b"nobody".hex()], 1),
    }

    def ask(server):
        cap = capture.start_capture(procs, t.relay, t.relay_up_if, artifacts / f"cli-{server}.pcap",
                                    name=f"tshark-{server}")
        res = {}
        for name, (kind, values, _) in runs.items():
            res[name] = lessor_query(procs, t.relay, f"query-{server}-{name}", kind, values)
        # decision 4: without --bind the CLI sends from giaddr, an ephemeral port
        res["ephemeral-port"] = lessor_query(procs, t.relay, f"query-{server}-ephemeral", "ip",
                                             [lv.addr_a], bind=None, timeout="3s")
        pcap = capture.stop_captures({server: cap})[server]
        return res, pcap

    (isc_res, isc_pcap), (les_res, les_pcap) = isc_then_lessor(t, procs, artifacts, lv, ask)
    # no server at all: every VALUE an error, exit 2
    none_rc, none_out, none_err = lessor_query(procs, t.relay, "query-none", "ip", [lv.addr_a, FREE_IN_POOL],
                                     timeout="2s")
    (artifacts / "compare.json").write_text(json.dumps({"isc": isc_res, "lessor": les_res,
                                                        "none": [none_rc, none_out]}, indent=1))

    # the CLI's queries and both servers' replies decode cleanly in tshark
    for pcap in (isc_pcap, les_pcap):
        rep = capture.check_decode(pcap, "dhcp.option.dhcp >= 10")
        assert rep.ok and rep.frames >= 2 * len(runs), (pcap, rep)

    assert none_rc == 2, none_out
    assert all("error" in o and "state" not in o for o in none_out), none_out
    assert "hint" not in none_err, none_err  # bound to port 67: nothing to suggest

    # --- decision 4: from an ephemeral port, ISC answers giaddr:67 (nobody there): the CLI
    #     times out (exit 2); Lessor answers the source port (exit 0)
    rc, (o,), err = isc_res.pop("ephemeral-port")
    assert rc == 2 and "error" in o, o
    # ... and says how to get the answer
    assert "hint: sent from an ephemeral port; servers that answer only giaddr port 67" in err, err
    assert f"need --bind {RELAY}:67 (as root)" in err, err
    rc, (o,), err = les_res.pop("ephemeral-port")
    assert rc == 0 and o["state"] == "active" and o["address"] == lv.addr_a, o
    assert "hint" not in err, err

    # --- exit codes: the same for both, as expected
    for name, (_, _, want) in runs.items():
        assert isc_res[name][0] == want, (name, isc_res[name])
        assert les_res[name][0] == want, (name, les_res[name])

    def by_value(res, name):
        return {o["query"]["value"]: o for o in res[name][1]}

    expected_state = {
        ("ip-active", lv.addr_a): "active", ("ip-active-agent", lv.addr_b): "active",
        ("ip-mixed", lv.addr_a): "active", ("ip-mixed", FREE_IN_POOL): "unassigned",
        ("ip-mixed", lv.addr_r): "unassigned", ("ip-mixed", OUTSIDE): "unknown",
        ("mac-active", lv.mac_a): "active", ("mac-active", mac_b): "active",
        ("mac-unknown", UNKNOWN_MAC): "unknown", ("mac-released", mac_r): "unknown",
        ("cid-active", cid_hex): "active", ("cid-unknown", b"nobody".hex()): "unknown",
    }
    seen = set()
    for name in runs:
        i_all, l_all = by_value(isc_res, name), by_value(les_res, name)
        assert list(i_all) == list(l_all), (name, i_all, l_all)
        for value in i_all:
            i, l = i_all[value], l_all[value]
            seen.add((name, value))
            assert "error" not in i and "error" not in l, (name, i, l)
            assert l["state"] == expected_state[(name, value)], (name, l)
            if name == "mac-released":
                # D1: ISC answers a MAC query for a client whose only lease is free with
                # UNASSIGNED naming that address; RFC 4388 §6.4: UNASSIGNED only for a
                # query by IP -> Lessor UNKNOWN, no address. Both are "not found" (exit 1).
                assert (i["state"], i["address"], i["mac"]) == ("unassigned", lv.addr_r, mac_r), i
                assert (l["state"], l["address"], l["mac"]) == ("unknown", None, mac_r), l
                assert i["found"] is l["found"] is False
                continue
            diff = {k: (i.get(k), l.get(k)) for k in SAME if i.get(k) != l.get(k)}
            assert not diff, (name, value, diff)
            if l["state"] == "active":
                assert l["address"] and l["mac"], l
                for k in ("lease_end", "cltt"):
                    assert abs(i[k] - l[k]) <= TOLERANCE, (name, k, i, l)
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
                        assert o[k] is not None, (name, k, o)
                        assert abs(o["lease_remaining"] - o[k] - before_end) <= 1, (name, k, o)
            else:
                for o in (i, l):
                    assert o["found"] is False and o["lease_end"] is None and o["cltt"] is None, o
                    assert o["relay_agent_information"] is None and o["client_id"] is None, o
    assert seen == set(expected_state), seen ^ set(expected_state)

    # --- option 82 and client-id as they were given out
    a = by_value(les_res, "ip-active")[lv.addr_a]
    assert a["client_id"] == cid_hex and a["mac"] == lv.mac_a, a
    assert a["circuit_id_text"] == t.relay_down_if and a["remote_id"] is None, a
    b = by_value(les_res, "ip-active-agent")[lv.addr_b]
    assert b["relay_agent_information"] == agent((1, b"sc-1"), (2, b"rid-A")).hex(), b
    assert (b["circuit_id_text"], b["remote_id_text"], b["client_id"]) == ("sc-1", "rid-A", None), b
    assert by_value(les_res, "mac-active")[mac_b]["address"] == lv.addr_b
    assert by_value(les_res, "cid-active")[cid_hex]["address"] == lv.addr_a
    # UNASSIGNED / UNKNOWN by IP echo the address (RFC 4388 erratum 3518 for UNKNOWN)
    mixed = by_value(les_res, "ip-mixed")
    assert [mixed[v]["address"] for v in (FREE_IN_POOL, lv.addr_r, OUTSIDE)] == [FREE_IN_POOL, lv.addr_r, OUTSIDE]
