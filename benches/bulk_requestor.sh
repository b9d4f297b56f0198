#!/usr/bin/env bash
# The bulk leasequery requestor's speed (`lessor bulk`) against the server's streaming rate
# (`lessor perf bulk`), on one `lessor serve` on 127.0.0.1 whose store holds N bindings (default
# 130,000: the 198.18.0.0/15 benchmarking range holds 131,072 addresses) that all share one
# relay-id. Per repetition, in this order and on the same server:
# - perf:          `lessor perf bulk relay-id R --json` (replies counted, not decoded): the
#                  server's rate, the baseline;
# - json-null:     `lessor bulk relay-id R --json > /dev/null`;
# - json-pipe:     `lessor bulk relay-id R --json | cat > /dev/null` (what a NOC script reads);
# - table-null:    `lessor bulk relay-id R > /dev/null`;
# - table-pipe:    `lessor bulk relay-id R | cat > /dev/null`.
# Each time is the wall-clock time of the whole command (process start to exit, connection
# included), and the CPU time (user + system) of the processes it ran: on a shared machine the
# CPU time moves less than the wall clock. Prints one line per measurement and a Markdown
# summary of medians, with each requestor time as bindings/s and as a multiple of the perf time
# measured in the same repetition; JSON lines in $OUT/results.jsonl.
#
# Usage (no root needed: loopback only):
#   benches/bulk_requestor.sh [--bindings 130000] [--reps 5] [--dialect rfc6926]
#                             [--out /tmp/bulk-requestor] [--lessor PATH] [--skip-build]
#
# The bindings are data in the store: addresses 198.18.1.0 up, written in ISC format by
# benches/gen_isc_leases.py and imported with `lessor leases import --isc`. Nothing is sent to
# them.
set -euo pipefail

BINDINGS=130000
REPS=5
DIALECT=rfc6926
OUT=/tmp/bulk-requestor
BUILD=1
LESSOR=
while [ $# -gt 0 ]; do
  case "$1" in
    --bindings) BINDINGS=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --dialect) DIALECT=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --lessor) LESSOR=$2; BUILD=0; shift 2 ;;
    --skip-build) BUILD=0; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ "$BINDINGS" -gt 131000 ]; then
  echo "--bindings: at most 131000 (198.18.1.0 up, inside 198.18.0.0/15)" >&2
  exit 2
fi

ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ "$BUILD" = 1 ]; then
  (cd "$ROOT" && cargo build --release -p lessor --bin lessor)
fi
LESSOR=${LESSOR:-$ROOT/target/release/lessor}
RELAY_ID=relay-000000
mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl
: > "$RESULTS"

free_port() { python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET,int(sys.argv[1])); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' "$1"; }
UDP_PORT=$(free_port 2)
TCP_PORT=$(free_port 1)
LAST=$(python3 -c "import ipaddress; print(ipaddress.IPv4Address('198.18.1.0') + $BINDINGS - 1)")

SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
}
trap cleanup EXIT

DIR=$OUT/lessor-$BINDINGS
cat > "$DIR.toml" <<CONF
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

[leasequery4.bulk]
listen = ["127.0.0.1"]
port = $TCP_PORT
CONF
if [ ! -s "$DIR/lessor.db" ]; then
  rm -rf "$DIR"; mkdir -p "$DIR"
  python3 "$ROOT/benches/gen_isc_leases.py" "$BINDINGS" "$DIR/dhcpd.leases" "$BINDINGS"
  "$LESSOR" leases import --isc "$DIR/dhcpd.leases" --config "$DIR.toml" > "$DIR/import.log" 2>&1
fi

"$LESSOR" serve --config "$DIR.toml" > "$DIR/serve.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 600); do
  grep -q "bulk leasequery: listening" "$DIR/serve.log" 2>/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$DIR/serve.log" >&2; exit 1; }
  sleep 0.1
done

Q=(relay-id "$RELAY_ID" --server "127.0.0.1:$TCP_PORT" --dialect "$DIALECT")
now() { date +%s.%N; }
# Runs "$1" through bash -c (so a pipe is part of what is timed); prints the wall-clock seconds
# and the CPU seconds (user + system) of everything it ran (lessor, and cat for a pipe).
timed() {
  python3 -c '
import resource, subprocess, sys, time
t = time.monotonic()
subprocess.run(["bash", "-c", sys.argv[1]], check=True)
wall = time.monotonic() - t
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(round(wall, 4), round(r.ru_utime + r.ru_stime, 4))' "$1"
}
L=$(printf '%q' "$LESSOR")
QS=$(printf '%q ' "${Q[@]}")

# Every binding arrives, in both outputs (checked once, not timed).
got=$("$LESSOR" bulk "${Q[@]}" --json | wc -l)
[ "$got" = "$BINDINGS" ] || { echo "json: $got lines, want $BINDINGS" >&2; exit 1; }
got=$("$LESSOR" bulk "${Q[@]}" | wc -l)
[ "$got" = "$((BINDINGS + 1))" ] || { echo "table: $got lines, want $BINDINGS + header" >&2; exit 1; }
got=$("$LESSOR" perf bulk "${Q[@]}" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["bindings"])')
[ "$got" = "$BINDINGS" ] || { echo "perf bulk: $got bindings, want $BINDINGS" >&2; exit 1; }

for rep in $(seq 1 "$REPS"); do
  read -r perf perf_cpu <<< "$(timed "$L perf bulk $QS --json > /dev/null")"
  read -r json_null json_null_cpu <<< "$(timed "$L bulk $QS --json > /dev/null")"
  read -r json_pipe json_pipe_cpu <<< "$(timed "$L bulk $QS --json | cat > /dev/null")"
  read -r table_null table_null_cpu <<< "$(timed "$L bulk $QS > /dev/null")"
  read -r table_pipe table_pipe_cpu <<< "$(timed "$L bulk $QS | cat > /dev/null")"
  line=$(printf '{"rep": %s, "bindings": %s, "dialect": "%s", "perf": %s, "json_null": %s, "json_pipe": %s, "table_null": %s, "table_pipe": %s, "cpu": {"perf": %s, "json_null": %s, "json_pipe": %s, "table_null": %s, "table_pipe": %s}}' \
    "$rep" "$BINDINGS" "$DIALECT" "$perf" "$json_null" "$json_pipe" "$table_null" "$table_pipe" \
    "$perf_cpu" "$json_null_cpu" "$json_pipe_cpu" "$table_null_cpu" "$table_pipe_cpu")
  echo "$line" | tee -a "$RESULTS"
done

python3 - "$RESULTS" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
n = rows[0]["bindings"]
print()
print(f"| what | median s | min s | max s | median bindings/s | median × perf bulk | median CPU s | bindings per CPU-s |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for k, name in [("perf", "`lessor perf bulk` (server rate)"),
                ("json_null", "`lessor bulk --json > /dev/null`"),
                ("json_pipe", "`lessor bulk --json \\| cat > /dev/null`"),
                ("table_null", "`lessor bulk > /dev/null`"),
                ("table_pipe", "`lessor bulk \\| cat > /dev/null`")]:
    v = [r[k] for r in rows]
    ratio = statistics.median(r[k] / r["perf"] for r in rows)
    med = statistics.median(v)
    cpu = statistics.median(r["cpu"][k] for r in rows)
    print(f"| {name} | {med:.3f} | {min(v):.3f} | {max(v):.3f} | {n / med:,.0f} | {ratio:.2f} | {cpu:.3f} | {n / cpu:,.0f} |")
PY
