"""ISC Kea 2.2 kea-dhcp4 with its PostgreSQL lease backend on the harness's throwaway cluster:
the reference the issue 17 benchmark compares Lessor's PostgreSQL backend with (same database
server, same perfdhcp load). Kea's schema is loaded with `kea-admin db-init pgsql` into a
database of its own; kea-dhcp4 runs in the server namespace of a generator pair and reaches the
cluster through `pg.attach`; perfdhcp (its own relay agent, giaddr 192.0.2.1) does DORAs; each
lease perfdhcp was ACKed is a row of Kea's `lease4` table. Runs once (module fixture)."""
from __future__ import annotations

import ipaddress
import re
from types import SimpleNamespace

import pytest

from harness import kea
from harness.pair import GEN_V4, SERVER_V4, GeneratorPair
from harness.shared import shared_setup
from harness.util import wait_for

CLIENTS = 5


@pytest.fixture(scope="module")
def run(request, tmp_path_factory, pg):
    if not kea.Path(kea.KEA_DHCP4).is_file():
        pytest.skip("kea-dhcp4 missing: run sudo scripts/e2e-deps.sh")
    with shared_setup(request, tmp_path_factory, GeneratorPair) as s:
        pg.attach(s.topo.server)
        db = kea.pgsql_lease_database(pg, pg.db_addr)
        workdir = s.artifacts / "kea4"
        cfg = kea.config4(workdir, [s.topo.server_if],
                          [kea.Subnet4("192.0.2.0/24", pools=["192.0.2.100 - 192.0.2.150"])],
                          lease_database=db)
        server = kea.start_kea(s.procs, s.topo.server, workdir, cfg)
        perf = s.procs.run(s.topo.gen, "perfdhcp4", [
            # avalanche: exactly -R clients (distinct MACs), each retried until ACKed
            kea.PERFDHCP, "-4", "-l", GEN_V4, "--scenario", "avalanche", "-R", str(CLIENTS),
            "-W", "1000000", SERVER_V4], timeout=60, check=False)
        out = perf.output()
        rows = wait_for(lambda: pg.rows(
            "SELECT host(address::inet) AS a, encode(hwaddr, 'hex'), state, valid_lifetime, "
            "subnet_id FROM (SELECT '0.0.0.0'::inet + address AS address, hwaddr, state, "
            "valid_lifetime, subnet_id FROM lease4) l ORDER BY a", database="kea"),
            timeout=10, what="rows in Kea's lease4 table")
        yield SimpleNamespace(out=out, rc=perf.popen.returncode, rows=rows, kea=server,
                              version=pg.rows("SELECT version FROM schema_version",
                                              database="kea"))


def test_schema_initialised_by_kea_admin(run):
    assert run.version and run.version[0][0].isdigit(), run.version


def test_perfdhcp_completes_every_dora(run):
    assert run.rc == 0, run.out
    # one block per exchange: DISCOVER-OFFER, then REQUEST-ACK
    received = [int(n) for n in re.findall(r"received packets: (\d+)", run.out)]
    assert received[:2] == [CLIENTS, CLIENTS], run.out


def test_every_lease_is_a_row_of_lease4(run):
    assert len(run.rows) == CLIENTS, run.rows
    addrs = [ipaddress.ip_address(r[0]) for r in run.rows]
    assert len(set(addrs)) == CLIENTS
    first, last = ipaddress.ip_address("192.0.2.100"), ipaddress.ip_address("192.0.2.150")
    assert all(first <= a <= last for a in addrs), addrs
    assert all(r[2] == "0" and r[3] == "4000" and r[4] == "1" for r in run.rows), run.rows
    assert len({r[1] for r in run.rows}) == CLIENTS          # one per perfdhcp client


def test_kea_kept_nothing_in_memfile(run):
    assert run.kea.lease_file is None
    assert not any(p.name.endswith(".csv") for p in run.kea.conf.parent.iterdir())
