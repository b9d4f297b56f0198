"""A throwaway PostgreSQL 15 cluster for the end-to-end tests (issue 17), and the way test
namespaces reach it.

The cluster lives in a temporary directory owned by the `postgres` user (postgres refuses to
run as root, and pytest's tmp dirs are root-only, so not there): data directory, socket
directory, server log. It listens on 127.0.0.1 and on a database address `db_addr` in
198.19.K.1 (198.18.0.0/15, K chosen free on the host) held by a veth pair of its own in the
root namespace (the `dummy` kind is missing in some containers), on one free port; `fsync=on`, `synchronous_commit=on`. Role and database `lessor`
with a random password; the superuser is reached over the socket with peer authentication.

Test namespaces reach the database through `attach(ns)`: a veth from the root namespace into
`ns` (no address on the host end, a /32 route to the namespace's address 198.19.K.n; the host
answers ARP for `db_addr` because it is a local address, arp_ignore 0). Deleting the namespace
deletes the veth. Nothing is routed beyond the host, and pg_hba only lets 127.0.0.1 and
198.19.K.0/24 log in, with a password (scram-sha-256).

`stop()` / `start()` / `restart()` keep the data (the outage tests); `teardown()` stops it
(`-m immediate`), copies the server log to the artifacts directory, removes the directory and
the interfaces. `sweep_stale()` does that for clusters and interfaces left by dead runs.
"""
from __future__ import annotations

import atexit
import ipaddress
import itertools
import os
import re
import secrets
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from . import addressing
from .netns import Namespace
from .util import HarnessError, run, wait_for

PG_BIN = Path("/usr/lib/postgresql/15/bin")
TMP = Path(tempfile.gettempdir())
DIR_PREFIX = "lsr-pg-"
IF_PREFIX = "lpg"                 # lpg<pid>d/e (db_addr's pair), lpg<pid>v<n> (veth host ends)
_live: Dict[str, "PgCluster"] = {}


def available() -> Optional[str]:
    """None when a cluster can be made here, else why not."""
    if os.geteuid() != 0:
        return "PostgreSQL fixture needs root"
    for b in ("initdb", "pg_ctl", "postgres", "psql"):
        if not (PG_BIN / b).is_file():
            return f"{PG_BIN / b} missing: run sudo scripts/e2e-deps.sh (package postgresql)"
    try:
        import pwd
        pwd.getpwnam("postgres")
    except KeyError:
        return "no `postgres` user: run sudo scripts/e2e-deps.sh (package postgresql)"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _db_net_candidates():
    """198.19.K.0/24 with no address and no route on the host (another run may hold one)."""
    used = run(["ip", "-4", "-o", "addr", "show"]).stdout + run(["ip", "-4", "route", "show"]).stdout
    for k in range(1, 255):
        if f"198.19.{k}." not in used:
            yield k, ipaddress.ip_network(addressing.check_allowed(f"198.19.{k}.0/24"))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _as_postgres(argv: Sequence[str], *, timeout: float = 60.0, check: bool = True, input=None):
    return run(["runuser", "-u", "postgres", "--"] + list(argv), timeout=timeout, check=check,
               input=input)


def _sql_literal(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


class PgCluster:
    """One cluster. `PgCluster(artifacts)` creates and starts it; use as a context manager or
    call `teardown()`."""

    def __init__(self, artifacts: Optional[Path] = None, *, user: str = "lessor",
                 database: str = "lessor", password: Optional[str] = None,
                 settings: Optional[Dict[str, str]] = None):
        why = available()
        if why:
            raise HarnessError(why)
        self.artifacts = artifacts
        self.user, self.database = user, database
        self.password = password or secrets.token_hex(12)
        self.dir = Path(tempfile.mkdtemp(prefix=f"{DIR_PREFIX}{os.getpid()}-", dir=TMP))
        self.data = self.dir / "data"
        self.sock = self.dir / "sock"
        self.log = self.dir / "postgres.log"
        self.port = _free_port()
        self.net: Optional[ipaddress.IPv4Network] = None
        self.db_addr = ""
        self.db_if = ""
        self._veths: List[str] = []
        self._attached: Dict[str, str] = {}       # namespace name -> its address
        self._next_host = itertools.count(2)      # .1 is db_addr
        self.running = False
        _live[str(self.dir)] = self
        try:
            self._make_db_if()
            self._init(settings or {})
            self.start()
            self.psql(f"CREATE ROLE {user} LOGIN PASSWORD {_sql_literal(self.password)}",
                      database="postgres")
            self.psql(f"CREATE DATABASE {database} OWNER {user}", database="postgres")
        except BaseException:
            self.teardown()
            raise

    # ------------------------------------------------------------ set-up
    def _make_db_if(self) -> None:
        """db_addr on a veth pair `lpg<K>d`/`lpg<K>e` (not a dummy interface: containers often
        lack that module; deleting one end deletes the other). The names carry K, unique on the
        host while the address is held; a run that loses a race for K takes the next. The names
        are written to the cluster directory so `sweep_stale` can remove them after a crash."""
        for k, net in _db_net_candidates():
            name = f"{IF_PREFIX}{k}d"
            cp = run(["ip", "link", "add", "name", name, "type", "veth", "peer", "name",
                      f"{IF_PREFIX}{k}e"], check=False)
            if cp.returncode != 0:
                continue
            self.k, self.net, self.db_if = k, net, name
            self._record(name)
            self.db_addr = str(net.network_address + 1)
            run(["ip", "addr", "add", f"{self.db_addr}/32", "dev", name])
            run(["ip", "link", "set", f"{IF_PREFIX}{k}e", "up"])
            run(["ip", "link", "set", name, "up"])
            return
        raise HarnessError("no free 198.19.K.0/24 for the database address")

    def _record(self, ifname: str) -> None:
        with open(self.dir / "interfaces", "a") as f:
            f.write(ifname + "\n")

    def _init(self, settings: Dict[str, str]) -> None:
        os.chmod(self.dir, 0o700)
        self.sock.mkdir()
        shutil.chown(self.dir, "postgres", "postgres")
        shutil.chown(self.sock, "postgres", "postgres")
        _as_postgres([str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
                      "--auth-local=peer", "--auth-host=scram-sha-256", "-E", "UTF8",
                      "--locale=C.UTF-8", "--no-instructions"], timeout=120)
        conf = {
            "listen_addresses": f"'127.0.0.1,{self.db_addr}'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.sock}'",
            "fsync": "on",
            "synchronous_commit": "on",
            "max_connections": "200",
            "log_line_prefix": "'%m [%p] %u@%d '",
            "log_connections": "off",
        }
        conf.update(settings)
        with open(self.data / "postgresql.conf", "a") as f:
            f.write("\n# lessor e2e harness\n")
            for k, v in conf.items():
                f.write(f"{k} = {v}\n")
        with open(self.data / "pg_hba.conf", "a") as f:
            f.write(f"host all all {self.net} scram-sha-256\n")

    # ------------------------------------------------------------ life cycle
    def start(self, timeout: float = 60.0) -> None:
        _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w",
                      "-t", str(int(timeout)), "start"], timeout=timeout + 10)
        self.running = True

    def stop(self, mode: str = "fast", timeout: float = 60.0) -> None:
        """Stop the server (mode "fast": clients disconnected, "immediate": like a crash)."""
        _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w",
                      "-t", str(int(timeout)), "stop"], timeout=timeout + 10)
        self.running = False

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def _postmaster_pid(self) -> Optional[int]:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def is_ready(self) -> bool:
        cp = _as_postgres([str(PG_BIN / "pg_isready"), "-h", str(self.sock), "-p",
                           str(self.port)], check=False, timeout=10)
        return cp.returncode == 0

    # ------------------------------------------------------------ access
    def url(self, host: Optional[str] = None, *, password: bool = True,
            database: Optional[str] = None) -> str:
        """postgresql://lessor:PW@127.0.0.1:PORT/lessor (host: `db_addr` from a namespace)."""
        cred = f"{self.user}:{self.password}" if password else self.user
        return f"postgresql://{cred}@{host or '127.0.0.1'}:{self.port}/{database or self.database}"

    def psql(self, sql: str, *, database: Optional[str] = None, timeout: float = 30.0) -> str:
        """Run SQL as the superuser over the socket; unaligned, tab-separated, no headers."""
        cp = _as_postgres([str(PG_BIN / "psql"), "-h", str(self.sock), "-p", str(self.port),
                           "-U", "postgres", "-d", database or self.database, "-X", "-q", "-A",
                           "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-f", "-"],
                          input=sql, timeout=timeout)
        return cp.stdout

    def rows(self, sql: str, *, database: Optional[str] = None) -> List[List[str]]:
        """The rows of a query, each a list of column texts (NULL is '')."""
        out = self.psql(sql, database=database)
        return [line.split("\t") for line in out.splitlines() if line != ""]

    def create_database(self, name: str, owner: str, password: str) -> None:
        """Another role and database on the same server (Kea's, for comparisons)."""
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name + owner):
            raise HarnessError(f"bad database/role name {name!r}/{owner!r}")
        self.psql(f"CREATE ROLE {owner} LOGIN PASSWORD {_sql_literal(password)}",
                  database="postgres")
        self.psql(f"CREATE DATABASE {name} OWNER {owner}", database="postgres")

    def attach(self, ns: Namespace, ifname: str = "pg0") -> str:
        """Let `ns` reach the database at `db_addr`:PORT; returns the namespace's address."""
        if ns.name in self._attached:
            return self._attached[ns.name]
        n = next(self._next_host)
        if n > 250:
            raise HarnessError("too many namespaces attached to one cluster")
        addr = str(self.net.network_address + n)
        host_if = f"{IF_PREFIX}{self.k}v{n}"
        run(["ip", "link", "add", "name", host_if, "type", "veth", "peer", "name", ifname,
             "netns", ns.name])
        self._veths.append(host_if)
        self._record(host_if)
        run(["ip", "link", "set", host_if, "up"])
        run(["ip", "route", "add", f"{addr}/32", "dev", host_if])
        ns.ip("addr", "add", f"{addr}/32", "dev", ifname)
        ns.ip("link", "set", ifname, "up")
        ns.ip("route", "add", f"{self.db_addr}/32", "dev", ifname, "src", addr)
        self._attached[ns.name] = addr
        return addr

    # ------------------------------------------------------------ teardown
    def teardown(self) -> None:
        errors = []
        try:
            pid = self._postmaster_pid()
            if pid is not None:
                _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                              "-w", "-t", "30", "stop"], check=False, timeout=40)
                # pg_ctl returns once the pid file is gone; the process may still be exiting.
                wait_for(lambda: not _pid_alive(pid), timeout=10, what=f"postmaster {pid} gone")
            self.running = False
        except Exception as e:  # noqa: BLE001
            errors.append(e)
        if self.artifacts is not None and self.log.exists():
            try:
                self.artifacts.mkdir(parents=True, exist_ok=True)
                shutil.copy(self.log, self.artifacts / "postgres.log")
            except OSError as e:
                errors.append(e)
        for ifn in self._veths + ([self.db_if] if self.db_if else []):
            if run(["ip", "link", "show", ifn], check=False).returncode == 0:
                run(["ip", "link", "del", ifn], check=False)
        self._veths.clear()
        self._attached.clear()
        shutil.rmtree(self.dir, ignore_errors=True)
        _live.pop(str(self.dir), None)
        if errors:
            raise HarnessError(f"PostgreSQL teardown errors: {errors}")

    def __enter__(self) -> "PgCluster":
        return self

    def __exit__(self, *exc) -> None:
        self.teardown()


def sweep_stale() -> List[str]:
    """Stop and remove clusters and interfaces of runs whose process is gone."""
    removed: List[str] = []
    if os.geteuid() != 0:
        return removed
    for d in TMP.glob(f"{DIR_PREFIX}*"):
        m = re.match(rf"^{DIR_PREFIX}(\d+)-", d.name)
        if not m or _pid_alive(int(m.group(1))):
            continue
        if (d / "data" / "postmaster.pid").exists() and (PG_BIN / "pg_ctl").is_file():
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(d / "data"), "-m", "immediate",
                          "-w", "-t", "30", "stop"], check=False, timeout=40)
        try:
            names = (d / "interfaces").read_text().split()
        except OSError:
            names = []
        for name in names:
            if re.fullmatch(rf"{IF_PREFIX}\d+[dv]\d*", name):
                run(["ip", "link", "del", name], check=False)
        shutil.rmtree(d, ignore_errors=True)
        removed.append(str(d))
    return removed


atexit.register(lambda: [c.teardown() for c in list(_live.values())])
