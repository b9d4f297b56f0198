#!/usr/bin/env python3
"""DORA rate through `lessor relay` against the same clients served without it (issue 15).

Run as root from the repository root, after `cargo build --release -p lessor`:

    python3 benches/relay_dora.py [--reps 3] [--duration 8] [--inflight 1,32,128]
                                  [--store disk|tmpfs] [--workdir DIR] [--pin]
                                  [--setups direct,relayed,relayed-spin,dhcrelay]

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

`relayed-spin` is the relayed set-up with `[relay] receive-spin = true`: the relay's receive
threads poll their sockets for up to 50 µs after a dense batch instead of sleeping at once.

`dhcrelay` is the relayed set-up with ISC dhcrelay 4.4.3 (`-a`: it adds option 82 with a
circuit-id) in the relay's place, measured in the same sitting for comparison.

Every row also gives the CPU time (user + system, all threads) each process spent per completed
DORA: on two vCPUs the generator, the server and the relay share them, so the relay's CPU is taken
from the server's. `--pin` gives the relay a CPU of its own, as an access concentrator (another
box) has: the server and the generator run on CPU 0 in every set-up, the relay on CPU 1, so the
direct and relayed runs give the server the same CPU and the ratio measures what relaying costs
the clients, not what it costs the server's CPU.
Namespaces and processes are removed on exit, whatever happens. Results: WORKDIR/results.json.
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import resource
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
receive-spin = {spin}

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


# CPU pinning (--pin): the prefix of the server's and generator's command lines, and the relay's.
PIN = {"server": [], "relay": []}


class Proc:
    """A process in a namespace, started until a line of its stderr says it is ready."""

    def __init__(self, ns, argv, log, ready):
        self.log = log
        # `ip netns exec` and taskset exec the command: the pid is the program's.
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

    def cpu_s(self):
        """User + system CPU seconds of the process (all its threads) so far."""
        user, system = self.cpu_split_s()
        return user + system

    def cpu_split_s(self):
        """(user, system) CPU seconds of the process (all its threads) so far."""
        try:
            with open(f"/proc/{self.p.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            tick = os.sysconf("SC_CLK_TCK")
            return int(fields[11]) / tick, int(fields[12]) / tick
        except (OSError, IndexError, ValueError):
            return float("nan"), float("nan")

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
    return Proc(ns, PIN["server"] + [LESSOR, "serve", "--config", conf],
                os.path.join(rundir, f"{ns}.log"),
                "dhcp4: listening on")


def relay(rundir, spin=False):
    state = os.path.join(rundir, "relay-state")
    os.makedirs(state, exist_ok=True)
    conf = os.path.join(rundir, "relay.toml")
    with open(conf, "w") as f:
        f.write(RELAY_CONF.format(state=state, server=UP_SRV, spin="true" if spin else "false"))
    return Proc("rrrel", PIN["relay"] + [LESSOR, "relay", "--config", conf],
                os.path.join(rundir, "relay.log"), "relay ready:")


def dhcrelay(rundir):
    """ISC dhcrelay in the relay's place: option 82 (-a), downstream rrrel0, upstream rrrel1."""
    os.makedirs(rundir, exist_ok=True)
    return Proc("rrrel", PIN["relay"] + ["dhcrelay", "-4", "-d", "-a", "-id", "rrrel0",
                                         "-iu", "rrrel1", UP_SRV],
                os.path.join(rundir, "dhcrelay.log"), "Sending on   Socket")


def relay_entries(rundir):
    cp = sh(LESSOR, "relay", "--show", "--json", "--config", os.path.join(rundir, "relay.toml"),
            capture_output=True, text=True, check=False)
    if cp.returncode != 0:
        return None
    return len(json.loads(cp.stdout).get("entries", []))


def dora(ns, k, duration, seed):
    """The generator's report, with its CPU seconds (`generator_cpu_s`)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    # Enough clients to last the run at a rate no server here reaches; the pool holds them all.
    clients = min(130_000, max(2_000, k * 2_000))
    cp = sh("ip", "netns", "exec", ns, *PIN["server"], LESSOR, "perf", "dora", "--on-link", "--json",
            "--server", f"{LINK_SRV}:67", "--bind", "0.0.0.0:68", "--clients", str(clients),
            "--in-flight", str(k), "--duration", f"{duration}s", "--seed", str(seed),
            capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    report = json.loads(cp.stdout)
    report["generator_cpu_s"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return report


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--duration", type=int, default=8)
    ap.add_argument("--inflight", default="1,32,128")
    ap.add_argument("--store", choices=("disk", "tmpfs"), default="disk")
    ap.add_argument("--workdir", default="target/relay-bench")
    ap.add_argument("--pin", action="store_true",
                    help="server and generator on CPU 0, the relay on CPU 1")
    ap.add_argument("--setups", default="direct,relayed")
    args = ap.parse_args()
    setups = args.setups.split(",")
    if args.pin:
        PIN["server"], PIN["relay"] = ["taskset", "-c", "0"], ["taskset", "-c", "1"]
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
                for setup in setups:
                    rundir = os.path.join(workdir, f"{setup}-k{k}-r{rep}")
                    if setup == "direct":
                        procs = [serve(rundir, store_dir, "rdsrv", 'interfaces = ["rdsrv0"]',
                                       LINK_SRV)]
                        ns = "rdcli"
                    else:
                        procs = [serve(rundir, store_dir, "rrsrv", f'listen = ["{UP_SRV}"]\n'
                                       'relays = ["198.18.0.1/32"]', UP_SRV),
                                 dhcrelay(rundir) if setup == "dhcrelay"
                                 else relay(rundir, spin=setup == "relayed-spin")]
                        ns = "rrcli"
                    cpu0 = [p.cpu_split_s() for p in procs]
                    report = dora(ns, k, args.duration, seed=rep * 1000 + k)
                    split = [tuple(a - b for a, b in zip(p.cpu_split_s(), c))
                             for p, c in zip(procs, cpu0)]
                    cpu = [u + s for u, s in split]
                    gleaned = relay_entries(rundir) if setup.startswith("relayed") else None
                    for p in reversed(procs):
                        p.stop()
                    procs = []
                    row = {"setup": setup, "k": k, "rep": rep, "rate": report["rate_per_s"],
                           "completed": report["completed"],
                           "retransmissions": report["retransmissions"],
                           "drops": report["drops"], "naks": report["naks"],
                           "dora_p50_ms": report["latency_ms"]["dora"]["p50"],
                           "gleaned": gleaned}
                    # CPU per completed DORA, in microseconds: where the two vCPUs went.
                    per = 1e6 / max(report["completed"], 1)
                    row["cpu_us_per_dora"] = {
                        "server": round(cpu[0] * per, 1),
                        "relay": round(cpu[1] * per, 1) if len(cpu) > 1 else None,
                        "generator": round(report["generator_cpu_s"] * per, 1)}
                    # The relay's share split: user space (the relay's own code) and the kernel
                    # (its system calls, and the datagrams' paths through the stack).
                    if len(split) > 1:
                        row["relay_us_per_dora"] = {"user": round(split[1][0] * per, 2),
                                                    "system": round(split[1][1] * per, 2)}
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
    others = [x for x in setups if x != "direct"]
    print("\n| K | " + " | ".join(f"{x} DORA/s" for x in setups) + " | "
          + " | ".join(f"{x} / direct (per rep), median" for x in others) + " |")
    print("|---:|" + "---:|" * len(setups) + "---|" * len(others))
    for k in inflight:
        rows = {x: [r for r in results if r["k"] == k and r["setup"] == x] for x in setups}
        cells = [f"{statistics.median(r['rate'] for r in rows[x]):,.0f}" for x in setups]
        for x in others:
            ratios = [b["rate"] / a["rate"] for a, b in zip(rows.get("direct", []), rows[x])
                      if a["rate"] > 0]
            cells.append(f"{', '.join(f'{r:.2f}' for r in ratios)}; "
                         f"**{statistics.median(ratios) if ratios else 0:.2f}**")
        print(f"| {k} | " + " | ".join(cells) + " |")
    print("\nCPU per DORA (microseconds, medians): server / relay / generator")
    for k in inflight:
        for x in setups:
            rows = [r["cpu_us_per_dora"] for r in results if r["k"] == k and r["setup"] == x]
            med = {p: statistics.median(r[p] for r in rows) if rows and rows[0][p] is not None
                   else None for p in ("server", "relay", "generator")}
            print(f"  K={k} {x}: {med}")
            split = [r["relay_us_per_dora"] for r in results
                     if r["k"] == k and r["setup"] == x and "relay_us_per_dora" in r]
            if split:
                print(f"  K={k} {x}: relay user "
                      f"{statistics.median(r['user'] for r in split):.2f}, system "
                      f"{statistics.median(r['system'] for r in split):.2f}")


if __name__ == "__main__":
    main()
