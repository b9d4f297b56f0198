"""The throwaway PostgreSQL of the harness (harness/postgres.py) on its own, before anything
uses it: a cluster starts with fsync and synchronous_commit on, role `lessor` logs in with its
password over TCP from the root namespace and from a test namespace (`attach`), data survives
`stop()` / `start()` and `restart()`, a stopped server refuses connections, and teardown
leaves no process, directory or interface behind."""
from __future__ import annotations

from pathlib import Path

import pytest

from harness import postgres
from harness.netns import Namespace
from harness.util import run


def _psql_url(url: str, sql: str, ns: Namespace = None, check: bool = True):
    argv = [str(postgres.PG_BIN / "psql"), url, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1",
            "-c", sql]
    if ns is not None:
        return ns.run(*argv, check=check, timeout=20)
    return run(argv, check=check, timeout=20)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    why = postgres.available()
    if why:
        pytest.skip(why)
    c = postgres.PgCluster(tmp_path_factory.mktemp("pgself"))
    ns = Namespace("pgc")
    try:
        yield c, ns
    finally:
        try:
            ns.delete()
        finally:
            c.teardown()


def test_settings_are_durable(cluster):
    c, _ = cluster
    got = dict(c.rows("SELECT name, setting FROM pg_settings WHERE name IN "
                      "('fsync', 'synchronous_commit', 'listen_addresses', 'port')"))
    assert got["fsync"] == "on" and got["synchronous_commit"] == "on"
    assert got["port"] == str(c.port)
    assert set(got["listen_addresses"].split(",")) == {"127.0.0.1", c.db_addr}
    assert c.rows("SELECT current_setting('server_version_num')::int / 10000")[0][0] == "15"


def test_role_logs_in_with_password_and_owns_database(cluster):
    c, _ = cluster
    _psql_url(c.url(), "CREATE TABLE t (k int PRIMARY KEY, v text)")
    _psql_url(c.url(), "INSERT INTO t VALUES (1, 'one')")
    assert c.rows("SELECT k, v FROM t") == [["1", "one"]]
    assert c.rows("SELECT tableowner FROM pg_tables WHERE tablename = 't'") == [["lessor"]]
    wrong = c.url().replace(c.password, "not-the-password")
    assert _psql_url(wrong, "SELECT 1", check=False).returncode != 0


def test_namespace_reaches_database_through_attach(cluster):
    c, ns = cluster
    addr = c.attach(ns)
    assert c.attach(ns) == addr                      # once per namespace
    out = _psql_url(c.url(c.db_addr), "SELECT inet_client_addr()", ns=ns).stdout.strip()
    assert out == addr
    # the namespace has no other way out: 127.0.0.1 there is its own loopback
    assert _psql_url(c.url(), "SELECT 1", ns=ns, check=False).returncode != 0


def test_stop_refuses_and_start_keeps_data(cluster):
    c, _ = cluster
    _psql_url(c.url(), "CREATE TABLE IF NOT EXISTS t (k int PRIMARY KEY, v text)")
    _psql_url(c.url(), "INSERT INTO t VALUES (2, 'two') ON CONFLICT DO NOTHING")
    c.stop()
    assert not c.is_ready()
    assert _psql_url(c.url(), "SELECT 1", check=False).returncode != 0
    c.start()
    assert c.is_ready()
    assert ["2", "two"] in c.rows("SELECT k, v FROM t")
    c.restart(mode="immediate")                       # crash-like: committed rows stay
    assert ["2", "two"] in c.rows("SELECT k, v FROM t")


def test_teardown_leaves_nothing(tmp_path):
    why = postgres.available()
    if why:
        pytest.skip(why)
    c = postgres.PgCluster(tmp_path)
    ns = Namespace("pgt")
    try:
        c.attach(ns)
        d, db_if, pid_file = c.dir, c.db_if, c.data / "postmaster.pid"
        pid = int(pid_file.read_text().split()[0])
        veth = c._veths[0]
    finally:
        ns.delete()
        c.teardown()
    assert not Path(d).exists()
    assert (tmp_path / "postgres.log").exists()
    for ifn in (db_if, db_if[:-1] + "e", veth):
        assert run(["ip", "link", "show", ifn], check=False).returncode != 0, ifn
    assert not Path(f"/proc/{pid}").exists()
