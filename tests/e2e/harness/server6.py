"""The DHCPv6 server under test, one face for two servers: `lessor serve` and ISC Kea 2.2's
kea-dhcp6 (the reference, so every v6 scenario is known to pass with a correct server).

`start_server6(kind, ...)` configures either from one description of the links (prefix,
address pool, prefix pool, the interface-id dhcrelay sends) and lifetimes; `Server6.bindings()`
reads its store into one shape:

    {"key": "2001:db8:1::1000" or "2001:db8:100::/56", "address", "prefix_len", "ia_type"
     ("ia-na"/"ia-pd"), "iaid", "duid" (hex), "state" ("active", "released", ...),
     "end" (valid lifetime's end, seconds since the epoch), "relay_peer", "interface_id" (hex),
     "relay_chain" (hex)}

Kea's memfile keeps no relay data (those three are None) and deletes a released lease (a row
with valid lifetime 0), shown here as state "released"."""
from __future__ import annotations

import ipaddress
import json
import os
import signal
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

from . import kea6
from .lessor import LessorServer, Link6, lessor_bin, write_config6
from .netns import Namespace
from .procs import ProcessManager
from .util import HarnessError, run, wait_for

KINDS = ("kea", "lessor")


def servers_under_test() -> List[str]:
    """LESSOR_E2E_V6_SERVERS (comma-separated, default both) picks which servers run."""
    kinds = [k.strip() for k in os.environ.get("LESSOR_E2E_V6_SERVERS", ",".join(KINDS)).split(",") if k.strip()]
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise HarnessError(f"LESSOR_E2E_V6_SERVERS: unknown server(s) {bad}, known: {KINDS}")
    return kinds


@dataclass
class LinkSpec:
    """What both servers are told about one link."""
    prefix: str
    pool: Sequence[str]                      # (first, last)
    pd_pool: Optional[str] = None
    pd_len: int = 56
    interface_id: Optional[bytes] = None     # what the relay sends in option 18
    interface: Optional[str] = None          # direct clients on this server interface
    reservations: Sequence[tuple] = ()       # (duid bytes, [addresses], [prefixes])


def _hex(v) -> Optional[str]:
    if v is None:
        return None
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).hex()
    return str(v).replace(":", "").lower()


def _addr(v) -> Optional[str]:
    if v is None:
        return None
    if isinstance(v, (bytes, bytearray, memoryview)):
        return str(ipaddress.IPv6Address(bytes(v)))
    if isinstance(v, int):
        return str(ipaddress.IPv6Address(v))
    return str(ipaddress.IPv6Address(str(v)))


def binding_key(address: str, prefix_len: int) -> str:
    return address if prefix_len == 128 else f"{address}/{prefix_len}"


class Server6:
    kind: str

    def start(self, timeout: float = 10.0): raise NotImplementedError
    def stop(self, sig: int = signal.SIGTERM, timeout: float = 5.0) -> Optional[int]: raise NotImplementedError
    def kill(self) -> Optional[int]: return self.stop(signal.SIGKILL)
    def output(self) -> str: raise NotImplementedError
    def bindings(self) -> List[dict]: raise NotImplementedError

    def by_key(self) -> Dict[str, dict]:
        return {b["key"]: b for b in self.bindings()}

    def binding(self, key: str) -> Optional[dict]:
        return self.by_key().get(key)

    def wait_binding(self, key: str, pred: Callable[[dict], bool] = lambda b: True,
                     timeout: float = 10.0, what: str = "binding") -> dict:
        def get():
            b = self.binding(key)
            return b if b is not None and pred(b) else None
        return wait_for(get, timeout=timeout, what=f"{what} for {key} in {self.kind}'s store")

    def wait_state(self, key: str, state: str, timeout: float = 10.0) -> dict:
        return self.wait_binding(key, lambda b: b["state"] == state, timeout=timeout, what=f"state {state}")


class KeaServer6(Server6):
    kind = "kea"
    STATES = {"0": "active", "1": "declined", "2": "expired"}

    def __init__(self, k: kea6.Kea6) -> None:
        self.k = k

    def start(self, timeout: float = 10.0):
        return self.k.start(timeout=timeout)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 5.0) -> Optional[int]:
        return self.k.stop(sig, timeout=timeout)

    def output(self) -> str:
        return self.k.output()

    def bindings(self) -> List[dict]:
        last: Dict[tuple, dict] = {}
        for r in self.k.rows():
            plen = int(r["prefix_len"])
            key = binding_key(str(ipaddress.IPv6Address(r["address"])), plen)
            last[(key, r["lease_type"])] = {
                "key": key, "address": str(ipaddress.IPv6Address(r["address"])), "prefix_len": plen,
                "ia_type": kea6.KEA_LEASE_TYPE.get(r["lease_type"], r["lease_type"]),
                "iaid": int(r["iaid"]), "duid": _hex(r["duid"]),
                "state": "released" if r["valid_lifetime"] == "0" else self.STATES.get(r["state"], r["state"]),
                "valid_lifetime": int(r["valid_lifetime"]), "end": int(r["expire"]),
                "relay_peer": None, "interface_id": None, "relay_chain": None,
            }
        return list(last.values())


class LessorServer6(Server6):
    """`lessor serve` with a [dhcp6] config. The store is read with `lessor leases list --json`
    when that lists v6 bindings, else straight from the SQLite `lease6` table (read-only)."""
    kind = "lessor"

    def __init__(self, srv: LessorServer) -> None:
        self.srv = srv

    def start(self, timeout: float = 10.0):
        return self.srv.start(timeout=timeout)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 5.0) -> Optional[int]:
        return self.srv.stop(sig, timeout=timeout)

    def output(self) -> str:
        return self.srv.output()

    def stats(self, name: str) -> Dict[str, int]:
        """The last `stats NAME: key=value ...` line of the log (every service logs one at stop)
        as a dict."""
        lines = [l for l in self.output().splitlines() if f"stats {name}: " in l]
        if not lines:
            raise HarnessError(f"no 'stats {name}:' line in lessor's output")
        body = lines[-1].split(f"stats {name}: ", 1)[1]
        return {k: int(v) for k, v in (kv.split("=", 1) for kv in body.split() if "=" in kv) if v.isdigit()}

    def bindings(self) -> List[dict]:
        cli = self._from_cli()
        return cli if cli is not None else self._from_sqlite()

    def _from_cli(self) -> Optional[List[dict]]:
        cp = run([str(lessor_bin()), "leases", "list", "--family", "6", "--store", str(self.srv.store),
                  "--json"], check=False)
        if cp.returncode != 0:
            return None
        out = []
        for line in cp.stdout.splitlines():
            if not line.strip():
                continue
            j = json.loads(line)
            addr = j.get("address") or j.get("prefix")
            if addr is None or ":" not in str(addr):
                continue
            if "ia_type" not in j or "duid" not in j:
                return None     # not the v6 shape this reader knows: read the table instead
            a, _, plen = str(addr).partition("/")
            plen = int(j.get("prefix_len", plen or 128))
            out.append(self._norm(j, _addr(a), plen))
        return out

    def _from_sqlite(self) -> List[dict]:
        if not self.srv.store.exists():
            return []
        conn = sqlite3.connect(f"file:{self.srv.store}?mode=ro", uri=True, timeout=5)
        try:
            conn.row_factory = sqlite3.Row
            try:
                rows = conn.execute("SELECT * FROM lease6").fetchall()
            except sqlite3.OperationalError as e:
                if "no such table" in str(e):
                    return []
                raise
        finally:
            conn.close()
        out = []
        for r in rows:
            d = dict(r)
            plen = int(d.get("prefix_len", 128))
            out.append(self._norm(d, _addr(d["address"]), plen))
        return out

    @staticmethod
    def _norm(d: dict, address: str, plen: int) -> dict:
        return {
            "key": binding_key(address, plen), "address": address, "prefix_len": plen,
            "ia_type": d.get("ia_type"), "iaid": d.get("iaid"), "duid": _hex(d.get("duid")),
            "state": d.get("state"), "relay_peer": _addr(d.get("relay_peer")),
            "interface_id": _hex(d.get("interface_id")), "relay_chain": _hex(d.get("relay_chain")),
            "cltt": d.get("cltt"), "end": d.get("valid_end"), "raw": d,
        }


def start_server6(kind: str, pm: ProcessManager, ns: Namespace, ifname: str, listen: Optional[str],
                  workdir: Path, links: Sequence[LinkSpec], *, preferred: int = 3000,
                  valid: int = 4000, renew: int = 1000, rebind: int = 2000,
                  rapid_commit: bool = False, dns_servers: Sequence[str] = (),
                  timeout: float = 10.0) -> Server6:
    """The server `kind` in ns, on ifname's unicast address `listen` (relays; None: only direct
    clients, on the links' `interface`), serving `links`; lifetimes in seconds. Lessor gets no
    server-duid: it makes one and keeps it in the store."""
    workdir.mkdir(parents=True, exist_ok=True)
    if kind == "kea":
        k = kea6.start_kea6(pm, ns, workdir, interface=ifname, listen=listen,
                            links=[kea6.KeaLink(l.prefix, l.pool, l.pd_pool, l.pd_len, interface=l.interface,
                                                 reservations=l.reservations) for l in links],
                            preferred=preferred, valid=valid, renew=renew, rebind=rebind,
                            rapid_commit=rapid_commit, dns_servers=dns_servers, timeout=timeout)
        return KeaServer6(k)
    if kind == "lessor":
        store = workdir / "lessor.db"
        conf = write_config6(
            workdir / "lessor.toml", store=store, listen=[listen] if listen else [],
            interfaces=sorted({l.interface for l in links if l.interface}), rapid_commit=rapid_commit,
            preferred_lifetime=f"{preferred}s", valid_lifetime=f"{valid}s",
            renew_time=f"{renew}s", rebind_time=f"{rebind}s",
            options={"dns-servers": list(dns_servers)} if dns_servers else None,
            links=[Link6(l.prefix, pools=[f"{l.pool[0]}-{l.pool[1]}"],
                         prefix_pools=[(l.pd_pool, l.pd_len)] if l.pd_pool else (),
                         interface_ids=[f"0x{l.interface_id.hex()}"] if l.interface_id else (),
                         interface=l.interface,
                         reservations=[{"duid": ":".join(f"{b:02x}" for b in duid), "addresses": list(addrs),
                                        "prefixes": list(pfxs)} for duid, addrs, pfxs in l.reservations])
                   for l in links])
        srv = LessorServer(pm, ns, conf, store, ready="dhcp6: listening on")
        srv.check()
        srv.start(timeout=timeout)
        return LessorServer6(srv)
    raise HarnessError(f"unknown DHCPv6 server kind {kind!r}")
