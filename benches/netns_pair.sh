# What the network benchmarks (leasequery.sh, leasequery6.sh, lq_flood.sh) share; sourced, not run.
#
# netns_pair SRV CLI VETH SRV_CIDR CLI_CIDR...: two fresh network namespaces joined by a veth pair
# (VETH-s0 in SRV, VETH-c0 in CLI), SRV_CIDR on the server side and every CLI_CIDR on the
# generator's; IPv6 addresses without DAD, and it returns once the generator reaches the server.
# netns_pair_del SRV CLI: deletes both (nothing if they do not exist).
# stop_server: stops $SERVER_PID (TERM, up to 5 s, then KILL) and clears it.

netns_pair_del() {
  ip netns del "$1" 2>/dev/null || true
  ip netns del "$2" 2>/dev/null || true
}

netns_pair() {
  local srv=$1 cli=$2 veth=$3 srv_cidr=$4
  shift 4
  netns_pair_del "$srv" "$cli"
  ip netns add "$srv"
  ip netns add "$cli"
  ip link add "$veth-s0" type veth peer name "$veth-c0"
  ip link set "$veth-s0" netns "$srv"
  ip link set "$veth-c0" netns "$cli"
  netns_pair_addr "$srv" "$veth-s0" "$srv_cidr"
  local a
  for a in "$@"; do netns_pair_addr "$cli" "$veth-c0" "$a"; done
  ip -n "$srv" link set lo up
  ip -n "$cli" link set lo up
  ip -n "$srv" link set "$veth-s0" up
  ip -n "$cli" link set "$veth-c0" up
  # Usable once both ends have a carrier and no address is tentative (no ping: not every
  # machine has one).
  for _ in $(seq 1 50); do
    if ip -n "$srv" link show "$veth-s0" | grep -q LOWER_UP &&
      ip -n "$cli" link show "$veth-c0" | grep -q LOWER_UP &&
      ! ip -n "$srv" addr show tentative | grep -q inet &&
      ! ip -n "$cli" addr show tentative | grep -q inet; then
      return 0
    fi
    sleep 0.1
  done
  echo "netns_pair: the link $veth-s0 - $veth-c0 did not come up" >&2
  return 1
}

netns_pair_addr() { # NS DEV CIDR
  case "$3" in
    *:*) ip -n "$1" -6 addr add "$3" dev "$2" nodad ;;
    *) ip -n "$1" addr add "$3" dev "$2" ;;
  esac
}

SERVER_PID=
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
  fi
}
