#!/usr/bin/env bash
# Bulk leasequery over real TCP on 127.0.0.1: `lessor serve` with a store of N bindings (default
# 130,000) that all share one relay-id; per dialect:
# - the server's streaming rate: `lessor perf bulk relay-id ... --repeat S` (S streams of all N
#   bindings in turn on one connection, replies counted, not decoded), bindings/s and the
#   server's CPU time (utime + stime) over those S streams;
# - the time `lessor bulk relay-id ... --json >/dev/null` (the requestor, one JSON object per
#   binding) takes for one stream;
# - the UDP leasequery p99 latency (`lessor perf leasequery`, by IP, random addresses) with the
#   server idle and while `lessor perf bulk` streams of that relay-id run back to back;
# and at the end the server's peak RSS (VmHWM). Prints a Markdown summary; JSON lines in
# $OUT/results.jsonl.
#
# Usage (no root needed: loopback only):
#   benches/bulk.sh [--bindings 130000] [--reps 3] [--streams 5] [--queries 20000]
#                   [--in-flight 8] [--out /tmp/bulk-bench] [--skip-build]
#
# The bindings are data in the store: addresses 198.18.1.0 up (inside 198.18.0.0/15, a
# benchmarking range), written in ISC format by benches/gen_isc_leases.py and imported with
# `lessor leases import --isc`. Nothing is sent to them.
set -euo pipefail

BINDINGS=130000
REPS=3
STREAMS=5
QUERIES=20000
INFLIGHT=8
OUT=/tmp/bulk-bench
BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --bindings) BINDINGS=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --streams) STREAMS=$2; shift 2 ;;
    --queries) QUERIES=$2; shift 2 ;;
    --in-flight) INFLIGHT=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --skip-build) BUILD=0; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/benches/bulk_common.sh"
bulk_setup
RELAY_ID=relay-000000
UDP_PORT=$(free_port 2 127.0.0.1)
TCP_PORT=$(free_port 1 127.0.0.1)
last_addr() { python3 -c "import ipaddress; print(ipaddress.IPv4Address('198.18.1.0') + $1 - 1)"; }
LAST=$(last_addr "$BINDINGS")

DIR=$OUT/lessor-$BINDINGS
if [ ! -s "$DIR/lessor.db" ]; then
  rm -rf "$DIR"; mkdir -p "$DIR"
  python3 "$ROOT/benches/gen_isc_leases.py" "$BINDINGS" "$DIR/dhcpd.leases" "$BINDINGS"
fi
cat > "$DIR/lessor.toml" <<CONF
[server]
store = "$DIR/lessor.db"

[dhcp4]
server-identifier = "127.0.0.1"
listen = ["127.0.0.1"]
port = $UDP_PORT
relay-port = $UDP_PORT
relays = ["127.0.0.0/8"]
lease-time = "1h"

[[dhcp4.subnet]]
prefix = "198.18.0.0/15"
pools = ["198.18.1.0-$LAST"]

[leasequery4]
requesters = ["127.0.0.0/8"]
# perf leasequery queries from an ephemeral port, giaddr 127.0.0.1: answered there, not at :67.
reply-to-source-port = ["127.0.0.0/8"]
rate-limit = { per-requester = 100000000, total = 100000000 }

[leasequery4.bulk]
listen = ["127.0.0.1"]
port = $TCP_PORT
# Runs follow one another: a slot is given back once the server saw the last run's close.
max-connections-per-requester = 16
CONF
if [ ! -s "$DIR/lessor.db" ]; then
  "$LESSOR" leases import --isc "$DIR/dhcpd.leases" --config "$DIR/lessor.toml" > "$DIR/import.log" 2>&1
fi

bulk_start_server "$DIR/lessor.toml" "$DIR/serve.log" "bulk leasequery: listening"

bulk() { # DIALECT
  "$LESSOR" bulk relay-id "$RELAY_ID" --server "127.0.0.1:$TCP_PORT" --dialect "$1" --json
}
perf_bulk() { # DIALECT STREAMS
  "$LESSOR" perf bulk relay-id "$RELAY_ID" --server "127.0.0.1:$TCP_PORT" --dialect "$1" \
    --repeat "$2" --json
}
lq() {
  "$LESSOR" perf leasequery --server "127.0.0.1:$UDP_PORT" --bind 127.0.0.1:0 --by ip \
    --addresses "198.18.1.0-$LAST" --random --in-flight "$INFLIGHT" "$@"
}
perf_p99() { lq --queries "$QUERIES" --json | p99_of; }

# Every binding arrives (checked once per dialect, not timed): by the requestor and by perf bulk.
for d in rfc6926 draft; do
  got=$(bulk "$d" | wc -l)
  [ "$got" = "$BINDINGS" ] || { echo "$d: $got bindings, want $BINDINGS" >&2; exit 1; }
  got=$(perf_bulk "$d" 1 | field bindings)
  [ "$got" = "$BINDINGS" ] || { echo "$d: perf bulk counted $got, want $BINDINGS" >&2; exit 1; }
done

lq_probe lq || exit 1

for rep in $(seq 1 "$REPS"); do
  for d in rfc6926 draft; do
    # The server's rate: STREAMS streams in turn on one connection, timed by perf bulk.
    c0=$(server_cpu); pb=$(perf_bulk "$d" "$STREAMS"); c1=$(server_cpu)
    pb_rate=$(echo "$pb" | field bindings_per_s)
    pb_total=$(echo "$pb" | field bindings)
    [ "$pb_total" = "$((BINDINGS * STREAMS))" ] || { echo "$d: perf bulk got $pb_total" >&2; exit 1; }
    pb_cpu=$(python3 -c "print(round($c1 - $c0, 3))")
    # The requestor: one stream, one JSON object per binding.
    t0=$(now); bulk "$d" > /dev/null; t1=$(now)
    secs=$(python3 -c "print(round($t1 - $t0, 3))")
    idle=$(perf_p99)
    # perf bulk streams back to back for the whole perf run.
    busy=$(streaming_p99 perf_p99 "$LESSOR" perf bulk relay-id "$RELAY_ID" \
      --server "127.0.0.1:$TCP_PORT" --dialect "$d" --repeat 10)
    echo "{\"rep\":$rep,\"dialect\":\"$d\",\"bindings\":$BINDINGS,\"streams\":$STREAMS,\"perf_bulk_rate\":$pb_rate,\"perf_bulk_server_cpu_s\":$pb_cpu,\"stream_s\":$secs,\"udp_p99_idle_ms\":$idle,\"udp_p99_streaming_ms\":$busy}" >> "$RESULTS"
  done
done
HWM=$(server_hwm)
echo "{\"server_vmhwm_kib\":$HWM}" >> "$RESULTS"

python3 - "$RESULTS" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
hwm = next(r["server_vmhwm_kib"] for r in rows if "server_vmhwm_kib" in r)
runs = [r for r in rows if "dialect" in r]
def cpu_rate(r):
    return r["bindings"] * r["streams"] / r["perf_bulk_server_cpu_s"]
print("| dialect | rep | perf bulk bindings/s | server CPU (s) for the streams | bindings per server CPU-s | `lessor bulk --json` (s) | UDP p99 idle (ms) | UDP p99 streaming (ms) | ratio |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in runs:
    print(f"| {r['dialect']} | {r['rep']} | {r['perf_bulk_rate']:,.0f} | {r['perf_bulk_server_cpu_s']:.2f} | {cpu_rate(r):,.0f} | "
          f"{r['stream_s']:.3f} | {r['udp_p99_idle_ms']:.3f} | {r['udp_p99_streaming_ms']:.3f} | "
          f"{r['udp_p99_streaming_ms']/r['udp_p99_idle_ms']:.2f} |")
print()
print("| dialect | median perf bulk bindings/s | median bindings per server CPU-s | median `lessor bulk --json` (s) | median p99 idle (ms) | median p99 streaming (ms) | median ratio |")
print("|---|---:|---:|---:|---:|---:|---:|")
for d in ("rfc6926", "draft"):
    rs = [r for r in runs if r["dialect"] == d]
    med = lambda f: statistics.median(f(r) for r in rs)
    print(f"| {d} | {med(lambda r: r['perf_bulk_rate']):,.0f} | {med(cpu_rate):,.0f} | "
          f"{med(lambda r: r['stream_s']):.3f} | "
          f"{med(lambda r: r['udp_p99_idle_ms']):.3f} | {med(lambda r: r['udp_p99_streaming_ms']):.3f} | "
          f"{med(lambda r: r['udp_p99_streaming_ms']/r['udp_p99_idle_ms']):.2f} |")
print()
print(f"server peak RSS (VmHWM): {hwm/1024:.1f} MiB")
PY
