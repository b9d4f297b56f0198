#!/usr/bin/env bash
# DHCPv6 bulk leasequery (RFC 5460) over real TCP on [::1]: `lessor serve` with [dhcp6],
# [leasequery6] (UDP) and [leasequery6.bulk], a store of N relayed IA_NA bindings (default
# 1,000,000) that all came through one relay (one relay-id); per rep:
# - the server's streaming rate: `lessor perf bulk relay-id ... --repeat S` (S streams of all N
#   bindings in turn on one connection, replies counted, not decoded), bindings/s and the
#   server's CPU time (utime + stime) over those S streams;
# - the UDP leasequery p99 latency (`lessor perf leasequery`, QUERY_BY_ADDRESS, random
#   addresses) with the server idle and while `lessor perf bulk` streams of that relay-id run
#   back to back;
# and at the end the server's peak RSS (VmHWM). Prints a Markdown summary; JSON lines in
# $OUT/results.jsonl. The DHCPv4 sibling is benches/bulk.sh; both source benches/bulk_common.sh.
#
# Usage (no root needed: loopback only):
#   benches/bulk6.sh [--bindings 1000000] [--reps 3] [--streams 5] [--queries 20000]
#                    [--in-flight 8] [--source json|kea6] [--out /tmp/bulk6-bench] [--skip-build]
#
# The bindings are data in the store: addresses 2001:db8:1::1:0 up (2001:db8::/32, the
# documentation range), written by benches/gen_kea6_leases.py and imported (kept in $OUT between
# runs). Nothing is sent to them. --source json (the default): `lessor leases import --json` of
# bindings as Lessor stores a client served through a relay (relay chain and relay peer), so each
# streamed binding carries its LQ_RELAY_DATA, which the query asks for. --source kea6: `lessor
# leases import --kea6` of a Kea kea-leases6.csv with the relay in each lease's user context; Kea
# does not keep the relay's address, so those bindings have no relay peer and are streamed
# without LQ_RELAY_DATA (shorter messages). Once per run (not timed) every binding is checked to
# arrive, by `lessor bulk` (decoded) and by `lessor perf bulk` (counted).
#
# The UDP part needs `lessor perf leasequery` over DHCPv6 (an IPv6 --server); a lessor without it
# gets the p99 columns left empty, with a message saying so.
set -euo pipefail

BINDINGS=1000000
REPS=3
STREAMS=5
QUERIES=20000
INFLIGHT=8
SOURCE=json
OUT=/tmp/bulk6-bench
BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --bindings) BINDINGS=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --streams) STREAMS=$2; shift 2 ;;
    --queries) QUERIES=$2; shift 2 ;;
    --in-flight) INFLIGHT=$2; shift 2 ;;
    --source) SOURCE=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --skip-build) BUILD=0; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

case "$SOURCE" in
  json) GEN_FLAG=--json; FILE=leases6.jsonl ;;
  kea6) GEN_FLAG=; FILE=kea-leases6.csv ;;
  *) echo "--source is json or kea6" >&2; exit 2 ;;
esac

ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/benches/bulk_common.sh"
bulk_setup
# gen_kea6_leases.py's relay 0 and first address.
RELAY_ID=00020000ab1100000000
FIRST=2001:db8:1::1:0
UDP_PORT=$(free_port 2 ::1)
TCP_PORT=$(free_port 1 ::1)
LAST=$(python3 -c "import ipaddress; print(ipaddress.IPv6Address('$FIRST') + $BINDINGS - 1)")

DIR=$OUT/lessor-$SOURCE-$BINDINGS
if [ ! -s "$DIR/lessor.db" ]; then
  rm -rf "$DIR"; mkdir -p "$DIR"
  python3 "$ROOT/benches/gen_kea6_leases.py" $GEN_FLAG "$BINDINGS" "$DIR/$FILE"
fi
cat > "$DIR/lessor.toml" <<CONF
[server]
store = "$DIR/lessor.db"

[dhcp6]
server-duid = "00:02:00:00:ab:11:01:02:03:04"
listen = ["::1"]
port = $UDP_PORT

[[dhcp6.link]]
prefix = "2001:db8:1::/64"
pools = ["$FIRST-$LAST"]

[leasequery6]
requesters = ["::1/128"]
rate-limit = { per-requester = 100000000, total = 100000000 }

[leasequery6.bulk]
listen = ["::1"]
port = $TCP_PORT
# Runs follow one another: a slot is given back once the server saw the last run's close.
max-connections-per-requester = 16
CONF
if [ ! -s "$DIR/lessor.db" ]; then
  t0=$(now)
  "$LESSOR" leases import "--$SOURCE" "$DIR/$FILE" --config "$DIR/lessor.toml" \
    > "$DIR/import.log" 2>&1 || { cat "$DIR/import.log" >&2; exit 1; }
  t1=$(now)
  echo "{\"import_s\":$(python3 -c "print(round($t1 - $t0, 3))"),\"bindings\":$BINDINGS,\"source\":\"$SOURCE\"}" >> "$RESULTS"
fi

t0=$(now)
bulk_start_server "$DIR/lessor.toml" "$DIR/serve.log" "bulk leasequery: listening"
t1=$(now)
echo "{\"start_s\":$(python3 -c "print(round($t1 - $t0, 3))")}" >> "$RESULTS"

SERVER="[::1]:$TCP_PORT"
perf_bulk() { # STREAMS
  "$LESSOR" perf bulk relay-id "$RELAY_ID" --server "$SERVER" --repeat "$1" --json
}
lq() {
  "$LESSOR" perf leasequery --server "[::1]:$UDP_PORT" --bind "[::1]:0" --by ip \
    --addresses "$FIRST-$LAST" --random --in-flight "$INFLIGHT" "$@"
}
perf_p99() { lq --queries "$QUERIES" --json | p99_of; }

# Every binding arrives (checked once, not timed): by the requestor and by perf bulk.
got=$("$LESSOR" bulk relay-id "$RELAY_ID" --server "$SERVER" --json | wc -l)
[ "$got" = "$BINDINGS" ] || { echo "lessor bulk: $got bindings, want $BINDINGS" >&2; exit 1; }
got=$(perf_bulk 1 | field bindings)
[ "$got" = "$BINDINGS" ] || { echo "perf bulk counted $got, want $BINDINGS" >&2; exit 1; }

# Whether `lessor perf leasequery` speaks DHCPv6 here, and every query is answered with a binding.
UDP=1
if lq_probe lq 2> "$OUT/lq-probe.log"; then :; else
  rc=$?
  [ "$rc" = 1 ] || { cat "$OUT/lq-probe.log" >&2; exit 1; }
  UDP=0
  echo "UDP p99 skipped: this lessor's \`perf leasequery\` does not take a DHCPv6 server:" >&2
  head -3 "$OUT/lq-probe.log" | sed 's/^/  /' >&2
fi

for rep in $(seq 1 "$REPS"); do
  # The server's rate: STREAMS streams in turn on one connection, timed by perf bulk.
  c0=$(server_cpu); pb=$(perf_bulk "$STREAMS"); c1=$(server_cpu)
  pb_rate=$(echo "$pb" | field bindings_per_s)
  pb_total=$(echo "$pb" | field bindings)
  pb_mib=$(echo "$pb" | field mib_per_s)
  [ "$pb_total" = "$((BINDINGS * STREAMS))" ] || { echo "perf bulk got $pb_total" >&2; exit 1; }
  pb_cpu=$(python3 -c "print(round($c1 - $c0, 3))")
  idle=null; busy=null
  if [ "$UDP" = 1 ]; then
    idle=$(perf_p99)
    # perf bulk streams back to back for the whole perf run.
    busy=$(streaming_p99 perf_p99 "$LESSOR" perf bulk relay-id "$RELAY_ID" --server "$SERVER" \
      --repeat 2)
  fi
  echo "{\"rep\":$rep,\"source\":\"$SOURCE\",\"bindings\":$BINDINGS,\"streams\":$STREAMS,\"perf_bulk_rate\":$pb_rate,\"perf_bulk_mib_per_s\":$pb_mib,\"perf_bulk_server_cpu_s\":$pb_cpu,\"udp_p99_idle_ms\":$idle,\"udp_p99_streaming_ms\":$busy}" >> "$RESULTS"
done
echo "{\"server_vmhwm_kib\":$(server_hwm)}" >> "$RESULTS"

python3 - "$RESULTS" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
hwm = next(r["server_vmhwm_kib"] for r in rows if "server_vmhwm_kib" in r)
runs = [r for r in rows if "rep" in r]
udp = all(r["udp_p99_idle_ms"] is not None for r in runs)
def cpu_rate(r):
    return r["bindings"] * r["streams"] / r["perf_bulk_server_cpu_s"]
def ms(v):
    return "-" if v is None else f"{v:.3f}"
def ratio(r):
    i, b = r["udp_p99_idle_ms"], r["udp_p99_streaming_ms"]
    return "-" if i is None or b is None else f"{b / i:.2f}"
print("| rep | perf bulk bindings/s | MiB/s | server CPU (s) for the streams | bindings per server CPU-s | UDP p99 idle (ms) | UDP p99 streaming (ms) | ratio |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in runs:
    print(f"| {r['rep']} | {r['perf_bulk_rate']:,.0f} | {r['perf_bulk_mib_per_s']:.1f} | "
          f"{r['perf_bulk_server_cpu_s']:.2f} | {cpu_rate(r):,.0f} | {ms(r['udp_p99_idle_ms'])} | "
          f"{ms(r['udp_p99_streaming_ms'])} | {ratio(r)} |")
print()
med = lambda f: statistics.median(f(r) for r in runs)
line = (f"median over {len(runs)} rep(s), {runs[0]['bindings']:,} bindings ({runs[0]['source']}) x {runs[0]['streams']} "
        f"streams: {med(lambda r: r['perf_bulk_rate']):,.0f} bindings/s, "
        f"{med(cpu_rate):,.0f} bindings per server CPU-s")
if udp:
    line += (f"; UDP p99 idle {med(lambda r: r['udp_p99_idle_ms']):.3f} ms, streaming "
             f"{med(lambda r: r['udp_p99_streaming_ms']):.3f} ms, ratio "
             f"{med(lambda r: r['udp_p99_streaming_ms'] / r['udp_p99_idle_ms']):.2f}")
else:
    line += "; UDP p99 not measured (no DHCPv6 `lessor perf leasequery`)"
print(line)
for r in rows:
    if "import_s" in r:
        print(f"import of {r['bindings']:,} bindings (lessor leases import --{r['source']}): {r['import_s']:.1f} s")
    if "start_s" in r:
        print(f"server start (store load) to listening: {r['start_s']:.1f} s")
print(f"server peak RSS (VmHWM): {hwm/1024:.1f} MiB")
PY
