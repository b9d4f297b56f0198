#!/usr/bin/env python3
"""Time and peak memory of `lessor leases import --isc` on N leases, against a baseline binary,
and the memory of `lessor serve` holding the imported bindings.

    python3 benches/gen_isc_leases.py 1000000 target/isc-1m.leases 1000 10.0.0.1
    python3 benches/import_isc.py target/isc-1m.leases [--baseline OLD_LESSOR] [--reps 3] [--dhcpd]

Per repetition: the baseline import (if given), then Lessor's, each into a fresh store
(`/usr/bin/time -v`: wall time, CPU time and maximum RSS; the 1-minute load average before
Lessor's run is printed, as other work on the machine slows the runs down); then `lessor serve` on the imported store
(loopback, port 6767, subnet 10.0.0.0/8 as the generator's BASE 10.0.0.1 needs) and its VmRSS /
VmHWM once it listens (1 s later, as benches/startup.py does). With --dhcpd, also
`dhcpd -4 -t -T` (ISC's own lease-file load, no sockets) on the same file with a subnet and range
covering it.
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
DHCPD_CONF = """authoritative;
ddns-update-style none;
default-lease-time 3600;
max-lease-time 86400;
subnet 10.0.0.0 netmask 255.0.0.0 {{
  range 10.0.0.1 {last};
}}
"""


def timed(argv):
    """Runs argv under /usr/bin/time -v: (wall seconds, max RSS KiB, stdout, CPU seconds)."""
    p = subprocess.run(["/usr/bin/time", "-v"] + argv, capture_output=True, text=True)
    if p.returncode not in (0, 1):
        raise RuntimeError(f"{argv} exited {p.returncode}:\n{p.stdout[-2000:]}{p.stderr[-2000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", p.stderr).group(1)
    secs = 0.0
    for part in wall.split(":"):
        secs = secs * 60 + float(part)
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
    cpu = sum(float(re.search(rf"{k} time \(seconds\): (\S+)", p.stderr).group(1))
              for k in ("User", "System"))
    return secs, rss, p.stdout, cpu


def import_once(binary, leases, workdir):
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    store = os.path.join(workdir, "lessor.db")
    secs, rss, out, cpu = timed([binary, "leases", "import", "--isc", leases, "--store", store,
                                 "--subnet", "10.0.0.0/8"])
    m = re.search(r"imported (\d+)", out)
    if not m:
        raise RuntimeError(out)
    return secs, rss, int(m.group(1)), store, cpu


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def serve_memory(store, workdir):
    conf = os.path.join(workdir, "lessor.toml")
    with open(conf, "w") as f:
        f.write(CONF.format(store=os.path.abspath(store)))
    log = os.path.join(workdir, "serve.log")
    p = subprocess.Popen([LESSOR, "serve", "--config", conf], stderr=open(log, "w"))
    try:
        t0 = time.monotonic()
        while "dhcp4: listening" not in open(log).read():
            if p.poll() is not None or time.monotonic() - t0 > 120:
                raise RuntimeError(open(log).read())
            time.sleep(0.01)
        time.sleep(1)
        loaded = int(re.search(r"(\d+) binding\(s\) loaded", open(log).read()).group(1))
        return status_kib(p.pid, "VmRSS"), status_kib(p.pid, "VmHWM"), loaded
    finally:
        p.terminate()
        p.wait(30)


def last_address(leases):
    last = None
    with open(leases) as f:
        for line in f:
            if line.startswith("lease "):
                last = line.split()[1]
    return last


def dhcpd_load(leases, workdir):
    conf = os.path.join(workdir, "dhcpd.conf")
    with open(conf, "w") as f:
        f.write(DHCPD_CONF.format(last=last_address(leases)))
    copy = os.path.join(workdir, "dhcpd.leases")
    shutil.copyfile(leases, copy)
    dhcpd = shutil.which("dhcpd") or "/usr/sbin/dhcpd"
    secs, rss, _, _ = timed([dhcpd, "-4", "-t", "-T", "-cf", conf, "-lf", copy])
    return secs, rss


def mib(kib):
    return kib / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("leases")
    ap.add_argument("--baseline", help="an older lessor binary to compare with")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--dhcpd", action="store_true")
    ap.add_argument("--workdir", default="target/import-bench")
    a = ap.parse_args()
    rows = []
    print("| rep | load avg | baseline s | baseline peak RSS MiB | Lessor s | Lessor CPU s "
          "| Lessor peak RSS MiB | imported | serve VmRSS MiB | serve VmHWM MiB | dhcpd -T s "
          "| dhcpd -T peak RSS MiB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for rep in range(1, a.reps + 1):
        base = import_once(a.baseline, a.leases, a.workdir)[:2] if a.baseline else (None, None)
        load = os.getloadavg()[0]
        secs, rss, n, store, cpu = import_once(LESSOR, a.leases, a.workdir)
        srss, shwm, loaded = serve_memory(store, a.workdir)
        assert loaded == n, (loaded, n)
        isc = dhcpd_load(a.leases, a.workdir) if a.dhcpd else (None, None)
        rows.append((base, (secs, rss), (srss, shwm), isc))
        fmt = lambda v, f: "-" if v is None else f(v)
        print(f"| {rep} | {load:.1f} | {fmt(base[0], '{:.2f}'.format)} "
              f"| {fmt(base[1], lambda k: f'{mib(k):.0f}')} "
              f"| {secs:.2f} | {cpu:.2f} | {mib(rss):.0f} | {n} | {mib(srss):.0f} | {mib(shwm):.0f} "
              f"| {fmt(isc[0], '{:.2f}'.format)} | {fmt(isc[1], lambda k: f'{mib(k):.0f}')} |",
              flush=True)
    med = lambda xs: statistics.median(xs)
    print(f"median: Lessor {med([r[1][0] for r in rows]):.2f} s, peak RSS "
          f"{mib(med([r[1][1] for r in rows])):.0f} MiB; serve VmRSS "
          f"{mib(med([r[2][0] for r in rows])):.0f} MiB, VmHWM {mib(med([r[2][1] for r in rows])):.0f} MiB")
    if a.baseline:
        print(f"median: baseline {med([r[0][0] for r in rows]):.2f} s, peak RSS "
              f"{mib(med([r[0][1] for r in rows])):.0f} MiB; per repetition baseline/Lessor time "
              + ", ".join(f"{r[0][0] / r[1][0]:.1f}x" for r in rows))
    if a.dhcpd:
        print(f"median: dhcpd -T {med([r[3][0] for r in rows]):.2f} s, peak RSS "
              f"{mib(med([r[3][1] for r in rows])):.0f} MiB")
    shutil.rmtree(a.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
