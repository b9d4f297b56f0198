#!/usr/bin/env bash
# DHCPv6 leasequery (RFC 5007) QUERY_BY_ADDRESS throughput and latency: `lessor serve` vs ISC dhcpd
# 4.4.3 -6 vs a UDP echo ceiling, measured by `lessor perf leasequery` in the same invocation, then
# Lessor's latency at several table sizes, for IA_NA addresses and for addresses inside delegated
# prefixes. The DHCPv6 sibling of benches/leasequery.sh. Results: JSON lines in $OUT/results.jsonl
# and a Markdown summary (benches/leasequery_summary.py) on stdout. `lessor-seg` is Lessor with
# `segment-replies = true` (runs of replies leave with UDP segmentation offload); --segment-replies
# sets it for part 2 too.
#
# Usage (root: network namespaces, port 547):
#   benches/leasequery6.sh [--bindings 100000] [--sizes "10000 100000 1000000"] [--in-flight "1 16 64"]
#                          [--reps 3] [--queries 50000] [--out /tmp/lq6-bench] [--skip-build] [--pin]
#                          [--parts "1 2"] [--servers "lessor lessor-seg isc echo echo2"]
#                          [--rate-limit "PER TOTAL" | default] [--timeout 1s] [--segment-replies]
#
# Topology: two namespaces joined by a veth pair, one link 2001:db8:ff::/64 (DAD off): lq6-srv holds
# 2001:db8:ff::1 (the server under test, port 547), lq6-cli 2001:db8:ff::2 (the generator, bound to
# [2001:db8:ff::2]:546, the client port: ISC dhcpd 4.4.3 answers a LEASEQUERY there whatever its
# source port; Lessor and udp_echo answer the source port, the same one). The namespaces are
# deleted on exit. Bindings: N active bindings of N/2 clients, each an IA_NA address from
# 2001:db8:ff::1:0 up and an IA_PD /60 from 2001:db8:8000::/33 up, written once in dhcpd6.leases
# format (benches/gen_isc_leases.py -6) and loaded by both servers (Lessor through
# `lessor leases import --isc6`).
#
# Part 1 (servers compared) asks for the IA_NA addresses: ISC dhcpd 4.4.3 looks addresses up in its
# address pools only (an address inside a delegated prefix gets NotConfigured, see
# tests/e2e/test_query_cli_isc6.py). Part 2 (Lessor alone) asks for both, labelled lessor-size-na
# and lessor-size-pd.
set -euo pipefail

BINDINGS=100000
SIZES="10000 100000 1000000"
INFLIGHT="1 16 64"
REPS=3
QUERIES=50000
OUT=/tmp/lq6-bench
BUILD=1
PIN=0
PARTS="1 2"
SERVERS="lessor isc echo echo2"
RATE_LIMIT="100000000 100000000"
TIMEOUT=1s
SEGMENT_PART2=0
while [ $# -gt 0 ]; do
  case "$1" in
    --bindings) BINDINGS=$2; shift 2 ;;
    --sizes) SIZES=$2; shift 2 ;;
    --in-flight) INFLIGHT=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --queries) QUERIES=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --skip-build) BUILD=0; shift ;;
    --pin) PIN=1; shift ;;  # server on CPU 1, generator on CPU 0 (less scheduler noise)
    --parts) PARTS=$2; shift 2 ;;  # 1: servers compared, 2: table sizes
    --servers) SERVERS=$2; shift 2 ;;  # part 1: which of lessor isc echo echo2
    --rate-limit) RATE_LIMIT=$2; shift 2 ;;  # Lessor's [leasequery6] rate-limit; "default": left out
    --timeout) TIMEOUT=$2; shift 2 ;;  # the generator's wait for an answer
    --segment-replies) SEGMENT_PART2=1; shift ;;  # part 2 with [dhcp6] segment-replies = true
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

SRV_RUN=()
CLI_RUN=()
if [ "$PIN" = 1 ]; then SRV_RUN=(taskset -c 1); CLI_RUN=(taskset -c 0); fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRV=lq6-srv
CLI=lq6-cli
SRV_IP=2001:db8:ff::1
CLI_IP=2001:db8:ff::2
FIRST_NA=2001:db8:ff::1:0
mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl
: > "$RESULTS"

for n in $BINDINGS $SIZES; do
  if [ $((n % 2)) != 0 ] || [ "$n" -lt 2 ] || [ "$n" -gt 2000000 ]; then
    echo "$n bindings: an even number from 2 to 2,000,000 (an address and a prefix per client)" >&2; exit 2
  fi
done

if [ "$BUILD" = 1 ]; then
  (cd "$ROOT" && cargo build --release -p lessor --bin lessor && cargo build --release -p lessor-perf --example udp_echo)
fi
LESSOR=$ROOT/target/release/lessor
ECHO=$ROOT/target/release/examples/udp_echo

. "$ROOT/benches/netns_pair.sh"
cleanup() {
  stop_server
  netns_pair_del $SRV $CLI
}
trap cleanup EXIT

netns_pair $SRV $CLI lq6 $SRV_IP/64 $CLI_IP/64

last_na() { # FIRST_NA + N/2 - 1: the last client's address
  python3 -c "import ipaddress,sys; print(ipaddress.IPv6Address(int(ipaddress.IPv6Address('$FIRST_NA')) + int(sys.argv[1]) // 2 - 1))" "$1"
}

# perf LABEL N K REP KIND [extra args]: one run, one JSON line tagged with what was measured. KIND
# na: the IA_NA addresses in turn or at random (--addresses); pd: one address inside each
# delegated prefix (--from-file).
perf() {
  local server=$1 n=$2 k=$3 rep=$4 kind=$5; shift 5
  local keys
  if [ "$kind" = na ]; then keys=(--addresses "$FIRST_NA-$(last_na "$n")"); else keys=(--from-file "$(pd_keys_for "$n")"); fi
  local line timed=() gen=""
  # The generator's own CPU (GNU time, when installed): whether it, not the server, is the limit.
  if [ -x /usr/bin/time ]; then timed=(/usr/bin/time -f "%U %S" -o "$OUT/generator.time"); fi
  line=$(ip netns exec $CLI "${CLI_RUN[@]}" "${timed[@]}" "$LESSOR" perf leasequery --server "[$SRV_IP]:547" --bind "[$CLI_IP]:546" \
    --by ip "${keys[@]}" --random --seed $((rep * 7919 + k)) \
    --queries "$QUERIES" --in-flight "$k" --timeout "$TIMEOUT" --duration 60s --json "$@")
  if [ ${#timed[@]} -gt 0 ]; then
    gen=",\"generator_cpu_s\":$(awk '{print $1 + $2}' "$OUT/generator.time")"
  fi
  echo "{\"family\":\"v6\",\"server\":\"$server\",\"kind\":\"$kind\",\"bindings\":$n,\"k\":$k,\"rep\":$rep$gen,\"run\":$line}" >> "$RESULTS"
  echo "$server $kind n=$n k=$k rep=$rep: $(echo "$line" | python3 -c 'import json,sys; r=json.load(sys.stdin); l=r["latency_ms"]; print("%.0f q/s active=%d unknown=%d other=%d timeouts=%d p50=%s p99=%s" % (r["rate_per_s"], r["active"], r["unknown"], r["other"], r["timeouts"], l["p50"], l["p99"]))')" >&2
}

# wait_answers: poll (bounded) until the server answers a query about the first address.
wait_answers() {
  for _ in $(seq 1 600); do
    if ip netns exec $CLI "$LESSOR" perf leasequery --server "[$SRV_IP]:547" --bind "[$CLI_IP]:546" --by ip \
        --addresses "$FIRST_NA-$FIRST_NA" --queries 1 --timeout 200ms --json 2>/dev/null \
        | grep -q '"answered":1'; then
      return 0
    fi
    sleep 0.2
  done
  echo "server did not answer" >&2
  return 1
}

leases_for() { # dhcpd6.leases for N bindings (and the prefix keys beside it)
  local f=$OUT/$1.leases6
  [ -s "$f" ] || python3 "$ROOT/benches/gen_isc_leases.py" -6 "$1" "$f" "$OUT/$1.pd-keys"
  echo "$f"
}

pd_keys_for() {
  leases_for "$1" > /dev/null
  echo "$OUT/$1.pd-keys"
}

lessor_config() { # DIR [SEGMENT]
  cat > "$1/lessor.toml" <<CONF
[server]
store = "lessor.db"

[dhcp6]
server-duid = "00:02:00:00:ab:11:01:02:03:04"
listen = ["$SRV_IP"]
port = 547
segment-replies = $([ "${2:-0}" = 1 ] && echo true || echo false)
options = { dns-servers = ["2001:db8::53"] }

[[dhcp6.link]]
prefix = "2001:db8:ff::/64"
pools = ["$FIRST_NA-2001:db8:ff::ffff:ffff"]
prefix-pools = [{ prefix = "2001:db8:8000::/33", delegated-length = 60 }]

[leasequery6]
requesters = ["2001:db8:ff::/64"]
$(if [ "$RATE_LIMIT" != default ]; then set -- $RATE_LIMIT; echo "rate-limit = { per-requester = $1, total = $2 }"; fi)
CONF
}

start_lessor() { # N [SEGMENT]
  local dir=$OUT/lessor-$1
  if [ ! -s "$dir/lessor.db" ]; then
    rm -rf "$dir"; mkdir -p "$dir"
    lessor_config "$dir"
    local t0 t1; t0=$(date +%s.%N)
    "$LESSOR" leases import --isc6 "$(leases_for "$1")" --config "$dir/lessor.toml" > "$dir/import.log" 2>&1
    t1=$(date +%s.%N)
    echo "{\"family\":\"v6\",\"import\":$1,\"seconds\":$(python3 -c "print(round($t1-$t0,2))")}" >> "$RESULTS"
  fi
  lessor_config "$dir" "${2:-0}"  # the store is reused; the config follows this invocation's options
  ip netns exec $SRV "${SRV_RUN[@]}" "$LESSOR" serve --config "$dir/lessor.toml" > "$dir/serve.log" 2>&1 &
  SERVER_PID=$!
  wait_answers
}

start_isc() { # N
  local dir=$OUT/isc-$1
  rm -rf "$dir"; mkdir -p "$dir"
  cp "$(leases_for "$1")" "$dir/dhcpd6.leases"
  cat > "$dir/dhcpd6.conf" <<CONF
ddns-update-style none;
default-lease-time 2592000;
max-lease-time 2592000;
preferred-lifetime 2592000;
allow leasequery;
option dhcp6.name-servers 2001:db8::53;
subnet6 2001:db8:ff::/64 {
  range6 $FIRST_NA 2001:db8:ff::ffff:ffff;
  prefix6 2001:db8:8000:: 2001:db8:ffff:fff0:: /60;
}
CONF
  ip netns exec $SRV "${SRV_RUN[@]}" /usr/sbin/dhcpd -6 -f -q -cf "$dir/dhcpd6.conf" -lf "$dir/dhcpd6.leases" \
    -pf "$dir/dhcpd6.pid" lq6-s0 > "$dir/dhcpd6.log" 2>&1 &
  SERVER_PID=$!
  wait_answers
}

start_echo() { # THREADS
  ip netns exec $SRV "${SRV_RUN[@]}" "$ECHO" "[$SRV_IP]:547" --threads "${1:-1}" > "$OUT/echo.log" 2>&1 &
  SERVER_PID=$!
  wait_answers
}

part() { case " $PARTS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# Part 1: the servers, same leases, same generator, interleaved by repetition so that a noisy
# neighbour hits them alike. echo: one thread; echo2: two threads sharing the socket, as Lessor's
# default on a 2-CPU machine.
part 1 && for rep in $(seq 1 "$REPS"); do
  for server in $SERVERS; do
    case $server in
      lessor) start_lessor "$BINDINGS" ;;
      lessor-seg) start_lessor "$BINDINGS" 1 ;;
      isc) start_isc "$BINDINGS" ;;
      echo) start_echo 1 ;;
      echo2) start_echo 2 ;;
      *) echo "unknown server $server" >&2; exit 2 ;;
    esac
    for k in $INFLIGHT; do
      read -r u0 s0 < <(awk '{print $14, $15}' /proc/$SERVER_PID/stat)
      perf $server "$BINDINGS" "$k" "$rep" na
      read -r u1 s1 < <(awk '{print $14, $15}' /proc/$SERVER_PID/stat)
      echo "{\"family\":\"v6\",\"run_cpu\":\"$server\",\"k\":$k,\"rep\":$rep,\"user_ticks\":$((u1 - u0)),\"sys_ticks\":$((s1 - s0)),\"hz\":$(getconf CLK_TCK)}" >> "$RESULTS"
    done
    stop_server
  done
done

# Part 2: Lessor's latency against the table size, addresses and prefixes.
part 2 && for n in $SIZES; do
  start_lessor "$n" "$SEGMENT_PART2"
  for rep in $(seq 1 "$REPS"); do
    for k in $INFLIGHT; do
      perf lessor-size-na "$n" "$k" "$rep" na
      perf lessor-size-pd "$n" "$k" "$rep" pd
    done
  done
  stop_server
done

python3 "$ROOT/benches/leasequery_summary.py" "$RESULTS"
