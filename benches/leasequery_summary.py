#!/usr/bin/env python3
"""Markdown tables from benches/leasequery.sh (DHCPv4) and benches/leasequery6.sh (DHCPv6) results
(JSON lines): per run, medians, ratios, and the table-size runs against the smallest table.

A DHCPv6 line carries "family": "v6" and "kind": "na" (IA_NA addresses) or "pd" (addresses inside
delegated prefixes); the DHCPv4 lines carry neither, and their tables come out as before."""
import json, statistics, sys
from collections import defaultdict

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
runs = [r for r in rows if "run" in r]
imports = [r for r in rows if "import" in r]
v6 = any(r.get("family") == "v6" for r in rows)
kinds = any("kind" in r for r in runs)
kind_col = lambda r: f" {r.get('kind', '')} |" if kinds else ""
kind_head = (" kind |", "---|") if kinds else ("", "")

if v6:
    print("DHCPv6 leasequery (RFC 5007, QUERY_BY_ADDRESS); `other` counts failure statuses "
          "(NotConfigured, ...).\n")
print("### Per run\n")
print(f"| server |{kind_head[0]} bindings | K | rep | queries/s | active | unknown | other | timeouts | p50 ms | p90 ms | p99 ms | max ms |")
print(f"|---|{kind_head[1]}---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in runs:
    x, l = r["run"], r["run"]["latency_ms"]
    print(f"| {r['server']} |{kind_col(r)} {r['bindings']} | {r['k']} | {r['rep']} | {x['rate_per_s']:.0f} | {x['active']} "
          f"| {x['unknown']} | {x['other']} | {x['timeouts']} | {l['p50']} | {l['p90']} | {l['p99']} | {l['max']} |")

med = defaultdict(dict)
groups = defaultdict(list)
for r in runs:
    groups[(r["server"], r.get("kind", ""), r["bindings"], r["k"])].append(r["run"])
print("\n### Medians over repetitions\n")
print(f"| server |{kind_head[0]} bindings | K | runs | queries/s | p50 ms | p99 ms |")
print(f"|---|{kind_head[1]}---:|---:|---:|---:|---:|---:|")
for (s, kind, n, k), xs in sorted(groups.items()):
    rate = statistics.median(x["rate_per_s"] for x in xs)
    p50 = statistics.median(x["latency_ms"]["p50"] or 0 for x in xs)
    p99 = statistics.median(x["latency_ms"]["p99"] or 0 for x in xs)
    med[(s, n)][k] = (rate, p50, p99)
    kc = f" {kind} |" if kinds else ""
    print(f"| {s} |{kc} {n} | {k} | {len(xs)} | {rate:.0f} | {p50:.3f} | {p99:.3f} |")

# Table size: each lessor-size* label against its smallest table, per K.
sized = sorted({s for (s, _) in med if s.startswith("lessor-size")})
if sized:
    print("\n### Table size (medians; ratio to the smallest table)\n")
    print("| server | bindings | K | queries/s | p50 ms | p99 ms | p50 vs smallest |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for s in sized:
        sizes = sorted(n for (t, n) in med if t == s)
        for n in sizes:
            for k, (rate, p50, p99) in sorted(med[(s, n)].items()):
                base = med[(s, sizes[0])].get(k)
                vs = f"{p50 / base[1]:.2f}x" if base and base[1] else "-"
                print(f"| {s} | {n} | {k} | {rate:.0f} | {p50:.3f} | {p99:.3f} | {vs} |")

both = [(s, n) for (s, n) in med if s in ("lessor", "lessor-seg")]
print("\n### Ratios (medians, same invocation)\n")
print("| server | bindings | K | Lessor/ISC | Lessor/echo (1 thread) | Lessor/echo2 (2 threads) |")
print("|---|---:|---:|---:|---:|---:|")
def ratio(rate, name, k):
    other = next((v[k] for (s, _), v in med.items() if s == name and k in v), None)
    return f"{rate / other[0]:.2f}" if other and other[0] else "-"
for (server, n) in sorted(both):
    for k, (rate, _, _) in sorted(med[(server, n)].items()):
        isc = med.get(("isc", n), {}).get(k)
        ri = f"{rate / isc[0]:.2f}" if isc and isc[0] else "-"
        print(f"| {server} | {n} | {k} | {ri} | {ratio(rate, 'echo', k)} | {ratio(rate, 'echo2', k)} |")
for i in imports:
    what = "ISC dhcpd6.leases bindings" if i.get("family") == "v6" else "ISC leases"
    print(f"\nimport of {i['import']} {what}: {i['seconds']} s")

cpu = [r for r in rows if "cpu" in r]
if cpu:
    print("\n### Server CPU per query (K=8; utime/stime of the server process over the run)\n")
    print("| server | rep | user µs/query | system µs/query | total µs/query |")
    print("|---|---:|---:|---:|---:|")
    per = defaultdict(list)
    for c in cpu:
        u = c["user_ticks"] / c["hz"] / c["queries"] * 1e6
        s = c["sys_ticks"] / c["hz"] / c["queries"] * 1e6
        per[c["cpu"]].append((u, s))
        print(f"| {c['cpu']} | {c['rep']} | {u:.1f} | {s:.1f} | {u + s:.1f} |")
    print("\n| server | median user µs | median system µs | median total µs |")
    print("|---|---:|---:|---:|")
    for k, v in per.items():
        print(f"| {k} | {statistics.median(x[0] for x in v):.1f} | {statistics.median(x[1] for x in v):.1f} "
              f"| {statistics.median(x[0] + x[1] for x in v):.1f} |")

# Part 1's server CPU: utime + stime of the server over each run, per answered query.
run_cpu = [r for r in rows if "run_cpu" in r]
if run_cpu:
    answered = {(r["server"], r["k"], r["rep"]): r["run"]["answered"] for r in runs}
    per = defaultdict(list)
    for c in run_cpu:
        n = answered.get((c["run_cpu"], c["k"], c["rep"]))
        if n:
            per[(c["run_cpu"], c["k"])].append((c["user_ticks"] + c["sys_ticks"]) / c["hz"] / n * 1e6)
    if per:
        print("\n### Server CPU per answered query (part 1; medians over repetitions)\n")
        print("| server | K | runs | µs/query |")
        print("|---|---:|---:|---:|")
        for (s, k), v in sorted(per.items()):
            print(f"| {s} | {k} | {len(v)} | {statistics.median(v):.1f} |")

# The generator's CPU (benches/leasequery6.sh, with GNU time): per answered query, and how busy its
# vCPU was over the run (CPU seconds / the run's length). Near 100 %: the generator is the limit.
timed = [r for r in runs if "generator_cpu_s" in r and r["run"].get("answered")]
if timed:
    per = defaultdict(list)
    for r in timed:
        answered, rate = r["run"]["answered"], r["run"]["rate_per_s"]
        busy = r["generator_cpu_s"] / (answered / rate) if rate else 0.0
        per[(r["server"], r.get("bindings"), r["k"])].append((r["generator_cpu_s"] / answered * 1e6, busy))
    print("\n### Generator CPU (medians over repetitions)\n")
    print("| server | bindings | K | runs | µs/query | busy |")
    print("|---|---:|---:|---:|---:|---:|")
    for (s, n, k), v in sorted(per.items(), key=lambda x: (x[0][0], x[0][1] or 0, x[0][2])):
        print(f"| {s} | {n} | {k} | {len(v)} | {statistics.median(x[0] for x in v):.1f} "
              f"| {statistics.median(x[1] for x in v):.0%} |")
