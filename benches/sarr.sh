#!/usr/bin/env bash
# Issue 13: relayed DHCPv6 SARR (SOLICIT, ADVERTISE, REQUEST, REPLY), the highest rate each
# server sustains with fewer than --max-drop % drops and the latency at that rate, for ISC Kea
# 2.2 kea-dhcp6 and one or more `lessor serve` binaries ([dhcp6]) in one invocation, with two
# load sources: Kea's own generator, `perfdhcp -6 -A 1` (one simulated relay), and
# `lessor perf sarr`. Modes: IA_NA (perfdhcp -e address-only, perf sarr --ia na), IA_PD
# (prefix-only, --ia pd) and both in one exchange (address-and-prefix, --ia both).
# Results: one JSON line per probe and per search in $OUT/results.jsonl, Markdown on stdout.
#
# Usage (root: network namespaces, port 547):
#   benches/sarr.sh [--binary new=target/release/lessor] [--binary base=/tmp/base/lessor]
#                   [--no-kea] [--reps 3] [--modes "na pd both"] [--sources "perfdhcp perf-sarr"]
#                   [--period 5] [--start-rate 1000] [--max-rate 128000] [--steps 3]
#                   [--max-drop 0.1] [--generator target/release/lessor] [--sarr-port 547]
#                   [--out /tmp/sarr-bench]
#
# Without --binary only Kea is measured (the script runs before Lessor's DHCPv6 server lands).
# `lessor perf sarr` comes from --generator (default: the first --binary, else
# target/release/lessor).
#
# Topology: two namespaces joined by one veth, DAD off (addresses usable at once).
#   sarrb-gen, g0: 2001:db8:1::1/64 only. It is the relay: perfdhcp -6 -l g0 -A 1 takes its
#     source address, link-address and peer-address from it and binds port 547; perf sarr
#     binds [2001:db8:1::1]:547 too (--sarr-port; the two run one after the other) with
#     --link-address 2001:db8:1::1. On another port perf sarr adds the relay-source-port option
#     (RFC 8357), which a server must honour to answer there.
#   sarrb-srv, s0: 2001:db8:2::2/64 (the server under test), 2001:db8:1::/64 routed on-link
#     through s0, so RELAY-REPLs reach the relay.
# Pools, the same for every server: addresses 2001:db8:1::100 - 2001:db8:1::ffff:ffff:ffff:ffff
# (a /64) and 2001:db8:100::/48 delegated as /56s (256 prefixes). Lifetimes: preferred 30 min,
# valid 1 h, T1 15 min, T2 24 min. Kea: memfile with persist = true (lfc-interval 0),
# multi-threading on (thread-pool-size 0 = one thread per CPU, packet-queue-size 64), logging at
# WARN. Lessor: its store in the run's directory (SQLite, durable before REPLY).
#
# Clients: IA_NA runs use new clients throughout (perfdhcp -R 1000000, random DUIDs among a
# million; perf sarr one DUID per client). The /48 holds only 256 /56s, so runs with an IA_PD
# cycle through 256 clients (perfdhcp -R 256, perf sarr --distinct-clients 256): after the first
# 256 exchanges each SOLICIT comes from a client that already holds its prefix.
#
# A probe: a fresh server (empty lease file / store), --period seconds at one rate, drops
# counted as perfdhcp does (no answer within 1 s, no retransmission; perf sarr --timeout 1s
# --retries 0). It passes when drops (SOLICITs and REQUESTs unanswered) are below --max-drop %
# of the exchanges started and the completed rate is at least 95% of the rate asked (a
# generator that cannot keep up does not pass). perfdhcp gets -W 1 s (collect late answers
# before counting; its own "Rate" line divides by the period plus that wait, so the completed
# rate here is its REPLYs received / --period); not -D: it counts exchanges still in flight as
# dropped, so -D N stops a probe at N outstanding, at any rate. The search per (server, mode, source, repetition):
# double from --start-rate (repetitions 2 and up: from half the first one's result) until a
# probe fails or --max-rate, then --steps bisections between the last pass and the first
# failure. Reported: the highest passing rate, the latency of that probe (perf sarr: p50, p90,
# p99 of the whole SARR; perfdhcp: the mean delay of each exchange, SOLICIT->ADVERTISE +
# REQUEST->REPLY, it reports no percentiles) and the server's CPU time per completed SARR.
# Medians over --reps repetitions.
set -euo pipefail

BINARIES=()
KEA=1
REPS=3
MODES="na pd both"
SOURCES="perfdhcp perf-sarr"
PERIOD=5
START_RATE=1000
MAX_RATE=128000
STEPS=3
MAX_DROP=0.1
GENERATOR=
SARR_PORT=547
OUT=/tmp/sarr-bench
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) BINARIES+=("$2"); shift 2 ;;
    --no-kea) KEA=0; shift ;;
    --reps) REPS=$2; shift 2 ;;
    --modes) MODES=$2; shift 2 ;;
    --sources) SOURCES=$2; shift 2 ;;
    --period) PERIOD=$2; shift 2 ;;
    --start-rate) START_RATE=$2; shift 2 ;;
    --max-rate) MAX_RATE=$2; shift 2 ;;
    --steps) STEPS=$2; shift 2 ;;
    --max-drop) MAX_DROP=$2; shift 2 ;;
    --generator) GENERATOR=$2; shift 2 ;;
    --sarr-port) SARR_PORT=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
KEA_DHCP6=/usr/sbin/kea-dhcp6
PERFDHCP=/usr/sbin/perfdhcp
if [ -z "$GENERATOR" ]; then
  if [ ${#BINARIES[@]} -gt 0 ]; then GENERATOR=${BINARIES[0]#*=}; else GENERATOR=target/release/lessor; fi
fi
GENERATOR=$(cd "$ROOT" && realpath "$GENERATOR")
[ -x "$GENERATOR" ] || { echo "no generator $GENERATOR: cargo build --release -p lessor" >&2; exit 2; }
[ "$KEA" = 0 ] || [ -x "$KEA_DHCP6" ] || { echo "$KEA_DHCP6 missing: scripts/e2e-deps.sh" >&2; exit 2; }
case " $SOURCES " in *" perfdhcp "*) [ -x "$PERFDHCP" ] || { echo "$PERFDHCP missing" >&2; exit 2; } ;; esac

GEN=sarrb-gen
SRV=sarrb-srv
GEN6=2001:db8:1::1
SRV6=2001:db8:2::2
PD_POOL=2001:db8:100::/48
PD_LEN=56
PD_CLIENTS=256          # /56s in the /48
NA_CLIENTS=1000000
mkdir -p "$OUT"
OUT=$(realpath "$OUT")
RESULTS=$OUT/results.jsonl
: > "$RESULTS"

SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  ip netns del $GEN 2>/dev/null || true
  ip netns del $SRV 2>/dev/null || true
}
trap cleanup EXIT
cleanup
ip netns add $GEN
ip netns add $SRV
for ns in $GEN $SRV; do
  ip netns exec $ns sysctl -q -w net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0
  ip -n $ns link set lo up
done
ip link add name g0 netns $GEN type veth peer name s0 netns $SRV
ip -n $GEN link set g0 up
ip -n $SRV link set s0 up
ip -n $GEN -6 addr add $GEN6/64 dev g0 nodad
ip -n $SRV -6 addr add $SRV6/64 dev s0 nodad
ip -n $GEN -6 route add 2001:db8:2::/64 dev g0
ip -n $SRV -6 route add 2001:db8:1::/64 dev s0

kea_config() { # DIR
  cat > "$1/kea-dhcp6.json" <<CONF
{"Dhcp6": {
  "interfaces-config": {"interfaces": ["s0/$SRV6"]},
  "control-socket": {"socket-type": "unix", "socket-name": "$1/kea-dhcp6.sock"},
  "lease-database": {"type": "memfile", "persist": true, "lfc-interval": 0,
                     "name": "$1/kea-dhcp6.leases.csv"},
  "data-directory": "$1",
  "server-id": {"type": "EN", "enterprise-id": 2495, "identifier": "6c6573736f72", "persist": false},
  "multi-threading": {"enable-multi-threading": true, "thread-pool-size": 0,
                      "packet-queue-size": 64},
  "preferred-lifetime": 1800, "valid-lifetime": 3600, "renew-timer": 900, "rebind-timer": 1440,
  "subnet6": [{"id": 1, "subnet": "2001:db8:1::/64",
               "pools": [{"pool": "2001:db8:1::100 - 2001:db8:1::ffff:ffff:ffff:ffff"}],
               "pd-pools": [{"prefix": "${PD_POOL%/*}", "prefix-len": ${PD_POOL#*/},
                             "delegated-len": $PD_LEN}]}],
  "loggers": [{"name": "kea-dhcp6", "severity": "WARN",
               "output_options": [{"output": "stdout"}]}]
}}
CONF
}

lessor_config() { # DIR BIN
  cat > "$1/lessor.toml" <<CONF
[server]
store = "$1/lessor.db"

[dhcp6]
listen = ["$SRV6"]
port = 547
preferred-lifetime = "30m"
valid-lifetime = "1h"
renew-time = "15m"
rebind-time = "24m"

[[dhcp6.link]]
prefix = "2001:db8:1::/64"
pools = ["2001:db8:1::100-2001:db8:1::ffff:ffff:ffff:ffff"]
prefix-pools = [{ prefix = "$PD_POOL", delegated-length = $PD_LEN }]
CONF
  # One relay sends everything: a per-relay limit, where the binary has one, would be the figure;
  # and the IA_PD runs cycle through 256 clients, each sending more than the per-client default
  # at these rates (Kea has no such limits). Binaries without [dhcp6.rate-limit] refuse the key;
  # then it goes.
  printf '\n[dhcp6.rate-limit]\nper-relay = 0\nper-client = 0\n' >> "$1/lessor.toml"
  "$2" check "$1/lessor.toml" > /dev/null 2>&1 || sed -i '/^\[dhcp6.rate-limit\]$/,$d' "$1/lessor.toml"
  "$2" check "$1/lessor.toml" > "$1/check.log" 2>&1 || { cat "$1/check.log" >&2; return 1; }
}

# One SARR for an IA_NA from a fresh client: the server answers.
answers() {
  ip netns exec $GEN "$GENERATOR" perf sarr --server $SRV6 --bind "[$GEN6]:$SARR_PORT" \
    --link-address $GEN6 --ia na --clients 1 --timeout 200ms --retries 0 --json 2>/dev/null \
    | grep -q '"completed":1,'
}

start() { # NAME BIN: a fresh server in $OUT/NAME
  local dir=$OUT/$1
  rm -rf "$dir"; mkdir -p "$dir"
  if [ "$1" = kea ]; then
    kea_config "$dir"
    KEA_PIDFILE_DIR=$dir KEA_LOCKFILE_DIR=$dir ip netns exec $SRV "$KEA_DHCP6" \
      -c "$dir/kea-dhcp6.json" > "$dir/server.log" 2>&1 &
  else
    lessor_config "$dir" "$2"
    ip netns exec $SRV "$2" serve --config "$dir/lessor.toml" > "$dir/server.log" 2>&1 &
  fi
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    answers && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  cat "$dir/server.log" >&2
  echo "$1 does not answer" >&2
  return 1
}
stop() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}
server_cpu() { awk -v t="$(getconf CLK_TCK)" '{printf "%.3f", ($14 + $15) / t}' "/proc/$SERVER_PID/stat"; }

# perfdhcp's final report -> one JSON object with the figures the search needs.
PERFDHCP_PARSE='
import json, re, sys
text = sys.stdin.read()
rate = re.search(r"Rate: ([0-9.]+) 4-way exchanges/second", text)
out = {"perfdhcp_rate": float(rate.group(1)) if rate else 0.0}
for name, key in (("SOLICIT-ADVERTISE", "sa"), ("REQUEST-REPLY", "rr")):
    m = re.search(r"\*\*\*Statistics for: %s\*\*\*(.*?)(?:\*\*\*|\Z)" % name, text, re.S)
    body = m.group(1) if m else ""
    def num(label):
        v = re.search(r"^%s: ([-0-9.naif]+)" % label, body, re.M)
        try:
            return float(v.group(1)) if v else 0.0
        except ValueError:
            return None
    out[key] = {"sent": num("sent packets"), "received": num("received packets"),
                "drops": num("drops"), "rejected": num("rejected leases"),
                "avg_ms": num("avg delay"), "min_ms": num("min delay"), "max_ms": num("max delay")}
sent = out["sa"]["sent"] or 0
out["completed"] = out["rr"]["received"] or 0
out["rate_per_s"] = out["completed"] / float(sys.argv[1])
drops = (out["sa"]["drops"] or 0) + (out["rr"]["drops"] or 0)
out["started"] = sent
out["drops"] = drops
out["drops_pct"] = 100.0 * drops / sent if sent else 100.0
out["not_granted"] = (out["sa"]["rejected"] or 0) + (out["rr"]["rejected"] or 0)
sa, rr = out["sa"]["avg_ms"], out["rr"]["avg_ms"]
out["latency_ms"] = {"mean_sa": sa, "mean_rr": rr,
                     "mean_sarr": (sa + rr) if sa is not None and rr is not None else None}
print(json.dumps(out))
'

probe() { # SERVER MODE SOURCE REP RATE -> one JSON line appended; VERDICT = pass or fail
  local server=$1 mode=$2 source=$3 rep=$4 rate=$5 c0 c1 figures
  local seed=$(( (rep * 1000003 + rate) * 65536 ))
  start "$server" "$(server_bin "$server")"
  c0=$(server_cpu)
  if [ "$source" = perfdhcp ]; then
    local lt clients
    case $mode in
      na) lt=address-only; clients=$NA_CLIENTS ;;
      pd) lt=prefix-only; clients=$PD_CLIENTS ;;
      both) lt=address-and-prefix; clients=$PD_CLIENTS ;;
    esac
    # perfdhcp's exit status says nothing the report does not (it is non-zero on drops).
    figures=$( { ip netns exec $GEN "$PERFDHCP" -6 -l g0 -A 1 -e $lt -R $clients -r "$rate" \
      -p "$PERIOD" -W 1000000 $SRV6 2>&1 || true; } | tee "$OUT/perfdhcp.last" \
      | python3 -c "$PERFDHCP_PARSE" "$PERIOD")
  else
    local distinct=
    [ "$mode" = na ] || distinct="--distinct-clients $PD_CLIENTS"
    local inflight=$(( rate > 256 ? rate : 256 ))
    figures=$(ip netns exec $GEN "$GENERATOR" perf sarr --server $SRV6 --bind "[$GEN6]:$SARR_PORT" \
      --link-address $GEN6 --ia "$mode" --rate "$rate" --clients $((rate * PERIOD)) $distinct \
      --in-flight $inflight --duration "${PERIOD}s" --timeout 1s --retries 0 --seed "$seed" --json)
  fi
  c1=$(server_cpu)
  stop
  VERDICT=$(python3 - "$RESULTS" "$server" "$mode" "$source" "$rep" "$rate" "$c0" "$c1" "$MAX_DROP" \
    "$figures" <<'PY'
import json, sys
path, server, mode, source, rep, rate, c0, c1, max_drop, figures = sys.argv[1:]
f = json.loads(figures)
rate = int(rate)
completed_rate = f["rate_per_s"]
completed = f["completed"]
passed = f["drops_pct"] < float(max_drop) and completed_rate >= 0.95 * rate
row = {"kind": "probe", "server": server, "mode": mode, "source": source, "rep": int(rep),
       "rate": rate, "completed_rate": completed_rate, "drops_pct": f["drops_pct"],
       "not_granted": f["not_granted"], "latency_ms": f["latency_ms"],
       "server_cpu_s": round(float(c1) - float(c0), 3), "completed": completed,
       "pass": passed, "figures": f}
with open(path, "a") as out:
    out.write(json.dumps(row) + "\n")
print("pass" if passed else "fail")
PY
)
}

server_bin() { # NAME -> its binary ("" for kea)
  local b
  for b in "${BINARIES[@]}"; do
    if [ "${b%%=*}" = "$1" ]; then (cd "$ROOT" && realpath "${b#*=}"); return; fi
  done
}

search() { # SERVER MODE SOURCE REP FIRST -> FOUND = the highest passing rate (0: none)
  local server=$1 mode=$2 source=$3 rep=$4 rate=$5 lo=0 hi=0 verdict mid i
  while [ "$rate" -le "$MAX_RATE" ]; do
    probe "$server" "$mode" "$source" "$rep" "$rate"; verdict=$VERDICT
    echo "  $server $mode $source rep $rep: $rate/s $verdict" >&2
    if [ "$verdict" = pass ]; then lo=$rate; rate=$((rate * 2)); else hi=$rate; break; fi
  done
  if [ "$hi" -gt 0 ]; then
    for i in $(seq 1 "$STEPS"); do
      mid=$(( (lo + hi) / 2 / 50 * 50 ))
      [ "$mid" -gt "$lo" ] && [ "$mid" -lt "$hi" ] || break
      probe "$server" "$mode" "$source" "$rep" "$mid"; verdict=$VERDICT
      echo "  $server $mode $source rep $rep: $mid/s $verdict" >&2
      if [ "$verdict" = pass ]; then lo=$mid; else hi=$mid; fi
    done
  fi
  echo "{\"kind\":\"search\",\"server\":\"$server\",\"mode\":\"$mode\",\"source\":\"$source\",\"rep\":$rep,\"max_rate\":$lo,\"first_failure\":$hi}" >> "$RESULTS"
  FOUND=$lo
}

SERVERS=()
[ "$KEA" = 0 ] || SERVERS+=(kea)
for b in "${BINARIES[@]}"; do SERVERS+=("${b%%=*}"); done
[ ${#SERVERS[@]} -gt 0 ] || { echo "nothing to measure (--no-kea and no --binary)" >&2; exit 2; }

{
  echo "{\"kind\":\"setup\",\"nproc\":$(nproc),\"cpu\":\"$(lscpu | sed -n 's/^Model name: *//p' | head -1)\",\"kernel\":\"$(uname -r)\",\"kea\":\"$("$KEA_DHCP6" -v 2>/dev/null || echo none)\",\"period_s\":$PERIOD,\"max_drop_pct\":$MAX_DROP,\"generator\":\"$GENERATOR\",\"sarr_port\":$SARR_PORT,\"started\":\"$(date -u +%FT%TZ)\",\"loadavg\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
} >> "$RESULTS"

declare -A FIRST
for rep in $(seq 1 "$REPS"); do
  for server in "${SERVERS[@]}"; do
    for mode in $MODES; do
      for source in $SOURCES; do
        key=$server/$mode/$source
        first=$START_RATE
        if [ -n "${FIRST[$key]:-}" ] && [ "${FIRST[$key]}" -gt $((2 * START_RATE)) ]; then
          first=$(( FIRST[$key] / 2 / 50 * 50 ))
        fi
        search "$server" "$mode" "$source" "$rep" "$first"; found=$FOUND
        [ -n "${FIRST[$key]:-}" ] || FIRST[$key]=$found
        echo "$server $mode $source rep $rep: $found SARR/s" >&2
      done
    done
  done
done
echo "{\"kind\":\"end\",\"at\":\"$(date -u +%FT%TZ)\",\"loadavg\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}" >> "$RESULTS"

python3 - "$RESULTS" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
setup = next(r for r in rows if r["kind"] == "setup")
probes = [r for r in rows if r["kind"] == "probe"]
searches = [r for r in rows if r["kind"] == "search"]
def at(s):
    """The probe of a search's highest passing rate."""
    ps = [p for p in probes if (p["server"], p["mode"], p["source"], p["rep"], p["rate"]) ==
          (s["server"], s["mode"], s["source"], s["rep"], s["max_rate"]) and p["pass"]]
    return ps[-1] if ps else None
def lat(p):
    if p is None:
        return "-"
    l = p["latency_ms"]
    if p["source"] == "perfdhcp":
        return "mean %.3f (SA %.3f + RR %.3f)" % (l["mean_sarr"], l["mean_sa"], l["mean_rr"]) \
            if l.get("mean_sarr") is not None else "-"
    s = l["sarr"]
    return "p50 %.3f / p90 %.3f / p99 %.3f" % (s["p50"], s["p90"], s["p99"]) if s["p50"] else "-"
def cpu(p):
    return "-" if p is None or not p["completed"] else "%.0f" % (1e6 * p["server_cpu_s"] / p["completed"])
print("| server | mode | load source | rep | highest rate < %s%% drops (SARR/s) | first failing rate | latency at that rate (ms) | server CPU µs per SARR |" % setup["max_drop_pct"])
print("|---|---|---|---:|---:|---:|---|---:|")
for s in searches:
    p = at(s)
    print("| %s | %s | %s | %d | %d | %s | %s | %s |" % (s["server"], s["mode"], s["source"], s["rep"],
          s["max_rate"], s["first_failure"] or "-", lat(p), cpu(p)))
print()
print("| server | mode | load source | median highest rate (SARR/s) | latency at the median rep's rate (ms) |")
print("|---|---|---|---:|---|")
for key in dict.fromkeys((s["server"], s["mode"], s["source"]) for s in searches):
    ss = sorted((s for s in searches if (s["server"], s["mode"], s["source"]) == key),
                key=lambda s: s["max_rate"])
    med = ss[(len(ss) - 1) // 2]
    print("| %s | %s | %s | %d | %s |" % (*key, statistics.median(s["max_rate"] for s in ss), lat(at(med))))
end = next((r for r in rows if r["kind"] == "end"), {})
print("\n(%d CPUs, %s, kernel %s, Kea %s; probes of %s s; %s to %s, load average %s then %s; %s)" % (
    setup["nproc"], setup["cpu"], setup["kernel"], setup["kea"], setup["period_s"],
    setup["started"], end.get("at"), setup["loadavg"], end.get("loadavg"), sys.argv[1]))
PY
