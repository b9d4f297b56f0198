"""pytest wiring for the end-to-end harness (see README.md)."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from harness import netns, postgres
from harness.netns import Topology4, TopologyDirect4
from harness.pair import GeneratorPair
from harness.procs import ProcessManager
from harness.shared import Shared, artifacts_of, shared_setup

REQUIRED_TOOLS = ["ip", "dhcpd", "dhcrelay", "dhclient", "tshark", "kea-dhcp6", "perfdhcp", "dhcpcd"]


def _missing_tools():
    path = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
    return [t for t in REQUIRED_TOOLS if not shutil.which(t, path=path)]


def _skip_reason():
    if os.geteuid() != 0:
        return "end-to-end suite needs root (network namespaces): sudo python3 -m pytest tests/e2e"
    missing = _missing_tools()
    if missing:
        return f"missing tools {missing}: run sudo scripts/e2e-deps.sh"
    try:
        import scapy  # noqa: F401
    except ImportError:
        return "python package scapy missing: run sudo scripts/e2e-deps.sh"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _skip_reason()
    if reason is None:
        return
    if os.environ.get("LESSOR_E2E_REQUIRE") == "1":
        raise pytest.UsageError(f"LESSOR_E2E_REQUIRE=1 but {reason}")
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.skip(reason=reason))


def _host_state():
    rc = Path("/etc/resolv.conf")
    digest = hashlib.sha256(rc.read_bytes()).hexdigest() if rc.exists() else None
    hn = subprocess.run(["hostname"], capture_output=True, text=True, timeout=10).stdout.strip()
    return {"resolv.conf sha256": digest, "hostname": hn}


@pytest.fixture(scope="session", autouse=True)
def host_guard():
    """Sweep namespaces left by crashed runs; assert the machine's resolv.conf
    and hostname are unchanged by the suite."""
    if _skip_reason() is not None:
        yield
        return
    netns.sweep_stale()
    postgres.sweep_stale()
    before = _host_state()
    yield before
    netns.sweep_stale(all_of_ours=True)
    after = _host_state()
    assert after == before, f"suite changed host state: before={before} after={after}"


@pytest.fixture
def artifacts(tmp_path) -> Path:
    """Per-test directory for configs, lease files, logs and pcaps."""
    d = tmp_path / "e2e"
    d.mkdir()
    return d


@pytest.fixture
def procs(artifacts):
    """ProcessManager whose processes are all killed at teardown."""
    pm = ProcessManager(artifacts / "logs")
    try:
        yield pm
    finally:
        pm.stop_all()


@pytest.fixture
def topo4(procs):
    """client ns <-> relay ns <-> server ns (see harness.netns.Topology4).
    Depends on `procs` so processes are stopped before namespaces go."""
    t = Topology4()
    try:
        yield t
    finally:
        t.teardown()


@pytest.fixture(scope="module")
def shared4(request, tmp_path_factory) -> Shared:
    """One Topology4, ProcessManager and artifacts directory for a whole module (see
    harness.shared): its fixture runs the scenario once, each check is its own test."""
    with shared_setup(request, tmp_path_factory, Topology4) as s:
        yield s


@pytest.fixture
def generator_pair(procs):
    """gen ns (its own relay agent) <-> server ns (see harness.pair.GeneratorPair)."""
    t = GeneratorPair()
    try:
        yield t
    finally:
        t.teardown()


@pytest.fixture
def topo_direct(procs):
    """client ns <-> server ns on one link (see harness.netns.TopologyDirect4)."""
    t = TopologyDirect4()
    try:
        yield t
    finally:
        t.teardown()


@pytest.fixture(scope="module")
def pg(request, tmp_path_factory):
    """A throwaway PostgreSQL 15 cluster for a whole module (harness.postgres.PgCluster):
    role and database `lessor`, `pg.url()`, `pg.attach(ns)` for a namespace to reach it at
    `pg.db_addr`; stopped and removed at the end of the module."""
    why = postgres.available()
    if why is not None:
        if os.environ.get("LESSOR_E2E_REQUIRE") == "1":
            pytest.fail(f"LESSOR_E2E_REQUIRE=1 but {why}")
        pytest.skip(why)
    artifacts = tmp_path_factory.mktemp("postgres")
    cluster = postgres.PgCluster(artifacts)
    try:
        yield cluster
    finally:
        cluster.teardown()


def pytest_runtest_makereport(item, call):
    # Point at the artifacts of a failing test, also when a shared (module / class) setup failed.
    if call.when in ("setup", "call") and call.excinfo is not None \
            and not call.excinfo.errisinstance(pytest.skip.Exception):
        dirs = artifacts_of(item)
        if dirs:
            item.add_report_section(call.when, "e2e artifacts", "\n".join(str(d) for d in dirs))
