#!/usr/bin/env python3
"""Startup time and memory of `lessor serve` on a store with N bindings.

    cargo run --release -p lessor-store --example load -- 1000000 target/load-1m.db
    python3 benches/startup.py target/load-1m.db [--reps 3]

Each repetition copies the database (cold-ish: the copy is in the page cache, as after a
restart), starts `lessor serve --config` on it (loopback, port 6767; subnet 10.0.0.0/8 as the
load example writes), and measures the time from spawn to the "dhcp4: listening" log line and
VmRSS / VmHWM from /proc/PID/status once it listens (after 1 s more, to let it settle). The same
is done on an empty store; the difference divided by the bindings loaded is the memory per binding.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import time

LESSOR = os.path.abspath("target/release/lessor")
CONF = """[server]
store = "{store}"

[dhcp4]
server-identifier = "127.0.0.1"
listen = ["127.0.0.1"]
port = 6767
relay-port = 6768
relays = ["127.0.0.0/8"]

[[dhcp4.subnet]]
prefix = "10.0.0.0/8"
pools = ["10.0.0.1-10.255.255.254"]
"""


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def one(db, workdir):
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    workdir = os.path.abspath(workdir)
    store = os.path.join(workdir, "lessor.db")
    if db:
        shutil.copyfile(db, store)
    conf = os.path.join(workdir, "lessor.toml")
    with open(conf, "w") as f:
        f.write(CONF.format(store=store))
    log = os.path.join(workdir, "serve.log")
    t0 = time.monotonic()
    p = subprocess.Popen([LESSOR, "serve", "--config", conf], stderr=open(log, "w"))
    try:
        while time.monotonic() - t0 < 120:
            text = open(log).read()
            if "dhcp4: listening" in text:
                break
            if p.poll() is not None:
                raise RuntimeError(text)
            time.sleep(0.005)
        startup = time.monotonic() - t0
        time.sleep(1)
        rss, hwm = status_kib(p.pid, "VmRSS"), status_kib(p.pid, "VmHWM")
        loaded = int(re.search(r"(\d+) binding\(s\) loaded", text).group(1))
    finally:
        p.terminate()
        p.wait(30)
    shutil.rmtree(workdir, ignore_errors=True)
    return startup, rss, hwm, loaded


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--workdir", default="target/startup-bench")
    a = ap.parse_args()
    rows = []
    for rep in range(1, a.reps + 1):
        e = one(None, a.workdir)
        f = one(a.db, a.workdir)
        per = (f[1] - e[1]) * 1024 / f[3]
        rows.append((rep, e, f, per))
        print(f"| {rep} | {f[3]} | {f[0]:.2f} | {f[1] / 1024:.1f} | {f[2] / 1024:.1f} | "
              f"{e[0]:.3f} | {e[1] / 1024:.1f} | {per:.0f} |", flush=True)
    print(f"median: startup {statistics.median(r[2][0] for r in rows):.2f} s, "
          f"{statistics.median(r[3] for r in rows):.0f} bytes per binding (RSS delta)")


if __name__ == "__main__":
    main()
