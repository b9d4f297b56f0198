"""ISC Kea 2.2 `kea-dhcp6` as a reference DHCPv6 server: its config, memfile (CSV lease file),
pid/lock files and control socket all in the test's directory; logs to stdout.

The v6 tests run against it and against `lessor serve`, so a scenario is known to work with a
correct server before it judges ours."""
from __future__ import annotations

import csv
import json
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from . import addressing
from .netns import Namespace
from .procs import Proc, ProcessManager
from .util import HarnessError

KEA_DHCP6 = "/usr/sbin/kea-dhcp6"
# A fixed server DUID (DUID-EN, enterprise 2495 = ISC): a RENEW after a restart names the same
# server, as it would with a DUID Kea persisted.
KEA_ENTERPRISE = 2495
KEA_IDENTIFIER = "0102030405"
# lease_type in Kea's memfile
KEA_LEASE_TYPE = {"0": "ia-na", "1": "ia-ta", "2": "ia-pd"}


@dataclass
class Kea6:
    pm: ProcessManager
    ns: Namespace
    config: Path
    leasefile: Path
    workdir: Path
    name: str = "kea-dhcp6"
    proc: Optional[Proc] = None
    exit_codes: List[Optional[int]] = field(default_factory=list)

    def _env(self) -> dict:
        # pid and logger lock files go to the test dir, not /run/kea
        return dict(os.environ, KEA_PIDFILE_DIR=str(self.workdir), KEA_LOCKFILE_DIR=str(self.workdir))

    def check(self) -> None:
        self.pm.run(self.ns, f"{self.name}-check", [KEA_DHCP6, "-t", str(self.config)], env=self._env())

    def start(self, timeout: float = 10.0) -> Proc:
        if self.proc is not None and self.proc.alive():
            raise HarnessError("kea-dhcp6 already running")
        self.proc = self.pm.start(self.ns, self.name, [KEA_DHCP6, "-c", str(self.config)], env=self._env())
        self.proc.wait_output("DHCP6_STARTED", timeout=timeout)
        return self.proc

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 5.0) -> Optional[int]:
        if self.proc is None:
            return None
        rc = self.proc.stop(sig, timeout=timeout)
        self.exit_codes.append(rc)
        return rc

    def kill(self) -> Optional[int]:
        return self.stop(signal.SIGKILL)

    def output(self) -> str:
        return self.proc.output() if self.proc else ""

    def rows(self) -> List[Dict[str, str]]:
        """Every row of the memfile, in file order (Kea appends one per change; a valid lifetime
        of 0 marks a deleted lease, e.g. a released one)."""
        try:
            with open(self.leasefile, newline="") as f:
                return list(csv.DictReader(f))
        except FileNotFoundError:
            return []


@dataclass
class KeaLink:
    """A subnet6: `prefix` (selected by the relay's link-address in it), an address pool, a
    prefix pool, and optionally the interface-id (text) a relay must send for it."""
    prefix: str
    pool: Sequence[str]
    pd_pool: Optional[str] = None
    pd_len: int = 56
    interface_id: Optional[str] = None
    interface: Optional[str] = None      # direct clients arrive on this interface
    reservations: Sequence[tuple] = ()   # (duid bytes, [addresses], [prefixes])

    def subnet(self, sid: int, rapid_commit: bool) -> Dict[str, object]:
        for a in (self.prefix, *self.pool) + ((self.pd_pool,) if self.pd_pool else ()):
            addressing.check_allowed(a)
        s: Dict[str, object] = {"id": sid, "subnet": self.prefix,
                                "pools": [{"pool": f"{self.pool[0]}-{self.pool[1]}"}],
                                "rapid-commit": rapid_commit}
        if self.pd_pool:
            net, plen = self.pd_pool.split("/")
            s["pd-pools"] = [{"prefix": net, "prefix-len": int(plen), "delegated-len": self.pd_len}]
        if self.interface_id is not None:
            s["interface-id"] = self.interface_id
        if self.interface is not None:
            s["interface"] = self.interface
        if self.reservations:
            s["reservations"] = [{"duid": ":".join(f"{b:02x}" for b in duid), "ip-addresses": list(addrs),
                                  "prefixes": list(pfxs)} for duid, addrs, pfxs in self.reservations]
        return s


def write_kea6_config(path: Path, *, leasefile: Path, socket: Path, interface: str,
                      listen: Optional[str], links: Sequence[KeaLink], preferred: int = 3000, valid: int = 4000,
                      renew: int = 1000, rebind: int = 2000, rapid_commit: bool = False,
                      dns_servers: Sequence[str] = ()) -> Path:
    """kea-dhcp6 on `interface` (and its unicast address `listen`, for relays), one subnet6 per
    link."""
    if listen is not None:
        addressing.check_allowed(listen)
    if len(str(socket)) > 100:
        raise HarnessError(f"control socket path too long for a unix socket: {socket}")
    conf = {"Dhcp6": {
        "interfaces-config": {"interfaces": [f"{interface}/{listen}" if listen else interface]},
        "lease-database": {"type": "memfile", "name": str(leasefile), "lfc-interval": 0},
        "control-socket": {"socket-type": "unix", "socket-name": str(socket)},
        # persist false: nothing written to /var/lib/kea
        "server-id": {"type": "EN", "enterprise-id": KEA_ENTERPRISE, "identifier": KEA_IDENTIFIER,
                      "persist": False},
        "preferred-lifetime": preferred, "valid-lifetime": valid,
        "renew-timer": renew, "rebind-timer": rebind,
        "subnet6": [link.subnet(i + 1, rapid_commit) for i, link in enumerate(links)],
        "option-data": ([{"name": "dns-servers", "data": ", ".join(addressing.check_allowed(a) for a in dns_servers)}]
                        if dns_servers else []),
        "loggers": [{"name": "kea-dhcp6", "output_options": [{"output": "stdout"}],
                     "severity": "INFO"}],
    }}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(conf, indent=1))
    return path


def start_kea6(pm: ProcessManager, ns: Namespace, workdir: Path, *, name: str = "kea-dhcp6",
               timeout: float = 10.0, **conf) -> Kea6:
    """kea-dhcp6 in ns with write_kea6_config(**conf); `kea-dhcp6 -t` first."""
    workdir.mkdir(parents=True, exist_ok=True)
    leasefile = workdir / f"{name}-leases6.csv"
    config = write_kea6_config(workdir / f"{name}.json", leasefile=leasefile,
                               socket=workdir / f"{name}.sock", **conf)
    k = Kea6(pm, ns, config, leasefile, workdir, name=name)
    k.check()
    k.start(timeout=timeout)
    return k
