"""One topology and one process manager shared by several tests.

An expensive scenario (namespaces, daemons, bindings, queries) runs once in a
module- or class-scoped fixture; each check over its results is its own test,
so one failing check does not hide the others. `shared_setup()` is that
fixture's body: it makes the artifacts directory, the ProcessManager and the
topology, records the directory on the pytest node that owns the fixture (the
conftest report hook prints it for every failing test under that node, also
when the fixture itself fails), and tears everything down at the end of the
scope, whatever failed: processes first, then the namespaces."""
from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional

import pytest

from .netns import Topology4
from .procs import ProcessManager

# the artifacts directory of a module's / class's shared setup, on that node's stash
ARTIFACTS = pytest.StashKey[Path]()


@dataclass
class Shared:
    artifacts: Path
    procs: ProcessManager
    topo: object          # Topology4, TopologyDirect4, ...


@contextmanager
def shared_setup(request, tmp_path_factory, topology: Optional[Callable[[], object]] = Topology4
                 ) -> Iterator[Shared]:
    """For a fixture of scope module or class: `with shared_setup(request, tmp_path_factory) as s:
    yield build(s)`."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name)[:40]
    artifacts = tmp_path_factory.mktemp(name) / "e2e"
    artifacts.mkdir()
    request.node.stash[ARTIFACTS] = artifacts
    procs = ProcessManager(artifacts / "logs")
    t = None
    try:
        if topology is not None:
            t = topology()
        yield Shared(artifacts, procs, t)
    finally:
        try:
            procs.stop_all()
        finally:
            if t is not None:
                t.teardown()


def artifacts_of(item) -> list:
    """Artifacts directories a failing test should point at: its own (`artifacts` fixture) and
    those of the shared setups of the nodes it belongs to."""
    dirs = []
    if "artifacts" in getattr(item, "funcargs", {}):
        dirs.append(item.funcargs["artifacts"])
    for node in item.listchain():
        if ARTIFACTS in node.stash:
            dirs.append(node.stash[ARTIFACTS])
    return dirs
