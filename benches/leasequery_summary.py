#!/usr/bin/env python3
"""Markdown tables from benches/leasequery.sh results (JSON lines): per run, medians, ratios."""
import json, statistics, sys
from collections import defaultdict

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
runs = [r for r in rows if "run" in r]
imports = [r for r in rows if "import" in r]

print("### Per run\n")
print("| server | bindings | K | rep | queries/s | active | timeouts | p50 ms | p90 ms | p99 ms | max ms |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in runs:
    x, l = r["run"], r["run"]["latency_ms"]
    print(f"| {r['server']} | {r['bindings']} | {r['k']} | {r['rep']} | {x['rate_per_s']:.0f} | {x['active']} "
          f"| {x['timeouts']} | {l['p50']} | {l['p90']} | {l['p99']} | {l['max']} |")

med = defaultdict(dict)
groups = defaultdict(list)
for r in runs:
    groups[(r["server"], r["bindings"], r["k"])].append(r["run"])
print("\n### Medians over repetitions\n")
print("| server | bindings | K | runs | queries/s | p50 ms | p99 ms |")
print("|---|---:|---:|---:|---:|---:|---:|")
for (s, n, k), xs in sorted(groups.items(), key=lambda g: (g[0][0], g[0][1], g[0][2])):
    rate = statistics.median(x["rate_per_s"] for x in xs)
    p50 = statistics.median(x["latency_ms"]["p50"] or 0 for x in xs)
    p99 = statistics.median(x["latency_ms"]["p99"] or 0 for x in xs)
    med[(s, n)][k] = (rate, p50, p99)
    print(f"| {s} | {n} | {k} | {len(xs)} | {rate:.0f} | {p50:.3f} | {p99:.3f} |")

both = [(n) for (s, n) in med if s == "lessor"]
print("\n### Ratios (medians, same invocation)\n")
print("| bindings | K | Lessor/ISC | Lessor/echo (1 thread) | Lessor/echo2 (2 threads) |")
print("|---:|---:|---:|---:|---:|")
def ratio(rate, name, k):
    other = next((v[k] for (s, _), v in med.items() if s == name and k in v), None)
    return f"{rate / other[0]:.2f}" if other and other[0] else "-"
for n in both:
    for k, (rate, _, _) in sorted(med[("lessor", n)].items()):
        isc = med.get(("isc", n), {}).get(k)
        ri = f"{rate / isc[0]:.2f}" if isc and isc[0] else "-"
        print(f"| {n} | {k} | {ri} | {ratio(rate, 'echo', k)} | {ratio(rate, 'echo2', k)} |")
for i in imports:
    print(f"\nimport of {i['import']} ISC leases: {i['seconds']} s")

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
