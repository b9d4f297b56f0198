#!/usr/bin/env bash
# Recovery at start (issue 15's figure: 100,000 subscribers across two servers, under 1 s): two
# `lessor serve` on 127.0.0.1, each with a bulk listener, and one recovery
# (crates/requestor/examples/recover.rs: one bulk leasequery by relay-id to each server at once,
# merged by client-last-transaction-time), timed from the first connection to the merged table.
# Two layouts of N bindings (default 100,000) sharing relay-id "relay-000000":
# - pair:   both servers hold all N (a failover pair): 2N streamed, N merged, N conflicts;
# - halves: each holds N/2 (alternate leases): N streamed, N merged, no conflict.
# One run per layout unless --reps says more. Then the same through `lessor relay` itself (a relay
# on lo with the bindings' relay-id, [relay.recovery] naming both servers): the time from its
# start to its readiness line, and its recovery log lines.
#
# Usage (no root: loopback only):
#   benches/recover.sh [--bindings 100000] [--reps 1] [--out /tmp/recover] [--skip-build]
#
# The bindings are data in the stores: addresses 198.18.1.0 up (198.18.0.0/15, RFC 2544),
# written by benches/gen_isc_leases.py and imported with `lessor leases import --isc`.
set -euo pipefail

BINDINGS=100000
REPS=1
OUT=/tmp/recover
BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --bindings) BINDINGS=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --skip-build) BUILD=0; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ "$BINDINGS" -gt 130000 ]; then
  echo "--bindings: at most 130000 (198.18.1.0 up, inside 198.18.0.0/15)" >&2
  exit 2
fi

ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ "$BUILD" = 1 ]; then
  (cd "$ROOT" && cargo build --release -p lessor --bin lessor \
    && cargo build --release -p lessor-requestor --example recover)
fi
LESSOR=$ROOT/target/release/lessor
RECOVER=$ROOT/target/release/examples/recover
mkdir -p "$OUT"
LAST=$(python3 -c "import ipaddress; print(ipaddress.IPv4Address('198.18.1.0') + $BINDINGS - 1)")
free_port() { python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET,int(sys.argv[1])); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' "$1"; }

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
}
trap cleanup EXIT

python3 "$ROOT/benches/gen_isc_leases.py" "$BINDINGS" "$OUT/all.leases" "$BINDINGS"
# Alternate lease blocks to the two halves.
python3 - "$OUT/all.leases" "$OUT/even.leases" "$OUT/odd.leases" <<'PY'
import sys
text = open(sys.argv[1]).read()
head, _, body = text.partition("\nlease ")
blocks = ("lease " + body).split("\nlease ")
blocks = [b if b.startswith("lease ") else "lease " + b for b in blocks]
for i, path in enumerate(sys.argv[2:]):
    with open(path, "w") as f:
        f.write(head + "\n")
        f.write("\n".join(blocks[i::2]) + "\n")
PY

# Starts a server on the leases file $2 in directory $1; sets PORT to its bulk port (not run in
# a subshell, so its pid lands in PIDS).
start() {
  local dir=$1 leases=$2 udp tcp
  rm -rf "$dir"; mkdir -p "$dir"
  udp=$(free_port 2); tcp=$(free_port 1)
  cat > "$dir/lessor.toml" <<CONF
[server]
store = "$dir/lessor.db"

[dhcp4]
server-identifier = "127.0.0.1"
listen = ["127.0.0.1"]
port = $udp
relay-port = $udp
relays = ["127.0.0.0/8"]
lease-time = "1h"

[[dhcp4.subnet]]
prefix = "198.18.0.0/15"
pools = ["198.18.1.0-$LAST"]

[leasequery4]
requesters = ["127.0.0.0/8"]

[leasequery4.bulk]
listen = ["127.0.0.1"]
port = $tcp
CONF
  "$LESSOR" leases import --isc "$leases" --config "$dir/lessor.toml" > "$dir/import.log" 2>&1
  "$LESSOR" serve --config "$dir/lessor.toml" > "$dir/serve.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 600); do
    grep -q "bulk leasequery: listening" "$dir/serve.log" 2>/dev/null && break
    sleep 0.1
  done
  grep -q "bulk leasequery: listening" "$dir/serve.log" || { cat "$dir/serve.log" >&2; exit 1; }
  PORT=$tcp
}

for layout in pair halves; do
  if [ "$layout" = pair ]; then a=$OUT/all.leases; b=$OUT/all.leases; else a=$OUT/even.leases; b=$OUT/odd.leases; fi
  start "$OUT/$layout-a" "$a"; pa=$PORT
  start "$OUT/$layout-b" "$b"; pb=$PORT
  for rep in $(seq 1 "$REPS"); do
    echo "== $layout, $BINDINGS bindings, run $rep"
    "$RECOVER" relay-000000 "127.0.0.1:$pa" "127.0.0.1:$pb"
  done
  # The same through `lessor relay` itself: a relay on lo whose relay-id is the bindings' one,
  # started with an empty table; it recovers from both servers before its readiness line.
  for rep in $(seq 1 "$REPS"); do
    rdir=$OUT/$layout-relay-$rep
    rm -rf "$rdir"; mkdir -p "$rdir/state"
    cat > "$rdir/relay.toml" <<CONF
[relay]
state-dir = "$rdir/state"
relay-id = "$(printf relay-000000 | od -An -tx1 | tr -s ' \n' ':' | sed 's/^://; s/:$//')"

[relay.dhcp4]
servers = ["127.0.0.1:$(free_port 2)"]
port = $(free_port 2)

[[relay.dhcp4.interface]]
name = "lo"
giaddr = "127.0.0.1"

[relay.recovery]
servers4 = ["127.0.0.1:$pa", "127.0.0.1:$pb"]
on-demand = false
CONF
    start_ns=$(date +%s%N)
    "$LESSOR" relay --config "$rdir/relay.toml" > "$rdir/relay.log" 2>&1 &
    rpid=$!
    for _ in $(seq 1 300); do
      grep -q "relay ready:" "$rdir/relay.log" 2>/dev/null && break
      sleep 0.02
    done
    ready_ns=$(date +%s%N)
    # The relay's memory for the whole table shown over the control socket: its peak resident
    # size is reset once ready (clear_refs 5), then read after `--show --json`.
    rss_ready=$(awk '/^VmRSS/ {print $2}' "/proc/$rpid/status")
    echo 5 > "/proc/$rpid/clear_refs"
    show_start=$(date +%s%N)
    "$LESSOR" relay --config "$rdir/relay.toml" --show --json > "$rdir/show.json"
    show_ns=$(( $(date +%s%N) - show_start ))
    rss_peak=$(awk '/^VmHWM/ {print $2}' "/proc/$rpid/status")
    kill "$rpid" 2>/dev/null || true; wait "$rpid" 2>/dev/null || true
    echo "== $layout, $BINDINGS bindings, lessor relay run $rep: ready $(( (ready_ns - start_ns) / 1000000 )) ms after start"
    echo "   relay resident: ${rss_ready} kB ready, ${rss_peak} kB peak during --show --json ($(( show_ns / 1000000 )) ms, $(wc -c < "$rdir/show.json") octets)"
    grep "recovery: dhcp4" "$rdir/relay.log" | sed 's/^[^ ]* lessor: /   /'
    grep -o "relay ready:.*entries" "$rdir/relay.log" | sed 's/.*; /   table: /'
  done
  cleanup
done
