"""ISC Kea 2.2 (kea-dhcp4 / kea-dhcp6) inside a namespace, everything it writes
under the test's directory: configuration, memfile lease file (persist = true),
control socket, server-id file (data-directory), PID and logger lock files
(KEA_PIDFILE_DIR / KEA_LOCKFILE_DIR). Never the system paths.

`config6()` / `config4()` build a configuration (a dict, written as JSON) from
subnets with pools (and prefix-delegation pools for v6); `start_kea()` checks it
(`-t`, inside the namespace, so interface names resolve) and starts the daemon,
logging to stdout, until it says it started. `Kea.leases()` reads the memfile
CSV (the last row of an address wins, as Kea's own loader does) and
`Kea.command()` talks to the control socket.

With PostgreSQL (issue 17's comparisons): `pgsql_lease_database()` initialises Kea's schema
with `kea-admin db-init pgsql` in a database of its own on a harness cluster
(harness/postgres.py) and gives the `lease-database` entry to pass to `config4()` /
`config6()`; `Kea.leases()` then does not apply (no memfile): read the `lease4` / `lease6`
tables with the cluster's `rows()`.
"""
from __future__ import annotations

import csv
import json
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from . import addressing
from .netns import Namespace
from .procs import Proc, ProcessManager
from .util import HarnessError, run

KEA_DHCP4 = "/usr/sbin/kea-dhcp4"
KEA_DHCP6 = "/usr/sbin/kea-dhcp6"
PERFDHCP = "/usr/sbin/perfdhcp"

# lease_type in the v6 memfile CSV
LEASE_NA, LEASE_TA, LEASE_PD = 0, 1, 2


@dataclass
class Subnet6:
    """A subnet6 entry: `pools` as Kea writes them ("2001:db8:1::/64" or "A - B"),
    `pd_pools` as (prefix/len, delegated length)."""
    prefix: str
    pools: Sequence[str] = ()
    pd_pools: Sequence[tuple] = ()
    id: int = 1
    interface_id: Optional[str] = None
    extra: Dict = field(default_factory=dict)

    def to_json(self) -> Dict:
        addressing.check_allowed(self.prefix)
        s = {"id": self.id, "subnet": self.prefix,
             "pools": [{"pool": p} for p in self.pools]}
        pd = []
        for prefix, delegated in self.pd_pools:
            addressing.check_allowed(prefix)
            net, length = prefix.split("/")
            pd.append({"prefix": net, "prefix-len": int(length), "delegated-len": int(delegated)})
        if pd:
            s["pd-pools"] = pd
        if self.interface_id is not None:
            s["interface-id"] = self.interface_id
        s.update(self.extra)
        return s


@dataclass
class Subnet4:
    """A subnet4 entry: `pools` as "A - B" or a prefix."""
    prefix: str
    pools: Sequence[str] = ()
    id: int = 1
    routers: Optional[str] = None
    extra: Dict = field(default_factory=dict)

    def to_json(self) -> Dict:
        addressing.check_allowed(self.prefix)
        s = {"id": self.id, "subnet": self.prefix, "pools": [{"pool": p} for p in self.pools]}
        if self.routers:
            s["option-data"] = [{"name": "routers", "data": self.routers}]
        s.update(self.extra)
        return s


KEA_ADMIN = "/usr/sbin/kea-admin"


def pgsql_lease_database(pg, host: str, *, database: str = "kea", user: str = "kea",
                         password: str = "kea-e2e-password") -> Dict:
    """Create role and database `database` on the cluster `pg` (a harness.postgres.PgCluster),
    load Kea's schema into it with `kea-admin db-init pgsql` (from the root namespace, over
    127.0.0.1), and return the `lease-database` entry for a Kea that reaches the cluster at
    `host` (`pg.db_addr` from a namespace attached with `pg.attach(ns)`)."""
    if not Path(KEA_ADMIN).is_file():
        raise HarnessError(f"{KEA_ADMIN} missing: run sudo scripts/e2e-deps.sh")
    pg.create_database(database, user, password)
    run([KEA_ADMIN, "db-init", "pgsql", "-h", "127.0.0.1", "-P", str(pg.port), "-u", user,
         "-p", password, "-n", database], timeout=120)
    return {"type": "postgresql", "name": database, "host": host, "port": pg.port,
            "user": user, "password": password, "connect-timeout": 5,
            "max-reconnect-tries": 10, "reconnect-wait-time": 1000}


def _common(workdir: Path, family: int, interfaces: Sequence[str], multi_threading: bool,
            thread_pool_size: int, packet_queue_size: int, severity: str,
            lease_database: Optional[Dict] = None) -> Dict:
    name = f"kea-dhcp{family}"
    return {
        "interfaces-config": {"interfaces": list(interfaces)},
        "control-socket": {"socket-type": "unix", "socket-name": str(workdir / f"{name}.sock")},
        "lease-database": lease_database or {
            "type": "memfile", "persist": True, "lfc-interval": 0,
            "name": str(workdir / f"{name}.leases.csv")},
        "multi-threading": {"enable-multi-threading": multi_threading,
                            "thread-pool-size": thread_pool_size,
                            "packet-queue-size": packet_queue_size},
        "loggers": [{"name": name, "severity": severity,
                     "output_options": [{"output": "stdout", "flush": True}]}],
    }


def config6(workdir: Path, interfaces: Sequence[str], subnets: Sequence[Subnet6], *,
            preferred_lifetime: int = 3000, valid_lifetime: int = 4000,
            renew_timer: int = 1000, rebind_timer: int = 2000,
            multi_threading: bool = True, thread_pool_size: int = 0,
            packet_queue_size: int = 64, severity: str = "INFO",
            extra: Optional[Dict] = None, lease_database: Optional[Dict] = None) -> Dict:
    """A Dhcp6 configuration (memfile unless `lease_database`, e.g. pgsql_lease_database()).
    `interfaces` as Kea writes them: "s0" (link-local and
    multicast) or "s0/2001:db8:2::2" (also that unicast address: relayed traffic sent
    to it). The server-id is a fixed DUID-EN, kept out of the system's data directory."""
    cfg = _common(workdir, 6, interfaces, multi_threading, thread_pool_size, packet_queue_size,
                  severity, lease_database)
    cfg.update({
        "data-directory": str(workdir),
        "server-id": {"type": "EN", "enterprise-id": 2495, "identifier": "6c6573736f72",
                      "persist": False},
        "preferred-lifetime": preferred_lifetime, "valid-lifetime": valid_lifetime,
        "renew-timer": renew_timer, "rebind-timer": rebind_timer,
        "subnet6": [s.to_json() for s in subnets],
    })
    cfg.update(extra or {})
    return {"Dhcp6": cfg}


def config4(workdir: Path, interfaces: Sequence[str], subnets: Sequence[Subnet4], *,
            valid_lifetime: int = 4000, multi_threading: bool = True, thread_pool_size: int = 0,
            packet_queue_size: int = 64, severity: str = "INFO", socket_type: str = "udp",
            extra: Optional[Dict] = None, lease_database: Optional[Dict] = None) -> Dict:
    """A Dhcp4 configuration (memfile unless `lease_database`, e.g. pgsql_lease_database()). `socket_type` "udp" serves relayed traffic only (no raw
    sockets); "raw" also directly attached clients."""
    cfg = _common(workdir, 4, interfaces, multi_threading, thread_pool_size, packet_queue_size,
                  severity, lease_database)
    cfg["interfaces-config"]["dhcp-socket-type"] = socket_type
    cfg.update({"valid-lifetime": valid_lifetime,
                "subnet4": [s.to_json() for s in subnets]})
    cfg.update(extra or {})
    return {"Dhcp4": cfg}


def kea_env(workdir: Path) -> Dict[str, str]:
    """Kea's PID file and logger lock file under workdir instead of /run."""
    env = dict(os.environ)
    env["KEA_PIDFILE_DIR"] = str(workdir)
    env["KEA_LOCKFILE_DIR"] = str(workdir)
    return env


@dataclass
class Kea:
    proc: Proc
    family: int
    conf: Path
    lease_file: Optional[Path]           # None with an SQL lease database
    control_socket: Path

    def leases(self) -> List[Dict[str, str]]:
        """Current leases from the memfile CSV: the last row per (address, lease type) wins,
        rows with valid_lifetime 0 (released or reclaimed) dropped."""
        if self.lease_file is None:
            raise HarnessError("this Kea keeps its leases in SQL: read its lease4/lease6 table")
        latest: Dict[tuple, Dict[str, str]] = {}
        if not self.lease_file.exists():
            return []
        with open(self.lease_file, newline="") as f:
            for row in csv.DictReader(f):
                latest[(row["address"], row.get("lease_type", "v4"))] = row
        return [r for r in latest.values() if r["valid_lifetime"] != "0"]

    def command(self, command: str, arguments: Optional[Dict] = None,
                timeout: float = 5.0) -> Dict:
        """One control-channel command; the decoded answer (a dict, or the first of a list)."""
        msg = {"command": command}
        if arguments is not None:
            msg["arguments"] = arguments
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(self.control_socket))
            s.sendall(json.dumps(msg).encode())
            buf = b""
            while True:
                try:
                    data = s.recv(65536)
                except socket.timeout:
                    raise HarnessError(f"no answer to {command} within {timeout}s") from None
                if not data:
                    break
                buf += data
                try:
                    json.loads(buf)
                    break
                except ValueError:
                    continue
        answer = json.loads(buf)
        return answer[0] if isinstance(answer, list) else answer

    def statistic(self, name: str) -> int:
        """The latest value of one statistic (e.g. "pkt6-reply-sent")."""
        a = self.command("statistic-get", {"name": name})
        values = a.get("arguments", {}).get(name) or [[0]]
        return int(values[0][0])


def start_kea(pm: ProcessManager, ns: Namespace, workdir: Path, config: Dict, *,
              name: Optional[str] = None, timeout: float = 15.0) -> Kea:
    """Write `config` (from config6 / config4) to workdir, check it with `-t` inside ns,
    start the daemon there and wait for DHCP6_STARTED / DHCP4_STARTED."""
    family = 6 if "Dhcp6" in config else 4
    binary = KEA_DHCP6 if family == 6 else KEA_DHCP4
    if not Path(binary).is_file():
        raise HarnessError(f"{binary} missing: run sudo scripts/e2e-deps.sh")
    name = name or f"kea-dhcp{family}"
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / f"{name}.json"
    conf.write_text(json.dumps(config, indent=2))
    env = kea_env(workdir)
    pm.run(ns, f"{name}-check", [binary, "-t", str(conf)], timeout=timeout, env=env)
    p = pm.start(ns, name, [binary, "-c", str(conf)], env=env)
    p.wait_output(f"DHCP{family}_STARTED", timeout=timeout)
    inner = config[f"Dhcp{family}"]
    db = inner["lease-database"]
    return Kea(p, family, conf, Path(db["name"]) if db["type"] == "memfile" else None,
               Path(inner["control-socket"]["socket-name"]))
