"""Reload under load loses nothing (issue 16, reload): `lessor perf dora` runs against
`lessor serve` in its own namespace (the generator is the relay), the server gets several
SIGHUPs with changed configs during the run (lease time, a pool widened, a subnet added, rate
limits, leasequery requesters), each logged as applied; then the server is killed with
SIGKILL while the generator still runs, and every binding the generator saw ACKed is in the
store after a restart (docs/operator-guide.md, "Reloading the configuration")."""
from __future__ import annotations

import json
import re
import signal
import time

import pytest

from harness.lessor import LessorServer, Subnet4, lessor_bin, write_config
from harness.pair import GEN_V4, SERVER_V4, GeneratorPair

LINK = "198.18.0.1"                   # link-selection: the subnet the clients are in
CLIENTS = 6000


@pytest.fixture
def pair(procs):
    p = GeneratorPair()
    try:
        yield p
    finally:
        p.teardown()


def configs(base: str):
    """The configs the run reloads, each changing something that applies live."""
    wider = base.replace("198.18.0.10-198.18.15.255", "198.18.0.10-198.18.31.255")
    yield wider.replace('lease-time = "10m"', 'lease-time = "20m"')
    yield wider + '\n[[dhcp4.subnet]]\nprefix = "203.0.113.0/24"\npools = ["203.0.113.10-203.0.113.20"]\n'
    yield wider + "\n[dhcp4.rate-limit]\nper-client = 50\n"
    yield wider.replace('requesters = ["198.51.100.2/32"]', 'requesters = ["198.51.100.2/32", "192.0.2.1/32"]')
    yield base


def test_reloads_under_load_lose_no_acked_binding(pair, procs, artifacts):
    store = artifacts / "lessor.db"
    config = write_config(
        artifacts / "lessor.toml", identifier=SERVER_V4, store=store, listen=[SERVER_V4],
        relays=["192.0.2.0/24"], lease_time="10m", requesters=[f"{SERVER_V4}/32"],
        subnets=[Subnet4("198.18.0.0/16", ("198.18.0.10", "198.18.15.255"))])
    base = config.read_text()
    server = LessorServer(procs, pair.server, config, store)
    server.check()
    server.start()

    acked = artifacts / "acked.txt"
    perf = procs.start(pair.gen, "perf-dora", [
        str(lessor_bin()), "perf", "dora", "--server", f"{SERVER_V4}:67",
        "--bind", f"{GEN_V4}:67", "--link-selection", LINK, "--clients", str(CLIENTS),
        "--in-flight", "16", "--timeout", "300ms", "--retries", "1", "--duration", "60s",
        "--acked-out", str(acked), "--json"])

    # Reloads while the generator runs, each waited for in the log.
    applied = 0
    for text in configs(base):
        config.write_text(text)
        server.proc.send_signal(signal.SIGHUP)
        applied += 1
        deadline = time.monotonic() + 10
        while server.output().count("reload: applied") < applied:
            assert time.monotonic() < deadline, server.output()[-3000:]
            assert "reload: refused" not in server.output(), server.output()[-3000:]
            time.sleep(0.05)
        time.sleep(0.2)
    during = perf.alive()
    # SIGKILL: no clean shutdown, no last flush.
    server.kill()
    perf.wait(timeout=90)
    report = json.loads(perf.stdout_path.read_text())
    lines = acked.read_text().splitlines()
    assert lines, report
    want = {}
    for line in lines:
        address, mac = line.split()[:2]
        want[address] = mac.lower()

    # Restarted on the same store: every ACKed binding is there, with its client's MAC.
    server.start()
    loaded = re.search(r"(\d+) binding\(s\) loaded", server.output())
    assert loaded and int(loaded.group(1)) >= len(want), server.output()[-3000:]
    server.stop()
    got = {b["address"]: b for b in server.list()}
    missing = [a for a in want if a not in got]
    assert not missing, f"{len(missing)} ACKed binding(s) lost, e.g. {missing[:5]}"
    wrong = [a for a, mac in want.items() if got[a]["mac"].lower() != mac]
    assert not wrong, wrong[:5]
    print(f"{len(want)} ACKed, {len(got)} stored, {applied} reloads, "
          f"generator still running at the kill: {during}")
