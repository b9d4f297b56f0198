"""Run the Scapy helper (scapy_dhcp.py) inside a namespace."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

from .netns import Namespace
from .util import HarnessError, run

SCRIPT = Path(__file__).with_name("scapy_dhcp.py")


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
    cp = run(argv, timeout=timeout + 30, check=False)
    if log is not None:
        with open(log, "a") as f:
            f.write(f"$ {' '.join(argv)}\n{cp.stdout}{cp.stderr}\n")
    if cp.returncode != 0:
        raise HarnessError(f"scapy leasequery failed ({cp.returncode}): {cp.stderr[-3000:]}")
    return json.loads(cp.stdout.strip().splitlines()[-1])


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
    cp = run(argv, timeout=2 * timeout + 30, check=False)
    if log is not None:
        with open(log, "a") as f:
            f.write(f"$ {' '.join(argv)}\n{cp.stdout}{cp.stderr}\n")
    if cp.returncode != 0:
        raise HarnessError(f"scapy dora failed ({cp.returncode}): {cp.stderr[-3000:]}")
    return json.loads(cp.stdout.strip().splitlines()[-1])
