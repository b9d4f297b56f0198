"""Run the Scapy helper (scapy_dhcp.py) inside a namespace."""
from __future__ import annotations

import json
import tempfile
import sys
from pathlib import Path
from typing import Dict, List, Optional

from .netns import Namespace
from .util import HarnessError, run

SCRIPT = Path(__file__).with_name("scapy_dhcp.py")


def _run_logged(argv: list, timeout: float, log: Optional[Path], what: str, note: str = ""):
    """Runs argv, appends the command (and note) with its output to log, and returns the JSON
    of its last output line; a non-zero exit is a HarnessError."""
    cp = run(argv, timeout=timeout, check=False)
    if log is not None:
        with open(log, "a") as f:
            f.write(f"$ {' '.join(argv)}\n{note}{cp.stdout}{cp.stderr}\n")
    if cp.returncode != 0:
        raise HarnessError(f"scapy {what} failed ({cp.returncode}): {cp.stderr[-3000:]}")
    return json.loads(cp.stdout.strip().splitlines()[-1])


def scapy_leasequery(ns: Namespace, iface: str, server: str, giaddr: str, *,
                     ciaddr: Optional[str] = None, chaddr: Optional[str] = None,
                     client_id: Optional[str] = None, timeout: float = 5.0,
                     log: Optional[Path] = None) -> dict:
    """Send one RFC 4388 DHCPLEASEQUERY from ns and return the decoded reply
    ({"reply": "DHCPLEASEACTIVE" | ... | None, "options": {...}, ...})."""
    argv = ns.exec_prefix + [sys.executable, str(SCRIPT), "leasequery", "--iface", iface,
                             "--server", server, "--giaddr", giaddr, "--timeout", str(timeout)]
    for flag, v in (("--ciaddr", ciaddr), ("--chaddr", chaddr), ("--client-id", client_id)):
        if v:
            argv += [flag, v]
    return _run_logged(argv, timeout + 30, log, "leasequery")


def scapy_dora(ns: Namespace, iface: str, *, chaddr: Optional[str] = None, broadcast: bool = True,
               timeout: float = 5.0, log: Optional[Path] = None) -> dict:
    """A client on ns/iface without an address: broadcast DISCOVER, then REQUEST
    the offer. Returns {"offer": {...} | None, "ack": {...} | None} with each
    reply's eth_dst, ip_dst, yiaddr, flags and options."""
    argv = ns.exec_prefix + [sys.executable, str(SCRIPT), "dora", "--iface", iface,
                             "--timeout", str(timeout)]
    if chaddr:
        argv += ["--chaddr", chaddr]
    if broadcast:
        argv.append("--broadcast")
    return _run_logged(argv, 2 * timeout + 30, log, "dora")


def scapy_flood(ns: Namespace, iface: str, chaddr: str, *, count: int = 2000, linger: float = 1.0,
                log: Optional[Path] = None) -> dict:
    """count broadcast DHCPDISCOVERs from one hardware address, as fast as Scapy sends them.
    Returns {"sent", "seconds" (sending took), "offers" (DHCPOFFERs seen for chaddr), "replies"}."""
    argv = ns.exec_prefix + [sys.executable, str(SCRIPT), "flood", "--iface", iface, "--chaddr", chaddr,
                             "--count", str(count), "--linger", str(linger)]
    return _run_logged(argv, 120 + linger, log, "flood")


def _run_json(ns: Namespace, args: list, payload, timeout: float, log: Optional[Path], what: str,
              script: Path = SCRIPT):
    """Runs `script args --file F` in ns with payload as JSON in F; returns the JSON of its
    last output line."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(payload, f)
        path = f.name
    argv = ns.exec_prefix + [sys.executable, str(script)] + args + ["--file", path]
    try:
        return _run_logged(argv, timeout, log, what, note=f"# {json.dumps(payload)}\n")
    finally:
        Path(path).unlink(missing_ok=True)


def scapy_leasequery_batch(ns: Namespace, iface: str, queries: List[dict], *,
                           log: Optional[Path] = None) -> Dict[str, dict]:
    """Several DHCPLEASEQUERYs from one Scapy process, in order. Each query is a
    dict: name, server, giaddr, and optionally src (default giaddr), sport
    (default 67), ciaddr, chaddr, client_id (hex), agent (raw option 82 value,
    hex), prl (Parameter Request List), timeout (s to wait for a reply, default 3).
    Returns name -> result (reply type or None, ciaddr, chaddr, ip_dst, udp_dport,
    bootp_hex = the reply's raw BOOTP bytes, options)."""
    budget = 30 + sum(float(q.get("timeout", 3.0)) + 4 for q in queries)
    res = _run_json(ns, ["lq-batch", "--iface", iface], queries, budget, log, "leasequery batch")
    return {r["name"]: r for r in res}


def scapy_relay_dora(ns: Namespace, iface: str, server: str, src: str, giaddr: str,
                     clients: List[dict], *, timeout: float = 5.0,
                     log: Optional[Path] = None) -> List[dict]:
    """Act as a relay agent in ns: relayed DISCOVER/REQUEST (giaddr, option 82 =
    client["agent"] hex, optional client_id) for each client {chaddr, agent, client_id?}.
    Returns [{chaddr, offer, ack}] with each reply's type, ip_dst, yiaddr, options."""
    budget = 30 + len(clients) * (2 * timeout + 8)
    return _run_json(ns, ["relay-dora", "--iface", iface, "--server", server, "--src", src,
                          "--giaddr", giaddr, "--timeout", str(timeout)], clients, budget, log, "relay dora")


def scapy_bulk(ns: Namespace, server: str, sessions: List[dict], *, port: int = 67,
               timeout: float = 5.0, log: Optional[Path] = None) -> Dict[str, dict]:
    """Bulk leasequery over TCP from ns (scapy_bulk.py): each session is one
    connection {name, dialect: "rfc6926" | "draft", queries: [...]}, its queries
    sent at once. Returns session name -> {replies (Scapy-decoded, in arrival
    order), pending (xids without a terminal message), closed, xids (query name -> xid)}."""
    payload = {"server": server, "port": port, "timeout": timeout, "sessions": sessions}
    return _run_json(ns, [], payload, 30 + len(sessions) * (timeout + 5), log, "bulk",
                     script=SCRIPT.with_name("scapy_bulk.py"))
