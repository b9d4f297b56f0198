#!/usr/bin/env python3
"""DORA rate: `lessor serve` (durable store) against ISC dhcpd 4.4.3, same generator, same run.

Run as root from the repository root, after `cargo build --release -p lessor`:

    python3 benches/dora.py [--reps 3] [--duration 12] [--inflight 1,32] [--workdir DIR]

Two network namespaces joined by a veth pair:

    lbgen  198.18.0.2/15 (the relay: giaddr, generator bound on port 67)
    lbsrv  198.18.0.1/15 (the server: lessor serve or dhcpd, port 67)

Both servers serve the giaddr's subnet 198.18.0.0/15 with the same pool (198.18.1.0 to --pool-last,
default 198.18.255.255: 65,279 addresses; a run never has more clients than that) and see the same relayed
traffic (giaddr 198.18.0.2, option 82, replies to giaddr:67). Every run starts from an empty lease
database on the same disk (--workdir, default target/dora-bench): lessor's SQLite store (WAL,
synchronous=FULL, an ACK leaves only once its binding is durable) and dhcpd's leases file (dhcpd
fsyncs it on every commit). Each run is `lessor perf dora --json` with enough clients to last
--duration seconds; the rate is completed DORAs / elapsed. Figures are printed as tables (per run
and medians) and written as JSON to WORKDIR/results.json. Namespaces and processes are removed on
exit, whatever happens.
"""

import argparse
import ipaddress
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

GEN_NS, SRV_NS = "lbgen", "lbsrv"
GEN_IF, SRV_IF = "lbgen0", "lbsrv0"
GEN_ADDR, SRV_ADDR, PREFIXLEN = "198.18.0.2", "198.18.0.1", 15
POOL_FIRST, POOL_LAST = "198.18.1.0", "198.18.255.255"
LESSOR = os.path.abspath("target/release/lessor")
STORE_DIR, WRAP, THREADS = None, [], None

LESSOR_CONF = """[server]
store = "{store}"

[dhcp4]
server-identifier = "{srv}"
listen = ["{srv}"]
port = 67
relay-port = 67
relays = ["198.18.0.0/15"]
lease-time = "1h"
{threads}
# The generator is one relay: its per-relay limit (2,000/s by default) would be the figure.
[dhcp4.rate-limit]
per-relay = 0

[[dhcp4.subnet]]
prefix = "198.18.0.0/15"
pools = ["{first}-{last}"]
options = {{ routers = ["{srv}"] }}
"""

DHCPD_CONF = """# ISC dhcpd for benches/dora.py
authoritative;
ping-check false;
default-lease-time 3600;
max-lease-time 3600;
ddns-update-style none;
log-facility local7;

subnet 198.18.0.0 netmask 255.254.0.0 {{
  range {first} {last};
  option routers {srv};
}}
"""


def sh(*args, check=True, **kw):
    return subprocess.run(list(args), check=check, **kw)


def netns_down():
    for ns in (GEN_NS, SRV_NS):
        sh("ip", "netns", "del", ns, check=False, stderr=subprocess.DEVNULL)


def netns_up():
    netns_down()
    sh("ip", "netns", "add", GEN_NS)
    sh("ip", "netns", "add", SRV_NS)
    sh("ip", "link", "add", GEN_IF, "netns", GEN_NS, "type", "veth",
       "peer", "name", SRV_IF, "netns", SRV_NS)
    for ns, ifname, addr in ((GEN_NS, GEN_IF, GEN_ADDR), (SRV_NS, SRV_IF, SRV_ADDR)):
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", ns, "addr", "add", f"{addr}/{PREFIXLEN}", "dev", ifname)
        sh("ip", "-n", ns, "link", "set", ifname, "up")
    # Static neighbours: no ARP in the measured path (and no ping needed).
    def mac(ns, ifname):
        with subprocess.Popen(["ip", "-n", ns, "-j", "link", "show", ifname],
                              stdout=subprocess.PIPE) as p:
            return json.loads(p.stdout.read())[0]["address"]
    gen_mac, srv_mac = mac(GEN_NS, GEN_IF), mac(SRV_NS, SRV_IF)
    sh("ip", "-n", GEN_NS, "neigh", "replace", SRV_ADDR, "lladdr", srv_mac, "dev", GEN_IF,
       "nud", "permanent")
    sh("ip", "-n", SRV_NS, "neigh", "replace", GEN_ADDR, "lladdr", gen_mac, "dev", SRV_IF,
       "nud", "permanent")


class Server:
    """One server process in the server namespace, killed and reaped on stop()."""

    def __init__(self, kind, rundir):
        self.kind, self.rundir, self.proc = kind, rundir, None
        self.log = os.path.join(rundir, f"{kind}.log")

    def start(self):
        os.makedirs(self.rundir, exist_ok=True)
        if self.kind == "lessor":
            conf = os.path.join(self.rundir, "lessor.toml")
            with open(conf, "w") as f:
                f.write(LESSOR_CONF.format(srv=SRV_ADDR, first=POOL_FIRST, last=POOL_LAST,
                                           threads=(f"receive-threads = {THREADS}\n"
                                                    if THREADS else ""),
                                           store=os.path.join(STORE_DIR or self.rundir,
                                                              "lessor.db")))
            cmd = WRAP + [LESSOR, "serve", "--config", conf]
            ready = "dhcp4: listening on"
        else:
            conf = os.path.join(self.rundir, "dhcpd.conf")
            with open(conf, "w") as f:
                f.write(DHCPD_CONF.format(srv=SRV_ADDR, first=POOL_FIRST, last=POOL_LAST))
            leases = os.path.join(self.rundir, "dhcpd.leases")
            open(leases, "w").close()
            cmd = ["dhcpd", "-f", "-4", "-d", "-cf", conf, "-lf", leases,
                   "-pf", os.path.join(self.rundir, "dhcpd.pid"), SRV_IF]
            ready = "Sending on   Socket/fallback"
        self.proc = subprocess.Popen(["ip", "netns", "exec", SRV_NS] + cmd,
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(self.log, "w"), start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with open(self.log, errors="replace") as f:
                if ready in f.read():
                    return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        with open(self.log, errors="replace") as f:
            raise RuntimeError(f"{self.kind} did not start:\n{f.read()[-3000:]}")

    def stop(self):
        # The whole process group: a --lessor-wrap prefix (strace) must not leave lessor behind.
        if self.proc:
            for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
                try:
                    os.killpg(self.proc.pid, sig)
                except ProcessLookupError:
                    break
                deadline = time.monotonic() + wait
                while time.monotonic() < deadline:
                    try:
                        os.killpg(self.proc.pid, 0)
                    except ProcessLookupError:
                        break
                    self.proc.poll()
                    time.sleep(0.05)
                else:
                    continue
                break
            self.proc.wait()
        self.proc = None


def perf(clients, inflight, duration):
    cmd = ["ip", "netns", "exec", GEN_NS, LESSOR, "perf", "dora",
           "--server", f"{SRV_ADDR}:67", "--bind", f"{GEN_ADDR}:67",
           "--clients", str(clients), "--in-flight", str(inflight),
           "--duration", f"{duration}s", "--timeout", "1s", "--retries", "2", "--json"]
    out = sh(*cmd, stdout=subprocess.PIPE, timeout=duration + 30)
    return json.loads(out.stdout)


def pool_size():
    return int(ipaddress.IPv4Address(POOL_LAST)) - int(ipaddress.IPv4Address(POOL_FIRST)) + 1


def clients_for(kind, inflight, duration, guess):
    """Enough clients to keep the run going for `duration` at the rate seen so far (the run is
    still cut at `duration`): a pilot rate, times 1.5, capped by the pool."""
    return max(200, min(pool_size(), int(guess * duration * 1.5)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--duration", type=int, default=12, help="seconds per run (upper bound)")
    ap.add_argument("--inflight", default="1,32")
    ap.add_argument("--servers", default="isc,lessor")
    ap.add_argument("--workdir", default="target/dora-bench")
    ap.add_argument("--pool-last", default="198.18.255.255",
                    help="last pool address (the pool starts at 198.18.1.0, same for both servers; "
                         "ISC dhcpd slows down with the pool size, see docs/benchmarks.md)")
    ap.add_argument("--lessor-store-dir", help="diagnostic: lessor's store here (e.g. /dev/shm, "
                    "where fsync costs nothing) instead of the run directory")
    ap.add_argument("--lessor-threads", type=int, help="dhcp4.receive-threads of lessor serve "
                    "(default: the server's own default)")
    ap.add_argument("--lessor-wrap", default="", help="diagnostic: command prefix for lessor serve, "
                    "e.g. 'strace -f -c --seccomp-bpf -e trace=fsync,fdatasync -o FILE'")
    args = ap.parse_args()
    global POOL_LAST, STORE_DIR, WRAP, THREADS
    POOL_LAST = args.pool_last
    THREADS = args.lessor_threads
    STORE_DIR, WRAP = args.lessor_store_dir, args.lessor_wrap.split()
    if os.geteuid() != 0:
        sys.exit("dora.py: run as root (network namespaces, port 67)")
    if not os.path.exists(LESSOR):
        sys.exit("dora.py: build first: cargo build --release -p lessor")
    workdir = os.path.abspath(args.workdir)
    os.makedirs(workdir, exist_ok=True)
    inflights = [int(x) for x in args.inflight.split(",")]
    servers = args.servers.split(",")
    # Rough rates used to size the runs; refined after each run.
    guess = {("isc", k): 200 for k in inflights}
    guess.update({("lessor", k): 1000 if k == 1 else 20000 for k in inflights})
    results = []
    server = None
    try:
        netns_up()
        for rep in range(1, args.reps + 1):
            for k in inflights:
                for kind in servers:
                    rundir = os.path.join(workdir, f"{kind}-k{k}-r{rep}")
                    shutil.rmtree(rundir, ignore_errors=True)
                    if STORE_DIR:
                        for suffix in ("", "-wal", "-shm"):
                            path = os.path.join(STORE_DIR, "lessor.db" + suffix)
                            if os.path.exists(path):
                                os.unlink(path)
                    server = Server(kind, rundir)
                    server.start()
                    n = clients_for(kind, k, args.duration, guess[(kind, k)])
                    r = perf(n, k, args.duration)
                    server.stop()
                    server = None
                    if r["rate_per_s"]:
                        guess[(kind, k)] = r["rate_per_s"]
                    row = {"server": kind, "in_flight": k, "rep": rep, "clients": n,
                           "completed": r["completed"], "elapsed_s": r["elapsed_s"],
                           "rate": r["rate_per_s"], "naks": r["naks"], "drops": r["drops"],
                           "retransmissions": r["retransmissions"],
                           "unfinished": r.get("unfinished", 0),
                           "p50_ms": (r["latency_ms"]["dora"] or {}).get("p50"),
                           "p99_ms": (r["latency_ms"]["dora"] or {}).get("p99"),
                           # the two halves: DISCOVER->OFFER (no write) and REQUEST->ACK (commit)
                           "offer_p50_ms": (r["latency_ms"].get("discover_offer") or {}).get("p50"),
                           "ack_p50_ms": (r["latency_ms"].get("request_ack") or {}).get("p50")}
                    results.append(row)
                    print(f"{kind:6} k={k:<3} rep {rep}: {row['completed']} DORA in "
                          f"{row['elapsed_s']:.2f} s = {row['rate']:.1f}/s, p50 "
                          f"{row['p50_ms']} ms (offer {row['offer_p50_ms']}, ack {row['ack_p50_ms']}), p99 {row['p99_ms']} ms, naks {row['naks']}, "
                          f"drops {row['drops']}, retx {row['retransmissions']}", flush=True)
    finally:
        if server:
            server.stop()
        netns_down()
    with open(os.path.join(workdir, "results.json"), "w") as f:
        json.dump(results, f, indent=1)

    print(f"\npool {POOL_FIRST}-{POOL_LAST} ({pool_size()} addresses)")
    print("\n| server | in flight | run | clients | completed | s | DORA/s | p50 ms | p99 ms "
          "| NAKs | drops | retx |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['server']} | {r['in_flight']} | {r['rep']} | {r['clients']} | "
              f"{r['completed']} | {r['elapsed_s']:.2f} | {r['rate']:.1f} | {r['p50_ms']:.3f} | "
              f"{r['p99_ms']:.3f} | {r['naks']} | {r['drops']} | {r['retransmissions']} |")

    def pick(kind, k, rep):
        return next((r for r in results
                     if r["server"] == kind and r["in_flight"] == k and r["rep"] == rep), None)

    def med(rows, key):
        values = [r[key] for r in rows if r.get(key) is not None]
        return f"{statistics.median(values):.3f}" if values else "-"

    print("\n| in flight | server | median DORA/s | median p50 ms | median p99 ms "
          "| DISCOVER->OFFER p50 ms | REQUEST->ACK p50 ms |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for k in inflights:
        for kind in servers:
            rows = [r for r in results if r["server"] == kind and r["in_flight"] == k]
            print(f"| {k} | {kind} | {statistics.median(r['rate'] for r in rows):.1f} | "
                  f"{med(rows, 'p50_ms')} | {med(rows, 'p99_ms')} | "
                  f"{med(rows, 'offer_p50_ms')} | {med(rows, 'ack_p50_ms')} |")
    if "isc" in servers and "lessor" in servers:
        print("\n| in flight | " + " | ".join(f"run {i}" for i in range(1, args.reps + 1))
              + " | median |")
        print("|---:|" + "---:|" * (args.reps + 1))
        for k in inflights:
            ratios = []
            for rep in range(1, args.reps + 1):
                lr, ir = pick("lessor", k, rep), pick("isc", k, rep)
                ratios.append(lr["rate"] / ir["rate"] if lr and ir and ir["rate"] else float("nan"))
            print(f"| {k} | " + " | ".join(f"{x:.1f}" for x in ratios)
                  + f" | **{statistics.median(ratios):.1f}** |")


if __name__ == "__main__":
    main()
