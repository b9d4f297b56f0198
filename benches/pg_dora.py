#!/usr/bin/env python3
"""Durable DORA with a PostgreSQL lease database: `lessor serve` against Kea 2.2, one and two
servers on one database, the same perfdhcp load, in one sitting; then, for Lessor, the delay
before a binding one server wrote is answered by the other, and the leasequery rate of a server
whose bindings the other wrote.

Run as root from the repository root, after `cargo build --release -p lessor`:

    python3 benches/pg_dora.py [--reps 3] [--duration 6] [--rates 1500,3000,4500,6000]
                               [--setups kea1,lessor1,kea2,lessor2] [--converge 1000]
                               [--lq-bindings 20000] [--workdir DIR]

Two network namespaces joined by a veth pair:

    pgbgen  198.18.0.2 and 198.18.0.4 /15: the relays (perfdhcp -l ADDR: giaddr = ADDR, port 67)
    pgbsrv  198.18.0.1 and 198.18.0.3 /15: server A and server B (port 67 on their address);
            PostgreSQL 15 on 127.0.0.1 (fsync on, synchronous_commit on, data in --workdir)

Each run starts from an empty database (dropped and created again; Kea's schema by `kea-admin
db-init pgsql`, Lessor's by its own migrations). One-server setups: one perfdhcp at the offered
rate through 198.18.0.2 to server A. Two-server setups: two perfdhcp at half the rate each, one
per server, both serving the same subnet and pool from the same database. perfdhcp runs open
loop (`-r RATE -p SECONDS -R 1000000`, fresh clients) and counts the 4-way exchanges completed
(its "Rate:" line, summed over instances). Open loop past a server's capacity, answers queue
up and come too late for perfdhcp (it counts them lost though the server committed them), so
each setup runs at every rate of --rates and its figure, its capacity, is the most it
completed over them. Kea runs with multi-threading on
(4 threads, queue 64), its best configuration for a SQL backend. After each run the lease table
is counted: every ACKed binding must be there.

Convergence (Lessor, two servers): --converge times, a relayed DORA to A for a new client, then
DHCPLEASEQUERY by IP to B until it answers DHCPLEASEACTIVE; the delay is from A's DHCPACK to B's
first DHCPLEASEACTIVE (polled back to back). Leasequery from the follower: --lq-bindings clients
get a lease from A (B running), then `lessor perf leasequery --by ip` over the pool against A
(its own bindings: the single-server figure) and against B (bindings it followed), alternately,
--reps times each.

Figures print as tables and go to WORKDIR/results.json. Namespaces, processes and the database
are removed on exit, whatever happens.
"""

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import time

GEN_NS, SRV_NS = "pgbgen", "pgbsrv"
GEN_IF, SRV_IF = "pgbgen0", "pgbsrv0"
RELAYS = ("198.18.0.2", "198.18.0.4")
SERVERS = ("198.18.0.1", "198.18.0.3")
PREFIXLEN = 15
POOL_FIRST, POOL_LAST = "198.18.1.0", "198.18.255.255"
LESSOR = os.path.abspath("target/release/lessor")
PG_BIN = "/usr/lib/postgresql/15/bin"
PG_PORT = 54331
DB, DB_USER, DB_PASS = "bench", "bench", "bench-pw"

LESSOR_CONF = """[server]
store = "postgresql://{user}:{pw}@127.0.0.1:{port}/{db}"
name = "{name}"

[server.postgresql]
tls = "disable"

[dhcp4]
server-identifier = "{srv}"
listen = ["{srv}"]
port = 67
relay-port = 67
relays = ["198.18.0.0/15"]
lease-time = "1h"

# perfdhcp is one relay: its per-relay limit (2,000/s by default) would be the figure.
[dhcp4.rate-limit]
per-relay = 0

[[dhcp4.subnet]]
prefix = "198.18.0.0/15"
pools = ["{first}-{last}"]
options = {{ routers = ["{srv}"] }}

[leasequery4]
requesters = ["198.18.0.0/15"]
reply-to-source-port = ["198.18.0.0/15"]

# One requester asks as fast as it can: limits far above what it can send.
[leasequery4.rate-limit]
per-requester = 10000000
total = 10000000
"""


def kea_conf(srv, rundir):
    return {
        "Dhcp4": {
            "interfaces-config": {"interfaces": [f"{SRV_IF}/{srv}"],
                                  "dhcp-socket-type": "udp"},
            "lease-database": {"type": "postgresql", "name": DB, "host": "127.0.0.1",
                               "port": PG_PORT, "user": DB_USER, "password": DB_PASS},
            "multi-threading": {"enable-multi-threading": True, "thread-pool-size": 4,
                                "packet-queue-size": 64},
            "valid-lifetime": 3600,
            "subnet4": [{"id": 1, "subnet": "198.18.0.0/15",
                         "pools": [{"pool": f"{POOL_FIRST} - {POOL_LAST}"}],
                         "option-data": [{"name": "routers", "data": srv}]}],
            "loggers": [{"name": "kea-dhcp4", "severity": "WARN",
                         "output_options": [{"output": os.path.join(rundir, "kea.log")}]}],
        }
    }


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
    for ns, ifname, addrs in ((GEN_NS, GEN_IF, RELAYS), (SRV_NS, SRV_IF, SERVERS)):
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        for a in addrs:
            sh("ip", "-n", ns, "addr", "add", f"{a}/{PREFIXLEN}", "dev", ifname)
        sh("ip", "-n", ns, "link", "set", ifname, "up")

    def mac(ns, ifname):
        out = sh("ip", "-n", ns, "-j", "link", "show", ifname, stdout=subprocess.PIPE).stdout
        return json.loads(out)[0]["address"]
    gen_mac, srv_mac = mac(GEN_NS, GEN_IF), mac(SRV_NS, SRV_IF)
    # Static neighbours: no ARP in the measured path.
    for a in SERVERS:
        sh("ip", "-n", GEN_NS, "neigh", "replace", a, "lladdr", srv_mac, "dev", GEN_IF,
           "nud", "permanent")
    for a in RELAYS:
        sh("ip", "-n", SRV_NS, "neigh", "replace", a, "lladdr", gen_mac, "dev", SRV_IF,
           "nud", "permanent")
    time.sleep(1)  # the veth's carrier (Kea refuses an interface that is not running)


class Postgres:
    """A throwaway PostgreSQL cluster in the server namespace."""

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "pg")
        self.data = os.path.join(self.dir, "data")

    def pg(self, *args, **kw):
        return sh("ip", "netns", "exec", SRV_NS, "runuser", "-u", "postgres", "--",
                  *args, **kw)

    def start(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        shutil.chown(self.dir, "postgres")
        pwfile = os.path.join(self.dir, "pw")
        with open(pwfile, "w") as f:
            f.write("postgres-pw\n")
        shutil.chown(pwfile, "postgres")
        self.pg(f"{PG_BIN}/initdb", "-D", self.data, "-A", "scram-sha-256", "-U", "postgres",
                f"--pwfile={pwfile}", stdout=subprocess.DEVNULL)
        opts = (f"-c listen_addresses=127.0.0.1 -p {PG_PORT} -k {self.dir} -c fsync=on "
                "-c synchronous_commit=on -c max_connections=200")
        self.pg(f"{PG_BIN}/pg_ctl", "-D", self.data, "-l", os.path.join(self.dir, "log"),
                "-o", opts, "-w", "start", stdout=subprocess.DEVNULL)

    def stop(self):
        if os.path.isdir(self.data):
            self.pg(f"{PG_BIN}/pg_ctl", "-D", self.data, "-m", "immediate", "stop",
                    check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(self.dir, ignore_errors=True)

    def psql(self, sql, db="postgres", user="postgres", pw="postgres-pw"):
        out = sh("ip", "netns", "exec", SRV_NS, "psql", "-X", "-q", "-t", "-A", "-v",
                 "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", user,
                 "-d", db, "-c", sql, stdout=subprocess.PIPE, env={**os.environ,
                                                               "PGPASSWORD": pw})
        return out.stdout.decode().strip()

    def fresh(self, kind):
        self.psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        self.psql(f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = "
                  f"'{DB_USER}') THEN CREATE ROLE {DB_USER} LOGIN PASSWORD '{DB_PASS}'; "
                  "END IF; END $$")
        self.psql(f"CREATE DATABASE {DB} OWNER {DB_USER}")
        if kind == "kea":
            sh("ip", "netns", "exec", SRV_NS, "kea-admin", "db-init", "pgsql", "-h",
               "127.0.0.1", "-P", str(PG_PORT), "-u", DB_USER, "-p", DB_PASS, "-n", DB,
               stdout=subprocess.DEVNULL)

    def leases(self, kind):
        sql = ("SELECT count(*), count(DISTINCT address) FROM lease4" if kind == "kea" else
               "SELECT count(*), count(DISTINCT address) FROM lease4 WHERE state <> 'deleted'")
        return [int(x) for x in self.psql(sql, db=DB, user=DB_USER, pw=DB_PASS).split("|")]


class Server:
    """One server process in the server namespace, killed and reaped on stop()."""

    def __init__(self, kind, name, srv, rundir):
        self.kind, self.name, self.srv, self.rundir = kind, name, srv, rundir
        self.proc = None
        self.log = os.path.join(rundir, f"{kind}-{name}.log")

    def start(self):
        os.makedirs(self.rundir, exist_ok=True)
        env = dict(os.environ)
        if self.kind == "lessor":
            conf = os.path.join(self.rundir, f"lessor-{self.name}.toml")
            with open(conf, "w") as f:
                f.write(LESSOR_CONF.format(user=DB_USER, pw=DB_PASS, port=PG_PORT, db=DB,
                                           name=self.name, srv=self.srv, first=POOL_FIRST,
                                           last=POOL_LAST))
            cmd = [LESSOR, "serve", "--config", conf]
            ready = lambda text: "dhcp4: listening on" in text
        else:
            conf = os.path.join(self.rundir, f"kea-{self.name}.json")
            with open(conf, "w") as f:
                json.dump(kea_conf(self.srv, self.rundir), f)
            run = os.path.join(self.rundir, f"kea-{self.name}")
            os.makedirs(run, exist_ok=True)
            env.update(KEA_LOCKFILE_DIR=run, KEA_PIDFILE_DIR=run)
            cmd = ["kea-dhcp4", "-c", conf]
            ready = None
        self.proc = subprocess.Popen(["ip", "netns", "exec", SRV_NS] + cmd, env=env,
                                     stdout=subprocess.DEVNULL, stderr=open(self.log, "w"),
                                     start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if ready is None:
                if listening(self.srv):
                    return
            else:
                with open(self.log, errors="replace") as f:
                    if ready(f.read()):
                        return
            time.sleep(0.05)
        with open(self.log, errors="replace") as f:
            raise RuntimeError(f"{self.kind} {self.name} did not start:\n{f.read()[-3000:]}")

    def stop(self):
        if self.proc:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(self.proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.proc.wait(timeout=10)
                    break
                except subprocess.TimeoutExpired:
                    continue
        self.proc = None


def listening(addr):
    out = sh("ip", "netns", "exec", SRV_NS, "ss", "-Hlun", stdout=subprocess.PIPE).stdout
    return f"{addr}:67 " in out.decode()


def perfdhcp(rate, duration, pairs):
    """Runs one perfdhcp per (relay, server) at `rate` each, at once; returns their reports."""
    procs = []
    for relay, srv in pairs:
        cmd = ["ip", "netns", "exec", GEN_NS, "perfdhcp", "-4", "-r", str(rate), "-p",
               str(duration), "-R", "1000000", "-l", relay, srv]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
    reports = []
    for p in procs:
        out, _ = p.communicate(timeout=duration + 60)
        reports.append(parse_perfdhcp(out.decode(errors="replace")))
    return reports


def parse_perfdhcp(text):
    rate = re.search(r"Rate: ([\d.]+) 4-way exchanges/second", text)
    sections = re.split(r"\*\*\*Statistics for: ", text)
    stats = {}
    for s in sections[1:]:
        name = s.split("***")[0]
        sent = re.search(r"sent packets: (\d+)", s)
        recv = re.search(r"received packets: (\d+)", s)
        avg = re.search(r"avg delay: ([\d.]+) ms", s)
        stats[name] = {"sent": int(sent.group(1)) if sent else 0,
                       "received": int(recv.group(1)) if recv else 0,
                       "avg_ms": float(avg.group(1)) if avg else None}
    if not rate:
        raise RuntimeError(f"perfdhcp printed no rate:\n{text[-2000:]}")
    return {"rate": float(rate.group(1)), "stats": stats}


# --- a minimal relayed DHCPv4 client and leasequery requestor, for the convergence delay ---

MAGIC = b"\x63\x82\x53\x63"


def dhcp_packet(op_type, xid, chaddr, giaddr, ciaddr="0.0.0.0", options=b""):
    fixed = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 1, xid, 0, 0,
                        socket.inet_aton(ciaddr), b"\0" * 4, b"\0" * 4,
                        socket.inet_aton(giaddr), chaddr.ljust(16, b"\0"), b"", b"")
    return fixed + MAGIC + bytes([53, 1, op_type]) + options + b"\xff"


def parse_reply(data):
    if len(data) < 240 or data[236:240] != MAGIC:
        return None
    xid = struct.unpack("!I", data[4:8])[0]
    yiaddr = socket.inet_ntoa(data[16:20])
    i, kind = 240, None
    while i < len(data) and data[i] != 255:
        if data[i] == 0:
            i += 1
            continue
        if i + 1 >= len(data):
            break
        code, n = data[i], data[i + 1]
        if code == 53 and n >= 1:
            kind = data[i + 2]
        i += 2 + n
    return xid, yiaddr, kind


def converge(samples, server_a, server_b, relay):
    """DORA at A, then leasequery at B until DHCPLEASEACTIVE: delays in ms."""
    cmd = [sys.executable, os.path.abspath(__file__), "--converge-worker", str(samples),
           server_a, server_b, relay]
    out = sh("ip", "netns", "exec", GEN_NS, *cmd, stdout=subprocess.PIPE, timeout=600)
    return json.loads(out.stdout)


def converge_worker(samples, server_a, server_b, relay):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((relay, 67))
    s.settimeout(1.0)
    rng = random.Random(17)
    delays, missing = [], 0

    def exchange(pkt, dest, want_xid):
        s.sendto(pkt, (dest, 67))
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            try:
                data, _ = s.recvfrom(2048)
            except socket.timeout:
                return None
            r = parse_reply(data)
            if r and r[0] == want_xid:
                return r
        return None

    for n in range(samples):
        chaddr = bytes([0x02, 0x42]) + rng.getrandbits(32).to_bytes(4, "big")
        xid = rng.getrandbits(32)
        offer = exchange(dhcp_packet(1, xid, chaddr, relay), server_a, xid)
        if not offer or offer[2] != 2:
            missing += 1
            continue
        addr = offer[1]
        opts = bytes([50, 4]) + socket.inet_aton(addr) + bytes([54, 4]) + \
            socket.inet_aton(server_a)
        ack = exchange(dhcp_packet(3, xid, chaddr, relay, options=opts), server_a, xid)
        if not ack or ack[2] != 5:
            missing += 1
            continue
        acked = time.monotonic()
        end = acked + 5.0
        while time.monotonic() < end:
            qxid = rng.getrandbits(32)
            r = exchange(dhcp_packet(10, qxid, b"", relay, ciaddr=addr), server_b, qxid)
            if r and r[2] == 13:  # DHCPLEASEACTIVE
                delays.append((time.monotonic() - acked) * 1000)
                break
        else:
            missing += 1
    json.dump({"delays_ms": delays, "missing": missing}, sys.stdout)


def lq_rate(server, relay, keys, count, inflight=32):
    cmd = ["ip", "netns", "exec", GEN_NS, LESSOR, "perf", "leasequery", "--server",
           f"{server}:67", "--bind", f"{relay}:0", "--giaddr", relay, "--by", "ip",
           "--from-file", keys, "--queries", str(max(count * 5, 200000)),
           "--in-flight", str(inflight), "--json"]
    return json.loads(sh(*cmd, stdout=subprocess.PIPE, timeout=600).stdout)


def ip_plus(addr, n):
    return socket.inet_ntoa(struct.pack("!I", struct.unpack("!I", socket.inet_aton(addr))[0]
                                        + n))


def pct(values, p):
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def run_dora(pg, servers, stop_all, setup, rep, rate, duration, workdir, results):
    """One run: setup's servers on a fresh database, perfdhcp at `rate` in all."""
    kind, n = setup[:-1], int(setup[-1])
    pg.fresh(kind)
    for i in range(n):
        servers.append(Server(kind, "ab"[i], SERVERS[i],
                              os.path.join(workdir, f"run-{setup}-{rep}-{rate}")))
        servers[-1].start()
    pairs = list(zip(RELAYS[:n], SERVERS[:n]))
    reports = perfdhcp(rate // n, duration, pairs)
    time.sleep(1)
    rows, distinct = pg.leases(kind)
    stop_all()
    acks = sum(r["stats"].get("REQUEST-ACK", {}).get("received", 0) for r in reports)
    sent = sum(r["stats"].get("DISCOVER-OFFER", {}).get("sent", 0) for r in reports)
    row = {"setup": setup, "rep": rep, "offered": rate, "rate": sum(r["rate"] for r in reports),
           "rows_per_s": rows / duration, "acks": acks, "rows": rows, "distinct": distinct,
           "discovers": sent, "per_server": [r["rate"] for r in reports],
           "perfdhcp": [r["stats"] for r in reports]}
    results["dora"].append(row)
    print(f"{setup:8} rep {rep} offered {rate:6}/s: {row['rate']:9.1f} DORA/s  DISCOVERs "
          f"{sent}  ACKs {acks}  rows {rows} (distinct {distinct})", flush=True)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--converge-worker":
        converge_worker(int(sys.argv[2]), *sys.argv[3:6])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--rates", default="1500,3000,4500,6000",
                    help="offered DORAs/s in all, one run each; a setup's figure is the most "
                         "it completed over these")
    ap.add_argument("--setups", default="kea1,lessor1,kea2,lessor2")
    ap.add_argument("--converge", type=int, default=1000, help="samples (0: skip)")
    ap.add_argument("--lq-bindings", type=int, default=20000, help="0: skip")
    ap.add_argument("--workdir", default="target/pg-bench")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root (network namespaces)")
    workdir = os.path.abspath(args.workdir)
    os.makedirs(workdir, exist_ok=True)
    pg = Postgres(workdir)
    servers = []
    results = {"dora": [], "converge": None, "leasequery": []}

    def stop_all():
        for s in servers:
            s.stop()
        servers.clear()

    try:
        netns_up()
        pg.start()
        setups = args.setups.split(",")
        rates = [int(r) for r in args.rates.split(",")]
        for rep in range(args.reps):
            for setup in setups:
                for rate in rates:
                    run_dora(pg, servers, stop_all, setup, rep, rate, args.duration, workdir,
                             results)
        if args.converge and "lessor2" in setups:
            pg.fresh("lessor")
            for i in range(2):
                servers.append(Server("lessor", "ab"[i], SERVERS[i],
                                      os.path.join(workdir, "converge")))
                servers[-1].start()
            c = converge(args.converge, SERVERS[0], SERVERS[1], RELAYS[0])
            stop_all()
            d = c["delays_ms"]
            results["converge"] = {"samples": len(d), "missing": c["missing"],
                                   "p50_ms": pct(d, 50), "p99_ms": pct(d, 99),
                                   "max_ms": max(d) if d else None}
            print(f"convergence A -> B: {results['converge']}", flush=True)
        if args.lq_bindings:
            pg.fresh("lessor")
            for i in range(2):
                servers.append(Server("lessor", "ab"[i], SERVERS[i],
                                      os.path.join(workdir, "lq")))
                servers[-1].start()
            # Fill A with exactly lq_bindings fresh clients, closed loop; keep their addresses.
            acked = os.path.join(workdir, "lq", "acked")
            sh("ip", "netns", "exec", GEN_NS, LESSOR, "perf", "dora", "--server",
               f"{SERVERS[0]}:67", "--bind", f"{RELAYS[0]}:67", "--clients",
               str(args.lq_bindings), "--in-flight", "32", "--timeout", "1s", "--retries",
               "3", "--acked-out", acked, "--json", stdout=subprocess.DEVNULL, timeout=600)
            keys = os.path.join(workdir, "lq", "keys")
            with open(acked) as f, open(keys, "w") as out:
                for line in f:
                    out.write(line.split()[0] + "\n")
            time.sleep(2)
            for rep in range(args.reps):
                for who, srv in (("A (wrote them)", SERVERS[0]), ("B (followed)", SERVERS[1])):
                    r = lq_rate(srv, RELAYS[1], keys, args.lq_bindings)
                    row = {"server": who, "rep": rep, "qps": r.get("rate_per_s"),
                           "active": r.get("active"), "other": r.get("sent", 0) -
                           r.get("active", 0), "timeouts": r.get("timeouts"),
                           "p50_ms": r.get("latency_ms", {}).get("p50")}
                    results["leasequery"].append(row)
                    print(f"leasequery {who:15} rep {rep}: {row}", flush=True)
            stop_all()
    finally:
        stop_all()
        pg.stop()
        netns_down()
        with open(os.path.join(workdir, "results.json"), "w") as f:
            json.dump(results, f, indent=1)

    print("\n| setup | offered/s | DORA/s completed (perfdhcp), per repetition | median |")
    print("|---|---:|---|---:|")
    med = {}
    for setup in args.setups.split(","):
        for rate in [int(r) for r in args.rates.split(",")]:
            runs = [r for r in results["dora"] if r["setup"] == setup and r["offered"] == rate]
            if runs:
                got = [r["rate"] for r in runs]
                print(f"| {setup} | {rate:,} | {', '.join(f'{x:,.0f}' for x in got)} | "
                      f"{statistics.median(got):,.0f} |")
    print("\n| setup | capacity per repetition (most completed over the offered rates) | median |")
    print("|---|---|---:|")
    for setup in args.setups.split(","):
        caps = []
        for rep in range(args.reps):
            got = [r["rate"] for r in results["dora"] if r["setup"] == setup and r["rep"] == rep]
            if got:
                caps.append(max(got))
        if caps:
            med[setup] = statistics.median(caps)
            print(f"| {setup} | {', '.join(f'{x:,.0f}' for x in caps)} | {med[setup]:,.0f} |")
    for n in (1, 2):
        if f"kea{n}" in med and f"lessor{n}" in med and med[f"kea{n}"]:
            print(f"Lessor / Kea, {n} server(s): {med[f'lessor{n}'] / med[f'kea{n}']:.2f}x")
    lq = results["leasequery"]
    if lq:
        a = statistics.median(r["qps"] for r in lq if r["server"].startswith("A"))
        b = statistics.median(r["qps"] for r in lq if r["server"].startswith("B"))
        print(f"leasequery: A {a:,.0f} q/s, B {b:,.0f} q/s, B / A {b / a:.3f}")


if __name__ == "__main__":
    main()
