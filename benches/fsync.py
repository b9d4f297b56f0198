#!/usr/bin/env python3
"""Latency of one synced append on the disk holding DIR (default target/): 512-octet
appends, each followed by os.fsync, N times (default 2000); prints p50/p90/p99/mean in ms.

    python3 benches/fsync.py [DIR] [N]
"""
import os
import statistics
import sys
import time

d = sys.argv[1] if len(sys.argv) > 1 else "target"
n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
path = os.path.join(d, f"fsync-probe-{os.getpid()}")
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
buf = b"x" * 512
samples = []
try:
    for _ in range(n):
        os.write(fd, buf)
        t = time.perf_counter()
        os.fsync(fd)
        samples.append((time.perf_counter() - t) * 1000)
finally:
    os.close(fd)
    os.unlink(path)
samples.sort()
q = lambda p: samples[min(len(samples) - 1, int(p * len(samples)))]
print(f"fsync after a 512-octet append, {n} times on {os.path.abspath(d)}: "
      f"p50 {q(0.5):.3f} ms, p90 {q(0.9):.3f} ms, p99 {q(0.99):.3f} ms, "
      f"mean {statistics.mean(samples):.3f} ms")
