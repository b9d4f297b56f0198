#!/usr/bin/env python3
"""DORA rate through `lessor relay` against the same clients served without it (issue 15).

Run as root from the repository root, after `cargo build --release -p lessor`:

    python3 benches/relay_dora.py [--reps 3] [--duration 8] [--inflight 1,32,128]
                                  [--store disk|tmpfs] [--workdir DIR]

The generator is `lessor perf dora --on-link`: clients on a link, no giaddr, no option 82, the
BROADCAST flag set, so every answer comes back by broadcast to port 68 (docs/perf.md). Two set-ups
of network namespaces, measured alternately in each repetition:

    direct:   rdcli 198.19.255.254/15 ---- rdsrv 198.18.0.1/15   lessor serve, interfaces = [link]
    relayed:  rrcli 198.19.255.254/15 ---- rrrel 198.18.0.1/15 | 192.0.2.2/24   lessor relay
                                                   rrsrv 192.0.2.1/24 ---'       lessor serve, relays

In both, the clients send to 198.18.0.1:67 and get their answers by broadcast on their link; the
server allocates from 198.18.1.0-198.19.255.250 (130,811 addresses) and starts each run with an
empty store (SQLite on --workdir's disk, or /dev/shm with --store tmpfs). Relayed, the relay adds
option 82 (circuit-id, remote-id, its relay-id), forwards to 192.0.2.1 from its giaddr, takes
the option out of the answers and broadcasts them downstream, gleaning every DHCPACK into its
table. The ratio relayed / direct per repetition is the figure (issue 15: at least 0.8x).
Namespaces and processes are removed on exit, whatever happens. Results: WORKDIR/results.json.
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

LESSOR = os.path.abspath("target/release/lessor")
POOL_FIRST, POOL_LAST = "198.18.1.0", "198.19.255.250"
LINK_SRV, LINK_CLI = "198.18.0.1", "198.19.255.254"
UP_SRV, UP_REL = "192.0.2.1", "192.0.2.2"
NAMESPACES = ("rdcli", "rdsrv", "rrcli", "rrrel", "rrsrv")

SERVE_CONF = """[server]
store = "{store}"

[dhcp4]
server-identifier = "{sid}"
{where}
port = 67
relay-port = 67
lease-time = "1h"
# One relay (or one link) carries every client, and the relay's circuit-id names the whole
# interface: the per-relay and per-circuit limits would be the figure.
[dhcp4.rate-limit]
per-relay = 0
per-circuit = 0

[[dhcp4.subnet]]
prefix = "198.18.0.0/15"
pools = ["{first}-{last}"]
options = {{ routers = ["{link}"] }}
"""

RELAY_CONF = """[relay]
state-dir = "{state}"

[relay.dhcp4]
servers = ["{server}"]
remote-id = "{{hostname}}:{{interface}}"

[[relay.dhcp4.interface]]
name = "rrrel0"
"""


def sh(*args, check=True, **kw):
    return subprocess.run(list(args), check=check, **kw)


def down():
    for ns in NAMESPACES:
        sh("ip", "netns", "del", ns, check=False, stderr=subprocess.DEVNULL)


def veth(ns_a, if_a, addr_a, ns_b, if_b, addr_b):
    sh("ip", "link", "add", if_a, "netns", ns_a, "type", "veth", "peer", "name", if_b,
       "netns", ns_b)
    for ns, ifname, addr in ((ns_a, if_a, addr_a), (ns_b, if_b, addr_b)):
        sh("ip", "-n", ns, "addr", "add", addr, "dev", ifname)
        sh("ip", "-n", ns, "link", "set", ifname, "up")


def up():
    down()
    for ns in NAMESPACES:
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
    veth("rdcli", "rdcli0", f"{LINK_CLI}/15", "rdsrv", "rdsrv0", f"{LINK_SRV}/15")
    veth("rrcli", "rrcli0", f"{LINK_CLI}/15", "rrrel", "rrrel0", f"{LINK_SRV}/15")
    veth("rrrel", "rrrel1", f"{UP_REL}/24", "rrsrv", "rrsrv0", f"{UP_SRV}/24")
    # The server answers the relay at its giaddr, on the client link's side of the relay.
    sh("ip", "-n", "rrsrv", "route", "add", "198.18.0.0/15", "via", UP_REL)


class Proc:
    """A process in a namespace, started until a line of its stderr says it is ready."""

    def __init__(self, ns, argv, log, ready):
        self.log = log
        self.p = subprocess.Popen(["ip", "netns", "exec", ns] + argv, stdout=subprocess.DEVNULL,
                                  stderr=open(log, "w"), start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.p.poll() is not None:
                raise RuntimeError(f"{argv[0]} exited: {open(log).read()[-2000:]}")
            if ready in open(log).read():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"not ready within 60 s: {log}")

    def stop(self):
        if self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGTERM)
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait()


def serve(rundir, store_dir, ns, where, sid):
    os.makedirs(rundir, exist_ok=True)
    store = os.path.join(store_dir, f"{ns}.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(store + suffix):
            os.remove(store + suffix)
    conf = os.path.join(rundir, f"{ns}.toml")
    with open(conf, "w") as f:
        f.write(SERVE_CONF.format(store=store, where=where, sid=sid, first=POOL_FIRST,
                                  last=POOL_LAST, link=LINK_SRV))
    return Proc(ns, [LESSOR, "serve", "--config", conf], os.path.join(rundir, f"{ns}.log"),
                "dhcp4: listening on")


def relay(rundir):
    state = os.path.join(rundir, "relay-state")
    os.makedirs(state, exist_ok=True)
    conf = os.path.join(rundir, "relay.toml")
    with open(conf, "w") as f:
        f.write(RELAY_CONF.format(state=state, server=UP_SRV))
    return Proc("rrrel", [LESSOR, "relay", "--config", conf], os.path.join(rundir, "relay.log"),
                "relay ready:")


def relay_entries(rundir):
    cp = sh(LESSOR, "relay", "--show", "--json", "--config", os.path.join(rundir, "relay.toml"),
            capture_output=True, text=True, check=False)
    if cp.returncode != 0:
        return None
    return len(json.loads(cp.stdout).get("entries", []))


def dora(ns, k, duration, seed):
    # Enough clients to last the run at a rate no server here reaches; the pool holds them all.
    clients = min(130_000, max(2_000, k * 2_000))
    cp = sh("ip", "netns", "exec", ns, LESSOR, "perf", "dora", "--on-link", "--json",
            "--server", f"{LINK_SRV}:67", "--bind", "0.0.0.0:68", "--clients", str(clients),
            "--in-flight", str(k), "--duration", f"{duration}s", "--seed", str(seed),
            capture_output=True, text=True)
    return json.loads(cp.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--duration", type=int, default=8)
    ap.add_argument("--inflight", default="1,32,128")
    ap.add_argument("--store", choices=("disk", "tmpfs"), default="disk")
    ap.add_argument("--workdir", default="target/relay-bench")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("relay_dora.py: run as root (network namespaces, port 67)")
    if not os.path.exists(LESSOR):
        sys.exit(f"relay_dora.py: {LESSOR} missing: cargo build --release -p lessor")
    inflight = [int(k) for k in args.inflight.split(",")]
    workdir = os.path.abspath(args.workdir)
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    store_dir = workdir if args.store == "disk" else "/dev/shm/lessor-relay-bench"
    os.makedirs(store_dir, exist_ok=True)
    results = []
    procs = []
    try:
        up()
        for rep in range(1, args.reps + 1):
            for k in inflight:
                for setup in ("direct", "relayed"):
                    rundir = os.path.join(workdir, f"{setup}-k{k}-r{rep}")
                    if setup == "direct":
                        procs = [serve(rundir, store_dir, "rdsrv", 'interfaces = ["rdsrv0"]',
                                       LINK_SRV)]
                        ns = "rdcli"
                    else:
                        procs = [serve(rundir, store_dir, "rrsrv", f'listen = ["{UP_SRV}"]\n'
                                       'relays = ["198.18.0.1/32"]', UP_SRV), relay(rundir)]
                        ns = "rrcli"
                    report = dora(ns, k, args.duration, seed=rep * 1000 + k)
                    gleaned = relay_entries(rundir) if setup == "relayed" else None
                    for p in reversed(procs):
                        p.stop()
                    procs = []
                    row = {"setup": setup, "k": k, "rep": rep, "rate": report["rate_per_s"],
                           "completed": report["completed"],
                           "retransmissions": report["retransmissions"],
                           "drops": report["drops"], "naks": report["naks"],
                           "dora_p50_ms": report["latency_ms"]["dora"]["p50"],
                           "gleaned": gleaned}
                    results.append(row)
                    print(json.dumps(row), flush=True)
    finally:
        for p in procs:
            p.stop()
        down()
        if args.store == "tmpfs":
            shutil.rmtree(store_dir, ignore_errors=True)
    with open(os.path.join(workdir, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    print(f"\n| K | direct DORA/s | relayed DORA/s | relayed / direct (per rep) | median ratio |")
    print("|---:|---:|---:|---|---:|")
    for k in inflight:
        d = [r for r in results if r["k"] == k and r["setup"] == "direct"]
        r_ = [r for r in results if r["k"] == k and r["setup"] == "relayed"]
        ratios = [b["rate"] / a["rate"] for a, b in zip(d, r_) if a["rate"] > 0]
        print(f"| {k} | {statistics.median(x['rate'] for x in d):,.0f} | "
              f"{statistics.median(x['rate'] for x in r_):,.0f} | "
              f"{', '.join(f'{x:.2f}' for x in ratios)} | "
              f"{statistics.median(ratios) if ratios else 0:.2f} |")


if __name__ == "__main__":
    main()
