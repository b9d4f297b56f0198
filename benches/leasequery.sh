#!/usr/bin/env bash
# Leasequery-by-IP throughput and latency: `lessor serve` vs ISC dhcpd 4.4.3 vs a UDP echo ceiling,
# measured by `lessor perf leasequery` in the same invocation, then Lessor's latency at several
# table sizes. Results: JSON lines in $OUT/results.jsonl and a Markdown summary on stdout.
#
# Usage (root: network namespaces, port 67):
#   benches/leasequery.sh [--bindings 100000] [--sizes "10000 100000 130000"] [--in-flight "1 8 32"]
#                         [--reps 3] [--queries 50000] [--out /tmp/lq-bench] [--skip-build] [--pin]
#                         [--parts "1 2 3"] [--rate-limit "PER TOTAL" | default] [--timeout 1s]
#                         [--servers "lessor lessor-seg isc echo echo2"]
#
# lessor-seg: Lessor with [dhcp4] segment-replies = true (UDP segmentation offload).
#
# Topology: two namespaces joined by a veth pair. lqb-srv holds 198.18.0.1/15 (the server under
# test); lqb-cli holds 198.18.0.2/15 (the generator, bound to 198.18.0.2:67 = giaddr:67, because
# ISC dhcpd answers giaddr port 67). Every server sees the same path. The namespaces are deleted
# on exit. Leases: N active leases from 198.18.1.0 up, written once in ISC format
# (benches/gen_isc_leases.py) and loaded by both servers (Lessor through `lessor leases import --isc`).
set -euo pipefail

BINDINGS=100000
SIZES="10000 100000 130000"
INFLIGHT="1 8 32"
REPS=3
QUERIES=50000
OUT=/tmp/lq-bench
BUILD=1
PIN=0
PARTS="1 2 3"
PROFILE=
SERVERS="lessor isc echo echo2"
LESSOR_THREADS=
RATE_LIMIT="100000000 100000000"
TIMEOUT=1s
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
    --parts) PARTS=$2; shift 2 ;;  # 1: servers compared, 2: table sizes, 3: CPU per query
    --profile) PROFILE=$2; shift 2 ;;  # part 3: `perf record -g` of Lessor's server into FILE.REP
    --servers) SERVERS=$2; shift 2 ;;  # part 1: which of lessor lessor-seg isc echo echo2
    --lessor-threads) LESSOR_THREADS=$2; shift 2 ;;  # dhcp4.receive-threads (default: the server's)
    --rate-limit) RATE_LIMIT=$2; shift 2 ;;  # Lessor's [leasequery4] rate-limit; "default": left out
    --timeout) TIMEOUT=$2; shift 2 ;;  # the generator's wait for an answer (a flood: short)

    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

SRV_RUN=()
CLI_RUN=()
if [ "$PIN" = 1 ]; then SRV_RUN=(taskset -c 1); CLI_RUN=(taskset -c 0); fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRV=lqb-srv
CLI=lqb-cli
SRV_IP=198.18.0.1
CLI_IP=198.18.0.2
mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl
: > "$RESULTS"

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

netns_pair $SRV $CLI lqb $SRV_IP/15 $CLI_IP/15

# Bindings are numbered from 198.18.1.0 and must stay inside 198.18.0.0/15 (the only block this
# benchmark may use): at most 130,814 (198.18.1.0 - 198.19.255.253).
MAX_BINDINGS=130814
for n in $BINDINGS $SIZES; do
  if [ "$n" -gt $MAX_BINDINGS ] || [ "$n" -lt 1 ]; then
    echo "$n bindings: 1 to $MAX_BINDINGS fit in 198.18.0.0/15 from 198.18.1.0" >&2; exit 2
  fi
done

last_addr() { # first address 198.18.1.0 + N - 1
  python3 -c "import ipaddress,sys; print(ipaddress.IPv4Address(int(ipaddress.IPv4Address('198.18.1.0')) + int(sys.argv[1]) - 1))" "$1"
}

# perf SERVER LABEL N K REP [extra args]: one run, one JSON line tagged with what was measured.
perf() {
  local server=$1 n=$2 k=$3 rep=$4; shift 4
  local last; last=$(last_addr "$n")
  local line
  line=$(ip netns exec $CLI "${CLI_RUN[@]}" "$LESSOR" perf leasequery --server $SRV_IP:67 --bind $CLI_IP:67 \
    --by ip --addresses "198.18.1.0-$last" --random --seed $((rep * 7919 + k)) \
    --queries "$QUERIES" --in-flight "$k" --timeout "$TIMEOUT" --duration 60s --json "$@")
  echo "{\"server\":\"$server\",\"bindings\":$n,\"k\":$k,\"rep\":$rep,\"run\":$line}" >> "$RESULTS"
  echo "$server n=$n k=$k rep=$rep: $(echo "$line" | python3 -c 'import json,sys; r=json.load(sys.stdin); l=r["latency_ms"]; print("%.0f q/s active=%d timeouts=%d p50=%s p99=%s" % (r["rate_per_s"], r["active"], r["timeouts"], l["p50"], l["p99"]))')" >&2
}

# wait_answers: poll (bounded) until the server answers a query.
wait_answers() {
  local n=$1
  for _ in $(seq 1 300); do
    if ip netns exec $CLI "$LESSOR" perf leasequery --server $SRV_IP:67 --bind $CLI_IP:67 --by ip \
        --addresses 198.18.1.0-198.18.1.0 --queries 1 --timeout 200ms --json 2>/dev/null \
        | grep -q '"answered":1'; then
      return 0
    fi
    sleep 0.2
  done
  echo "server did not answer" >&2
  return 1
}

leases_for() { # leases file for N bindings
  local f=$OUT/$1.leases
  [ -s "$f" ] || python3 "$ROOT/benches/gen_isc_leases.py" "$1" "$f"
  echo "$f"
}

lessor_config() { # DIR N [SEGMENT]
  cat > "$1/lessor.toml" <<CONF
[server]
store = "lessor.db"

[dhcp4]
server-identifier = "$SRV_IP"
listen = ["$SRV_IP"]
port = 67
relay-port = 67
relays = ["198.18.0.0/15"]
${LESSOR_THREADS:+receive-threads = $LESSOR_THREADS}
segment-replies = $([ "${3:-0}" = 1 ] && echo true || echo false)
lease-time = "1h"
options = { domain-name-servers = ["192.0.2.53"] }

[[dhcp4.subnet]]
prefix = "198.18.0.0/15"
pools = ["198.18.1.0-$(last_addr "$2")"]
options = { routers = ["$SRV_IP"] }

[leasequery4]
requesters = ["198.18.0.0/15"]
$(if [ "$RATE_LIMIT" != default ]; then set -- $RATE_LIMIT; echo "rate-limit = { per-requester = $1, total = $2 }"; fi)
CONF
}

start_lessor() { # N [SEGMENT]
  local dir=$OUT/lessor-$1
  if [ ! -s "$dir/lessor.db" ]; then
    rm -rf "$dir"; mkdir -p "$dir"
    lessor_config "$dir" "$1"
    local t0 t1; t0=$(date +%s.%N)
    "$LESSOR" leases import --isc "$(leases_for "$1")" --config "$dir/lessor.toml" > "$dir/import.log" 2>&1
    t1=$(date +%s.%N)
    echo "{\"import\":$1,\"seconds\":$(python3 -c "print(round($t1-$t0,2))")}" >> "$RESULTS"
  fi
  lessor_config "$dir" "$1" "${2:-0}"  # the store is reused; the config follows this invocation's options
  ip netns exec $SRV "${SRV_RUN[@]}" "$LESSOR" serve --config "$dir/lessor.toml" > "$dir/serve.log" 2>&1 &
  SERVER_PID=$!
  wait_answers "$1"
}

start_isc() { # N
  local dir=$OUT/isc-$1
  rm -rf "$dir"; mkdir -p "$dir"
  cp "$(leases_for "$1")" "$dir/dhcpd.leases"
  cat > "$dir/dhcpd.conf" <<CONF
authoritative;
allow leasequery;
ddns-update-style none;
default-lease-time 3600;
max-lease-time 86400;
option domain-name-servers 192.0.2.53;
subnet 198.18.0.0 netmask 255.254.0.0 {
  range 198.18.1.0 $(last_addr "$1");
  option routers $SRV_IP;
}
CONF
  ip netns exec $SRV "${SRV_RUN[@]}" /usr/sbin/dhcpd -4 -f -q -cf "$dir/dhcpd.conf" -lf "$dir/dhcpd.leases" \
    -pf "$dir/dhcpd.pid" lqb-s0 > "$dir/dhcpd.log" 2>&1 &
  SERVER_PID=$!
  wait_answers "$1"
}

start_echo() { # THREADS
  ip netns exec $SRV "${SRV_RUN[@]}" "$ECHO" $SRV_IP:67 --threads "${1:-1}" > "$OUT/echo.log" 2>&1 &
  SERVER_PID=$!
  wait_answers 1
}

# Part 1: the three servers, same leases, same generator, interleaved by repetition so that a
# noisy neighbour hits all three alike.
part() { case " $PARTS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# echo: one thread (recv/send per datagram); echo2: two threads sharing the socket, as Lessor's
# default on a 2-CPU machine (dhcp4.receive-threads).
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
      perf $server "$BINDINGS" "$k" "$rep"
      read -r u1 s1 < <(awk '{print $14, $15}' /proc/$SERVER_PID/stat)
      echo "{\"run_cpu\":\"$server\",\"k\":$k,\"rep\":$rep,\"user_ticks\":$((u1 - u0)),\"sys_ticks\":$((s1 - s0)),\"hz\":$(getconf CLK_TCK)}" >> "$RESULTS"
    done
    stop_server
  done
done

# Part 2: Lessor's latency against the table size.
part 2 && for n in $SIZES; do
  start_lessor "$n"
  for rep in $(seq 1 "$REPS"); do
    for k in $INFLIGHT; do perf lessor-size "$n" "$k" "$rep"; done
  done
  stop_server
done

# Part 3: the server's CPU time per query (utime/stime from /proc/PID/stat over one run at K=8),
# which the neighbours' noise disturbs far less than the rate.
HZ=$(getconf CLK_TCK)
part 3 && for rep in $(seq 1 "$REPS"); do
  for server in lessor isc echo; do
    case $server in
      lessor) start_lessor "$BINDINGS" ;;
      isc) start_isc "$BINDINGS" ;;
      echo) start_echo 1 ;;
    esac
    read -r u0 s0 < <(awk '{print $14, $15}' /proc/$SERVER_PID/stat)
    PERF_PID=
    if [ -n "$PROFILE" ] && [ "$server" = lessor ]; then
      command perf record -q -F 1999 -g -p "$SERVER_PID" -o "$PROFILE.$rep" >/dev/null 2>&1 &
      PERF_PID=$!
      sleep 0.5
    fi
    perf "$server-cpu" "$BINDINGS" 8 "$rep"
    if [ -n "$PERF_PID" ]; then kill -INT "$PERF_PID"; wait "$PERF_PID" || true; fi
    read -r u1 s1 < <(awk '{print $14, $15}' /proc/$SERVER_PID/stat)
    echo "{\"cpu\":\"$server\",\"rep\":$rep,\"user_ticks\":$((u1 - u0)),\"sys_ticks\":$((s1 - s0)),\"hz\":$HZ,\"queries\":$QUERIES}" >> "$RESULTS"
    stop_server
  done
done

python3 "$ROOT/benches/leasequery_summary.py" "$RESULTS"
