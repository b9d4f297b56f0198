#!/usr/bin/env bash
# DHCP service under a flood of expensive leasequeries (issue 12, item 6): DORA rate and leasequery
# latency without and with a flood of queries by the relay-id of a relay with N bindings, for one
# or more `lessor` binaries in the same invocation (interleaved by repetition, so a noisy
# neighbour hits them alike). Results: JSON lines in $OUT/results.jsonl, a Markdown table on
# stdout.
#
# Usage (root: network namespaces, port 67):
#   benches/lq_flood.sh --binary new=target/release/lessor [--binary base=/tmp/base/lessor]
#                       [--bindings 100000] [--reps 3] [--clients 25000] [--duration 6s]
#                       [--flood-in-flight 32] [--rate-limit "PER TOTAL" | default]
#                       [--out /tmp/lq-flood]
#
# Topology: two namespaces joined by a veth pair. lqf-srv holds 198.18.0.1/15 (the server under
# test); lqf-cli holds 198.18.0.2 (the DORA generator's relay: giaddr, bound to :67),
# 198.18.0.3 (the flooding requester) and 198.18.0.4 (an ordinary requester asking by IP, one
# query at a time: what the flood does to everyone else), each bound to its :67 (replies go to
# giaddr port 67). The store: N active leases of one relay-id ("relay-000000"), from 198.18.1.0
# up, imported from an ISC leases file (benches/gen_isc_leases.py); the DORA clients are new
# clients of the same pool. Rate limits: the defaults, or --rate-limit (e.g. "100000000
# 100000000": out of the way, to see the bounded work alone). The generators are always the first binary's
# `lessor perf`. Namespaces and processes are removed on exit.
#
# Each repetition and binary, on a fresh copy of the store:
#   dora:  `perf dora` (new clients) alone, with the server's CPU time (utime + stime from
#          /proc/PID/stat) per completed DORA;
#   quiet: `perf dora` (new clients) and the by-IP requester, together, no flood;
#   flood: the same, while the flooding requester keeps --flood-in-flight queries by relay-id
#          outstanding (timeout 1 s, no retransmission) for the whole run.
set -euo pipefail

BINARIES=()
BINDINGS=100000
REPS=3
CLIENTS=25000
DURATION=6s
FLOOD_K=32
OUT=/tmp/lq-flood
RATE_LIMIT=default
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) BINARIES+=("$2"); shift 2 ;;
    --bindings) BINDINGS=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --clients) CLIENTS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --flood-in-flight) FLOOD_K=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --rate-limit) RATE_LIMIT=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
[ ${#BINARIES[@]} -gt 0 ] || { echo "give at least one --binary NAME=PATH" >&2; exit 2; }
# The pool 198.18.1.0-198.19.255.250 holds 130,811 addresses: the bindings and one run's clients.
if [ $((BINDINGS + CLIENTS)) -gt 130811 ]; then
  echo "--bindings + --clients must fit the pool's 130,811 addresses" >&2; exit 2
fi

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRV=lqf-srv
CLI=lqf-cli
SRV_IP=198.18.0.1
DORA_IP=198.18.0.2
FLOOD_IP=198.18.0.3
PROBE_IP=198.18.0.4
mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl
: > "$RESULTS"
GEN=$(cd "$ROOT" && realpath "${BINARIES[0]#*=}")

PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  netns_pair_del $SRV $CLI
}
. "$ROOT/benches/netns_pair.sh"
trap cleanup EXIT
netns_pair $SRV $CLI lqf $SRV_IP/15 $DORA_IP/15 $FLOOD_IP/15 $PROBE_IP/15

LEASES=$OUT/$BINDINGS.leases
[ -s "$LEASES" ] || python3 "$ROOT/benches/gen_isc_leases.py" "$BINDINGS" "$LEASES" "$BINDINGS"
echo "relay-000000" > "$OUT/relay.txt"

config() { # DIR BIN
  cat > "$1/lessor.toml" <<CONF
[server]
store = "lessor.db"

[dhcp4]
server-identifier = "$SRV_IP"
listen = ["$SRV_IP"]
port = 67
relay-port = 67
relays = ["198.18.0.0/15"]
lease-time = "1h"

[[dhcp4.subnet]]
prefix = "198.18.0.0/15"
pools = ["198.18.1.0-198.19.255.250"]
options = { routers = ["$SRV_IP"] }

[leasequery4]
requesters = ["198.18.0.0/15"]
$(if [ "$RATE_LIMIT" != default ]; then set -- $RATE_LIMIT; echo "rate-limit = { per-requester = $1, total = $2 }"; fi)
CONF
  # The DORA generator is one relay: a DHCP per-relay limit (2,000/s by default where the binary
  # has one) would be the DORA figure. Binaries without [dhcp4.rate-limit] refuse the key.
  printf '\n[dhcp4.rate-limit]\nper-relay = 0\n' >> "$1/lessor.toml"
  "$2" check "$1/lessor.toml" > /dev/null 2>&1 || sed -i '/^\[dhcp4.rate-limit\]$/,$d' "$1/lessor.toml"
}

# store NAME BIN: the imported store of that binary (imported once), copied for a run.
store() {
  local dir=$OUT/$1
  if [ ! -s "$dir/base.db" ]; then
    rm -rf "$dir"; mkdir -p "$dir"; config "$dir" "$2"
    "$2" leases import --isc "$LEASES" --config "$dir/lessor.toml" > "$dir/import.log" 2>&1
    mv "$dir/lessor.db" "$dir/base.db"
  fi
  config "$dir" "$2"  # the store is reused; the config follows this invocation's options
  rm -f "$dir"/lessor.db*
  cp "$dir/base.db" "$dir/lessor.db"
}

SERVER_PID=
start() { # NAME BIN
  store "$1" "$2"
  ip netns exec $SRV "$2" serve --config "$OUT/$1/lessor.toml" > "$OUT/$1/serve.log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  for _ in $(seq 1 300); do
    if ip netns exec $CLI "$GEN" perf leasequery --server $SRV_IP:67 --bind $PROBE_IP:67 --by ip \
        --addresses 198.18.1.0-198.18.1.0 --queries 1 --timeout 200ms --json 2>/dev/null \
        | grep -q '"answered":1'; then
      return 0
    fi
    sleep 0.2
  done
  echo "$1 did not answer" >&2; return 1
}
stop() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}

run() { # NAME REP PHASE SEED
  local name=$1 rep=$2 phase=$3 seed=$4 flood_pid= probe_pid= u0 s0 u1 s1
  if [ "$phase" = flood ]; then
    ip netns exec $CLI "$GEN" perf leasequery --server $SRV_IP:67 --bind $FLOOD_IP:67 \
      --by relay-id --from-file "$OUT/relay.txt" --queries 100000000 --in-flight "$FLOOD_K" \
      --timeout 1s --duration "$DURATION" --seed "$seed" --json > "$OUT/flood.json" &
    flood_pid=$!; PIDS+=("$flood_pid")
    sleep 0.3
  fi
  if [ "$phase" != dora ]; then
    ip netns exec $CLI "$GEN" perf leasequery --server $SRV_IP:67 --bind $PROBE_IP:67 --by ip \
      --addresses "198.18.1.0-198.18.255.255" --random --queries 100000000 --in-flight 1 \
      --timeout 1s --duration "$DURATION" --seed "$seed" --json > "$OUT/probe.json" &
    probe_pid=$!; PIDS+=("$probe_pid")
  fi
  read -r u0 s0 < <(awk '{print $14, $15}' /proc/$SERVER_PID/stat)
  local dora
  dora=$(ip netns exec $CLI "$GEN" perf dora --server $SRV_IP:67 --bind $DORA_IP:67 \
    --clients "$CLIENTS" --in-flight 64 --duration "$DURATION" --seed "$seed" --json)
  read -r u1 s1 < <(awk '{print $14, $15}' /proc/$SERVER_PID/stat)
  local probe=null flood=null
  if [ -n "$probe_pid" ]; then wait "$probe_pid" || true; probe=$(cat "$OUT/probe.json"); fi
  if [ -n "$flood_pid" ]; then wait "$flood_pid" || true; flood=$(cat "$OUT/flood.json"); fi
  echo "{\"binary\":\"$name\",\"rep\":$rep,\"phase\":\"$phase\",\"server_cpu_s\":$(python3 -c "print(($u1 - $u0 + $s1 - $s0) / $(getconf CLK_TCK))"),\"dora\":$dora,\"probe\":$probe,\"flood\":$flood}" >> "$RESULTS"
  echo "$name rep=$rep $phase: $(tail -n1 "$RESULTS" | python3 -c '
import json,sys
r=json.load(sys.stdin); d=r["dora"]; p=r["probe"]; f=r["flood"]
s="dora %.0f/s (%d done, p99 %s ms, server %.0f us CPU each)" % (d["rate_per_s"], d["completed"], ((d["latency_ms"] or {}).get("dora") or {}).get("p99"), 1e6 * r["server_cpu_s"] / max(d["completed"], 1))
if p: s+="; by-ip p99 %s ms" % (p["latency_ms"] or {}).get("p99")
if f: s+="; flood %.0f answered/s, %d timeouts, p99 %s ms" % (f["rate_per_s"], f["timeouts"], (f["latency_ms"] or {}).get("p99"))
print(s)')" >&2
}

for rep in $(seq 1 "$REPS"); do
  for b in "${BINARIES[@]}"; do
    name=${b%%=*}; bin=$(cd "$ROOT" && realpath "${b#*=}")
    for phase in dora quiet flood; do
      start "$name" "$bin"
      run "$name" "$rep" "$phase" $((rep * 1000 + 17))
      stop
    done
  done
done

python3 - "$RESULTS" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None
print("| binary | phase | DORA/s | DORA p99 ms | server CPU µs per DORA | by-IP p99 ms | flood answered/s | flood p99 ms | flood timeouts |")
print("|---|---|---|---|---|---|---|---|---|")
for b in dict.fromkeys(r["binary"] for r in rows):
    for ph in ("dora", "quiet", "flood"):
        rs = [r for r in rows if r["binary"] == b and r["phase"] == ph]
        if not rs:
            continue
        f = [r["flood"] for r in rs if r["flood"]]
        cell = lambda x, fmt: "-" if x is None else fmt % x
        print("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            b, ph,
            cell(med(r["dora"]["rate_per_s"] for r in rs), "%.0f"),
            cell(med(((r["dora"]["latency_ms"] or {}).get("dora") or {}).get("p99") for r in rs), "%.2f"),
            cell(med(1e6 * r["server_cpu_s"] / max(r["dora"]["completed"], 1) for r in rs) if ph == "dora" else None, "%.0f"),
            cell(med(((r["probe"] or {}).get("latency_ms") or {}).get("p99") for r in rs), "%.2f"),
            cell(med(x["rate_per_s"] for x in f), "%.0f"),
            cell(med((x["latency_ms"] or {}).get("p99") for x in f), "%.2f"),
            cell(med(x["timeouts"] for x in f), "%d")))
print("\n(medians of %d repetitions; %s)" % (max(r["rep"] for r in rows), sys.argv[1]))
PY
