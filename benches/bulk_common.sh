# What benches/bulk.sh (DHCPv4) and benches/bulk6.sh (DHCPv6) share; sourced, not run.
#
# The caller sets ROOT, BUILD (1: cargo build --release first), OUT, then calls bulk_setup; it
# sets SERVER_PID once `lessor serve` runs (bulk_start_server), and uses the helpers below. An
# EXIT trap stops the back-to-back loop and the server, however the script ends.

bulk_setup() {
  if [ "$BUILD" = 1 ]; then
    (cd "$ROOT" && cargo build --release -p lessor --bin lessor)
  fi
  LESSOR=$ROOT/target/release/lessor
  mkdir -p "$OUT"
  RESULTS=$OUT/results.jsonl
  : > "$RESULTS"
  TCK=$(getconf CLK_TCK)
  SERVER_PID=
  LOOP_PID=
  # Touched to end the back-to-back loop (which runs in a command substitution's subshell, so
  # the file, not a pid, is what the EXIT trap can reach).
  STOP=$OUT/stop-loop
  trap bulk_cleanup EXIT
}

bulk_cleanup() {
  touch "$STOP"
  [ -n "${LOOP_PID:-}" ] && wait "$LOOP_PID" 2>/dev/null || true
  if [ -n "${SERVER_PID:-}" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
}

# free_port KIND HOST: a free port on HOST (127.0.0.1 or ::1); KIND 1 TCP, 2 UDP.
free_port() {
  python3 -c 'import socket,sys; f=socket.AF_INET6 if ":" in sys.argv[2] else socket.AF_INET; s=socket.socket(f,int(sys.argv[1])); s.bind((sys.argv[2],0)); print(s.getsockname()[1])' "$1" "$2"
}

# bulk_start_server CONFIG LOG READY: `lessor serve` in the background until LOG says READY.
bulk_start_server() {
  "$LESSOR" serve --config "$1" > "$2" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 600); do
    grep -q "$3" "$2" 2>/dev/null && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$2" >&2; exit 1; }
    sleep 0.1
  done
  echo "the server never said \"$3\"" >&2
  exit 1
}

now() { date +%s.%N; }
# The server's CPU time so far (utime + stime), seconds.
server_cpu() { awk -v t="$TCK" '{printf "%.3f", ($14 + $15) / t}' "/proc/$SERVER_PID/stat"; }
# The server's peak RSS (VmHWM), KiB.
server_hwm() { awk '/VmHWM/ {print $2}' "/proc/$SERVER_PID/status"; }
# field NAME: the value of NAME in the JSON object on stdin.
field() { python3 -c 'import json,sys; v=json.load(sys.stdin); print(v[sys.argv[1]])' "$1"; }
# p99_of: latency_ms.p99 of the `lessor perf leasequery --json` report on stdin.
p99_of() { python3 -c 'import json,sys; v=json.load(sys.stdin); print(v["latency_ms"]["p99"])'; }

# lq_probe LQ: runs `LQ --queries 100 --json`, LQ a function running `lessor perf leasequery`
# with its server and keys. Returns 0 when all 100 queries were answered with a binding; 1 when
# the command itself failed (e.g. arguments it does not take); 2 when answers were missing or not
# bindings (a p99 of timeouts or of "unknown" answers is no figure). Says why on stderr.
lq_probe() {
  local out active
  out=$("$1" --queries 100 --json 2>&1) || { echo "$out" >&2; return 1; }
  active=$(echo "$out" | field active)
  [ "$active" = 100 ] || { echo "perf leasequery: $active of 100 queries answered with a binding: $out" >&2; return 2; }
}

# streaming_p99 MEASURE STREAM...: runs the command STREAM... back to back, at nice 10, until
# MEASURE (a shell function printing one figure) has run, and prints what MEASURE printed. On a
# 2-CPU machine the streaming client, the server and the UDP generator share two CPUs, where in
# a network the two clients are other machines: the nice keeps the streaming client from
# standing in for them.
streaming_p99() {
  local measure=$1; shift
  rm -f "$STOP"
  ( while [ ! -e "$STOP" ]; do nice -n 10 "$@" > /dev/null; done ) &
  LOOP_PID=$!
  sleep 0.2
  local got
  got=$("$measure")
  touch "$STOP"; wait "$LOOP_PID" 2>/dev/null || true
  LOOP_PID=
  echo "$got"
}
