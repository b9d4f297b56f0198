"""The live-server campaign (issue 12, "Hardening"): mutated DHCP and leasequery datagrams at a
running `lessor serve` while a real client and a real requester use it, and an account of every
datagram.

    cd tests/e2e && sudo python3 -m harness.campaign --count 100000 [--rate 20000] [--seed 1]

Topology: `Topology4` (ISC dhclient in `cli` -> ISC dhcrelay -a in `rly` -> lessor in `srv`)
plus a flood namespace `fld` on its own link to the server (f0 203.0.113.2 and .3 | s1
203.0.113.1). The flood's sender (`flood4.py`) primes a few clients of its own, then sends
`--count` mutated datagrams (`mutate4.py`) to the server's listen address, the same socket the
client and the requester use, paced at `--rate` per second. Meanwhile dhclient (lease time 20 s,
so T1 = 10 s) renews through it, and `lessor query ip ADDR` from the relay namespace asks about
the client's address every second.

What is checked (`Result.checks`):
- the server is alive at the end, stops with exit 0 on SIGTERM;
- the flood was sent whole; dhclient renewed (DHCPACKed, same address) during the flood; every
  query of the requester got DHCPLEASEACTIVE for the client's address;
- every datagram is accounted for, from the senders to the server's counters:
  datagrams that reached the server's namespace (the flood's sent datagrams less what its own
  kernel dropped, + the valid datagrams a capture on the server's link saw) = what the server
  counted (`udp4` received + truncated + receive-errors) + what the kernel dropped in the
  server's namespace (Udp InErrors); and the server's socket layer agrees with the kernel's
  (Udp InDatagrams);
- the router routed each datagram once (`router4`), the leasequery responder and the DHCP engine
  each account for every datagram routed to them (`leasequery4`, `dhcp4`).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from . import addressing, capture
from .isc import make_dhclient, start_dhcrelay
from .lessor import LessorServer, lessor_bin
from .netns import Namespace, Topology4, veth, wait_link_up
from .procs import ProcessManager
from .util import HarnessError, run, wait_for

E2E_DIR = Path(__file__).resolve().parents[1]

SERVER = addressing.SERVER_V4
FLOOD_IF, SERVER_FLOOD_IF = "f0", "s1"
SERVER_FLOOD_SIDE = "203.0.113.1"
FLOOD_ADDR = "203.0.113.2"          # the flood's relay agent and RFC 4388 requester (giaddr)
LEGACY_ADDR = "203.0.113.3"         # the flood's draft-00 requester
FLOOD_NET = "203.0.113.0/24"
FLOOD_POOL = ("203.0.113.64", "203.0.113.127")
FLOOD_POOL_NET = "203.0.113.64/26"  # local in the flood namespace: replies to its clients land there
UNASSIGNED_IP = "203.0.113.120"
OUTSIDE_IP = "198.18.0.1"

# The account's equations, by name (`account`).
SENT = "flood sent = left its namespace"
REACHED = "reached the server = server counted + kernel dropped"
READ = "server read = kernel delivered"
ROUTED = "every datagram read was routed once"
TYPED = "every datagram read had a message type or was malformed"
LQ_ROUTED = "leasequery: routed = received by the responder"
LQ_OUT = "leasequery: received = answered + dropped"
DHCP_OUT = "dhcp: routed = replied + applied + dropped"
EQUATIONS = (SENT, REACHED, READ, ROUTED, TYPED, LQ_ROUTED, LQ_OUT, DHCP_OUT)

# The checks besides the account (`Result.checks`).
ALIVE = "server alive at the end"
STOPPED = "server stopped with exit 0"
WHOLE = "flood sent whole"
RENEWED = "renewals acked during the flood"
KEPT = "client never lost its lease"
ANSWERED = "every query answered active"
CAPTURED = "capture lost nothing"


# ------------------------------------------------------------------ topology

@dataclass
class CampaignTopology(Topology4):
    """Topology4 plus the flood namespace on its own link to the server."""
    flood: Optional[Namespace] = field(init=False, default=None)

    def __post_init__(self) -> None:
        super().__post_init__()
        try:
            self.flood = Namespace("fld")
            veth(self.flood, FLOOD_IF, self.server, SERVER_FLOOD_IF)
            self.flood.add_addr(FLOOD_IF, f"{FLOOD_ADDR}/24")
            self.flood.add_addr(FLOOD_IF, f"{LEGACY_ADDR}/24")
            self.server.add_addr(SERVER_FLOOD_IF, f"{SERVER_FLOOD_SIDE}/24")
            self.flood.add_route(f"{SERVER}/32", SERVER_FLOOD_SIDE)
            # the flood's clients' addresses are the flood namespace's own (a local route), so
            # that the server's replies to them are delivered rather than waiting for ARP
            addressing.check_allowed(FLOOD_POOL_NET)
            self.flood.ip("route", "add", "local", FLOOD_POOL_NET, "dev", "lo")
            for ns, ifn in ((self.flood, FLOOD_IF), (self.server, SERVER_FLOOD_IF)):
                wait_link_up(ns, ifn)
            # permanent neighbours: no datagram of the flood waits for (or is lost to) ARP
            self.flood.ip("neigh", "replace", SERVER_FLOOD_SIDE, "lladdr",
                          link_mac(self.server, SERVER_FLOOD_IF), "dev", FLOOD_IF, "nud", "permanent")
            self.server.ip("neigh", "replace", FLOOD_ADDR, "lladdr",
                           link_mac(self.flood, FLOOD_IF), "dev", SERVER_FLOOD_IF, "nud", "permanent")
        except BaseException:
            self.teardown()
            raise

    @property
    def namespaces(self) -> List[Namespace]:
        return super().namespaces + ([self.flood] if self.flood is not None else [])


def link_mac(ns: Namespace, ifname: str) -> str:
    return json.loads(ns.ip("-j", "link", "show", "dev", ifname).stdout)[0]["address"]


# ------------------------------------------------------------------ kernel counters

def snmp(ns: Namespace) -> Dict[str, Dict[str, int]]:
    """/proc/net/snmp of a namespace: {"Udp": {"InDatagrams": n, ...}, "Ip": {...}, ...}."""
    lines = ns.run("cat", "/proc/net/snmp").stdout.splitlines()
    out: Dict[str, Dict[str, int]] = {}
    for head, values in zip(lines[0::2], lines[1::2]):
        proto, names = head.split(":", 1)
        _, nums = values.split(":", 1)
        out[proto] = {k: int(v) for k, v in zip(names.split(), nums.split())}
    return out


def snmp_delta(before: Dict[str, Dict[str, int]], after: Dict[str, Dict[str, int]],
               proto: str) -> Dict[str, int]:
    return {k: after[proto][k] - before[proto].get(k, 0) for k in after[proto]}


def link_stats(ns: Namespace, ifname: str) -> Dict[str, Dict[str, int]]:
    info = json.loads(ns.ip("-s", "-j", "link", "show", "dev", ifname).stdout)[0]
    return info["stats64"]


def udp_sockets(ns: Namespace, port: int) -> List[Dict[str, int]]:
    """The namespace's UDP sockets on local `port`: rx_queue (octets queued) and drops."""
    out = []
    for line in ns.run("cat", "/proc/net/udp").stdout.splitlines()[1:]:
        f = line.split()
        if int(f[1].split(":")[1], 16) == port:
            out.append({"rx_queue": int(f[4].split(":")[1], 16), "drops": int(f[-1])})
    return out


# ------------------------------------------------------------------ the server

def write_config(path: Path, store: Path, *, lease_time: str, stats_interval: str) -> Path:
    """The campaign's `lessor serve` config: the client link's subnet (dhclient, through the
    relay), the flood's subnet (its primed clients), both relays, the leasequery requesters
    (the relay's address for `lessor query`, the flood's two), answered on their source port
    (`lessor query` runs on an ephemeral port next to dhcrelay's port 67), and the flood's
    legacy one."""
    for a in (SERVER, FLOOD_NET, str(addressing.CLIENT_NET), *FLOOD_POOL, *addressing.POOL_V4):
        addressing.check_allowed(a)
    text = f"""# generated by tests/e2e/harness/campaign.py
[server]
store = {json.dumps(str(store))}
stats-interval = "{stats_interval}"

[dhcp4]
server-identifier = "{SERVER}"
listen = ["{SERVER}"]
port = 67
relay-port = 67
relays = ["{addressing.CLIENT_NET}", "{FLOOD_NET}"]
lease-time = "{lease_time}"

[[dhcp4.subnet]]
prefix = "{addressing.CLIENT_NET}"
pools = ["{addressing.POOL_V4[0]}-{addressing.POOL_V4[1]}"]
options = {{ routers = ["{addressing.RELAY_DOWN_V4}"] }}

[[dhcp4.subnet]]
prefix = "{FLOOD_NET}"
pools = ["{FLOOD_POOL[0]}-{FLOOD_POOL[1]}"]

[leasequery4]
requesters = ["{addressing.RELAY_UP_V4}/32", "{FLOOD_ADDR}/32", "{LEGACY_ADDR}/32"]
legacy = [{{ requester = "{LEGACY_ADDR}", message-type = 10 }}]
reply-to-source-port = ["{addressing.RELAY_UP_V4}/32", "{FLOOD_ADDR}/32", "{LEGACY_ADDR}/32"]
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


STATS_LINE = re.compile(r"lessor: stats (\S+): (.*)$")


def stats_lines(log: str) -> List[Tuple[str, Dict[str, int]]]:
    """Every `stats NAME: k=v ...` line of the server's log, in order."""
    out = []
    for line in log.splitlines():
        m = STATS_LINE.search(line)
        if m:
            out.append((m.group(1), {k: int(v) for k, v in
                                     (kv.split("=", 1) for kv in m.group(2).split())}))
    return out


def final_stats(log: str) -> Dict[str, Dict[str, int]]:
    """The last line of each service (the server logs them all once more when it stops)."""
    out: Dict[str, Dict[str, int]] = {}
    for name, counters in stats_lines(log):
        out[name] = counters
    return out


# ------------------------------------------------------------------ the requester

class QueryLoop(threading.Thread):
    """`lessor query ip ADDR` from the relay namespace, once every `interval`, until stopped
    (at most `max_runs`)."""

    def __init__(self, ns: Namespace, address: str, *, interval: float = 1.0,
                 timeout: str = "12s", max_runs: int = 600) -> None:
        super().__init__(name="campaign-queries", daemon=True)
        self.ns, self.address, self.interval, self.timeout = ns, address, interval, timeout
        self.max_runs = max_runs
        self.stop_flag = threading.Event()
        self.results: List[dict] = []

    def run(self) -> None:
        argv = self.ns.exec_prefix + [str(lessor_bin()), "query", "ip", self.address,
                                      "--server", SERVER, "--json", "--timeout", self.timeout]
        while not self.stop_flag.is_set() and len(self.results) < self.max_runs:
            began = time.monotonic()
            try:
                cp = run(argv, timeout=30, check=False)
                answer = {}
                for line in cp.stdout.splitlines():
                    if line.strip():
                        answer = json.loads(line)
                self.results.append({"at": round(began, 3), "rc": cp.returncode,
                                     "state": answer.get("state"), "address": answer.get("address"),
                                     "seconds": round(time.monotonic() - began, 3),
                                     "stderr": cp.stderr.strip()[-300:]})
            except (HarnessError, ValueError) as e:
                self.results.append({"at": round(began, 3), "rc": None, "error": str(e)[-300:]})
            self.stop_flag.wait(self.interval)

    def stop(self, timeout: float = 40.0) -> None:
        self.stop_flag.set()
        self.join(timeout)


# ------------------------------------------------------------------ the account

@dataclass
class Equation:
    """lhs = rhs, each a sum of named terms."""
    name: str
    lhs: Dict[str, int]
    rhs: Dict[str, int]

    @property
    def ok(self) -> bool:
        return sum(self.lhs.values()) == sum(self.rhs.values())

    def terms(self) -> str:
        def side(terms: Dict[str, int]) -> str:
            return " + ".join(f"{k} {v}" for k, v in terms.items()) + f" = {sum(terms.values())}"
        verdict = "ok" if self.ok else f"MISMATCH by {sum(self.lhs.values()) - sum(self.rhs.values())}"
        return f"{side(self.lhs)}  vs  {side(self.rhs)}  [{verdict}]"

    def __str__(self) -> str:
        return f"{self.name}: {self.terms()}"


def account(flood: dict, valid_in: int, stats: Dict[str, Dict[str, int]],
            server_udp: Dict[str, int], server_ip: Dict[str, int], flood_udp: Dict[str, int],
            flood_tx_dropped: int) -> List[Equation]:
    """Every datagram, from the senders to the counters (see the module doc)."""
    udp4 = stats.get("udp4", {})
    router = stats.get("router4", {})
    lq = stats.get("leasequery4", {})
    dhcp = stats.get("dhcp4", {})
    g = lambda d, k: d.get(k, 0)  # noqa: E731 - counters left out of a line are 0
    server_counted = {"udp4 received": g(udp4, "received"), "udp4 truncated": g(udp4, "truncated"),
                      "udp4 receive-errors": g(udp4, "receive-errors")}
    eqs = [
        Equation(SENT,
                 {"flood sendto ok": flood["total_sent"]},
                 {"flood-ns Udp OutDatagrams": flood_udp["OutDatagrams"],
                  "flood-ns Udp SndbufErrors": flood_udp["SndbufErrors"]}),
        Equation(REACHED,
                 {"flood sent": flood["total_sent"],
                  "flood-ns SndbufErrors": -flood_udp["SndbufErrors"],
                  "f0 tx dropped": -flood_tx_dropped,
                  "valid datagrams captured on s0": valid_in},
                 {**server_counted,
                  "srv-ns Udp InErrors": server_udp["InErrors"],
                  "srv-ns Ip ReasmFails": server_ip.get("ReasmFails", 0)}),
        Equation(READ,
                 server_counted, {"srv-ns Udp InDatagrams": server_udp["InDatagrams"]}),
    ]
    by_type = [v for k, v in router.items() if k.startswith("received-")]
    eqs.append(Equation(ROUTED,
                        {"udp4 received": g(udp4, "received")},
                        {k: g(router, k) for k in ("routed-dhcp", "routed-leasequery",
                                                   "discarded-malformed", "discarded-bootreply",
                                                   "discarded-unexpected-type")}))
    eqs.append(Equation(TYPED,
                        {"udp4 received": g(udp4, "received")},
                        {f"router4 received-* ({len(by_type)} message types)": sum(by_type),
                         "discarded-malformed": g(router, "discarded-malformed")}))
    eqs.append(Equation(LQ_ROUTED,
                        {"router4 routed-leasequery": g(router, "routed-leasequery")},
                        {"leasequery4 received": g(lq, "received")}))
    lq_out = {k: g(lq, k) for k in ("active", "unassigned", "unknown", "legacy-ack", "legacy-nak")}
    lq_out.update({k: v for k, v in lq.items() if k.startswith("dropped-")})
    eqs.append(Equation(LQ_OUT,
                        {"leasequery4 received": g(lq, "received")}, lq_out))
    dhcp_out = {k: g(dhcp, k) for k in ("offers", "acks", "naks", "commit-failed",
                                        "commit-taken", "released", "declined")}
    dhcp_out.update({k: v for k, v in dhcp.items() if k.startswith("dropped-")})
    eqs.append(Equation(DHCP_OUT,
                        {"router4 routed-dhcp": g(router, "routed-dhcp")}, dhcp_out))
    return eqs


# ------------------------------------------------------------------ the scenario

@dataclass
class Result:
    artifacts: Path
    count: int
    rate: float
    seed: int
    lease_seconds: int
    client_address: str = ""
    flood: dict = field(default_factory=dict)
    queries: List[dict] = field(default_factory=list)
    events: List[dict] = field(default_factory=list)
    renewals: List[dict] = field(default_factory=list)
    flood_window: Tuple[float, float] = (0.0, 0.0)
    alive_at_end: bool = False
    exit_code: Optional[int] = None
    server_log: str = ""
    stats: Dict[str, Dict[str, int]] = field(default_factory=dict)
    series: List[Tuple[str, Dict[str, int]]] = field(default_factory=list)
    valid_in: int = 0
    valid_by_source: Dict[str, int] = field(default_factory=dict)
    capture_dropped: Optional[int] = None
    server_udp: Dict[str, int] = field(default_factory=dict)
    server_ip: Dict[str, int] = field(default_factory=dict)
    flood_udp: Dict[str, int] = field(default_factory=dict)
    flood_tx_dropped: int = 0
    server_rx_dropped: int = 0
    socket_drops: int = 0
    equations: List[Equation] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def renewals_due(self) -> int:
        """Renewals the client must have had during the flood: one per T1 (half the lease) of
        the flood's duration, less one for the phase (0 for a flood shorter than 2 T1)."""
        t1 = self.lease_seconds / 2
        return max(0, int((self.flood_window[1] - self.flood_window[0]) // t1) - 1)

    def checks(self) -> Dict[str, Tuple[bool, str]]:
        """name -> (passed, what was seen)."""
        answered = [q for q in self.queries if q.get("rc") == 0 and q.get("state") == "active"
                    and q.get("address") == self.client_address]
        out = {
            ALIVE: (self.alive_at_end, f"alive={self.alive_at_end}"),
            STOPPED: (self.exit_code == 0 and "stopped" in self.server_log,
                      f"exit={self.exit_code}"),
            WHOLE: (bool(self.flood.get("complete")) and self.flood.get("attempted") == self.count,
                    f"attempted={self.flood.get('attempted')} of {self.count}"),
            RENEWED: (
                len(self.renewals) >= self.renewals_due
                and all(e.get("new_ip_address") == self.client_address for e in self.renewals),
                f"{len(self.renewals)} RENEW(s), {self.renewals_due} due: "
                + ", ".join(e.get("new_ip_address", "?") for e in self.renewals)),
            KEPT: (
                not [e for e in self.events if e.get("reason") in ("EXPIRE", "FAIL", "STOP")],
                ", ".join(e.get("reason", "?") for e in self.events)),
            ANSWERED: (
                len(self.queries) >= 3 and len(answered) == len(self.queries),
                f"{len(answered)} of {len(self.queries)} answered DHCPLEASEACTIVE"),
            CAPTURED: (self.capture_dropped == 0, f"dropped={self.capture_dropped}"),
        }
        for e in self.equations:
            out[e.name] = (e.ok, e.terms())
        return out

    def summary(self) -> str:
        f = self.flood
        lines = [f"campaign: {self.count} mutated datagrams, seed {self.seed}, asked rate "
                 f"{self.rate:.0f}/s, reached {f.get('rate')}/s in {f.get('elapsed')} s "
                 f"(+{f.get('primed_sent')} priming); whole run {self.seconds:.1f} s",
                 f"flood by channel: {f.get('sent_by_channel')}, send errors {f.get('send_errors')}",
                 f"replies to the flood: {f.get('replies_total')} {f.get('replies')}",
                 f"valid datagrams to the server: {self.valid_in} {self.valid_by_source}",
                 f"kernel, server namespace: Udp {self.server_udp}",
                 f"server socket drops (/proc/net/udp): {self.socket_drops}; f0 tx dropped "
                 f"{self.flood_tx_dropped}, s1 rx dropped {self.server_rx_dropped}"]
        for name in ("udp4", "router4", "dhcp4", "leasequery4"):
            counters = dict(self.stats.get(name, {}))
            # message types without a name: one sum
            other = [k for k in counters if k.startswith("received-type-")]
            if other:
                counters["received-type-other"] = sum(counters.pop(k) for k in other)
            line = " ".join(f"{k}={v}" for k, v in counters.items())
            lines.append(f"stats {name}: {line}")
        for name, (ok, seen) in self.checks().items():
            lines.append(f"[{'ok' if ok else 'FAIL'}] {name}: {seen}")
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {"count": self.count, "rate": self.rate, "seed": self.seed,
                "client_address": self.client_address, "flood": self.flood,
                "queries": self.queries, "renewals": self.renewals, "events": self.events,
                "alive_at_end": self.alive_at_end, "exit_code": self.exit_code,
                "stats": self.stats, "series": self.series, "valid_in": self.valid_in,
                "valid_by_source": self.valid_by_source, "capture_dropped": self.capture_dropped,
                "server_udp": self.server_udp, "server_ip": self.server_ip,
                "flood_udp": self.flood_udp, "flood_tx_dropped": self.flood_tx_dropped,
                "server_rx_dropped": self.server_rx_dropped, "socket_drops": self.socket_drops,
                "equations": [str(e) for e in self.equations],
                "checks": {k: {"ok": ok, "seen": s} for k, (ok, s) in self.checks().items()},
                "seconds": self.seconds}


CAPTURE_DROPPED = re.compile(r"(\d+) packets? dropped")


def run_campaign(artifacts: Path, *, count: int, rate: float = 20_000.0, seed: int = 1,
                 lease_seconds: int = 20, stats_interval: str = "2s",
                 query_interval: float = 1.0) -> Result:
    """Builds the topology, runs the campaign, tears everything down; returns what it saw."""
    began = time.monotonic()
    artifacts.mkdir(parents=True, exist_ok=True)
    result = Result(artifacts, count, rate, seed, lease_seconds)
    pm = ProcessManager(artifacts / "logs")
    topo: Optional[CampaignTopology] = None
    queries: Optional[QueryLoop] = None
    try:
        topo = CampaignTopology()
        # the account covers the server's whole life: kernel counters from before it starts,
        # the capture of the valid traffic from before anything is sent
        srv_before, flood_before = snmp(topo.server), snmp(topo.flood)
        f0_before = link_stats(topo.flood, FLOOD_IF)
        s1_before = link_stats(topo.server, SERVER_FLOOD_IF)
        cap = capture.start_capture(pm, topo.server, topo.server_if, artifacts / "server-link.pcap",
                                    capture_filter="udp port 67 or udp port 68",
                                    name="tshark-server-link")
        store = artifacts / "lessor" / "lessor.db"
        conf = write_config(artifacts / "lessor" / "lessor.toml", store,
                            lease_time=f"{lease_seconds}s", stats_interval=stats_interval)
        srv = LessorServer(pm, topo.server, conf, store)
        srv.check()
        srv.start()
        start_dhcrelay(pm, topo.relay, [topo.relay_down_if], [topo.relay_up_if], [SERVER],
                       artifacts / "dhcrelay")
        client = make_dhclient(topo.client, topo.client_if, artifacts / "dhclient")
        bound = client.acquire(pm)
        result.client_address = addr = bound["new_ip_address"]
        client_mac = link_mac(topo.client, topo.client_if)
        events_before = len(client.events())
        queries = QueryLoop(topo.relay, addr, interval=query_interval)
        queries.start()
        flood_started = time.monotonic()
        sender = pm.start(topo.flood, "flood4", [
            sys.executable, "-m", "harness.flood4", "--server", SERVER, "--giaddr", FLOOD_ADDR,
            "--legacy", LEGACY_ADDR, "--count", str(count), "--rate", str(rate), "--seed", str(seed),
            "--avoid-mac", client_mac, "--query-ip", addr, "--unassigned-ip", UNASSIGNED_IP,
            "--outside-ip", OUTSIDE_IP, "--max-seconds", str(max(60.0, 3 * count / rate + 30))],
            env={**os.environ, "PYTHONPATH": str(E2E_DIR)})
        rc = sender.wait(timeout=max(120.0, 3 * count / rate + 120))
        flood_ended = time.monotonic()
        if rc != 0:
            raise HarnessError(f"flood4 exited {rc}:\n{sender.output()[-3000:]}")
        result.flood = json.loads(sender.stdout_path.read_text().strip().splitlines()[-1])
        result.flood_window = (flood_started, flood_ended)

        # the valid traffic stops, then the server's socket drains, then the server stops
        queries.stop()
        result.queries = queries.results
        client.stop()
        events = client.events()[events_before:]
        result.events = events
        result.renewals = [e for e in events if e.get("reason") == "RENEW"]
        for p in pm.procs:
            if p.name == "dhcrelay":
                p.stop()

        def drained() -> bool:
            socks = udp_sockets(topo.server, 67)
            return bool(socks) and all(s["rx_queue"] == 0 for s in socks)
        wait_for(drained, timeout=60, interval=0.1, what="the server's socket to drain")
        time.sleep(1.5)  # the last DHCPACKs become durable (and are counted)
        result.socket_drops = sum(s["drops"] for s in udp_sockets(topo.server, 67))
        result.alive_at_end = srv.proc is not None and srv.proc.alive()
        result.exit_code = srv.stop(signal.SIGTERM, timeout=20)
        result.server_log = srv.output()
        (artifacts / "server.log").write_text(result.server_log)
        cap.stop()
        tshark_out = cap.proc.output()
        drops = [int(m.group(1)) for m in CAPTURE_DROPPED.finditer(tshark_out)]
        result.capture_dropped = sum(drops) if drops else 0

        srv_after, flood_after = snmp(topo.server), snmp(topo.flood)
        result.server_udp = snmp_delta(srv_before, srv_after, "Udp")
        result.server_ip = snmp_delta(srv_before, srv_after, "Ip")
        result.flood_udp = snmp_delta(flood_before, flood_after, "Udp")
        result.flood_tx_dropped = (link_stats(topo.flood, FLOOD_IF)["tx"]["dropped"]
                                   - f0_before["tx"]["dropped"])
        result.server_rx_dropped = (link_stats(topo.server, SERVER_FLOOD_IF)["rx"]["dropped"]
                                    - s1_before["rx"]["dropped"])

        # the valid datagrams: everything the server's own link carried to its port 67
        rows = capture.fields(cap.pcap, ["ip.src"],
                              f"ip.dst == {SERVER} && udp.dstport == 67")
        result.valid_in = len(rows)
        for (src, *_rest) in rows:
            result.valid_by_source[src] = result.valid_by_source.get(src, 0) + 1
        result.series = stats_lines(result.server_log)
        result.stats = final_stats(result.server_log)
        result.equations = account(result.flood, result.valid_in, result.stats, result.server_udp,
                                   result.server_ip, result.flood_udp, result.flood_tx_dropped)
    finally:
        if queries is not None and queries.is_alive():
            queries.stop()
        try:
            pm.stop_all()
        finally:
            if topo is not None:
                topo.teardown()
        result.seconds = time.monotonic() - began
        (artifacts / "campaign.json").write_text(json.dumps(result.to_json(), indent=1))
        (artifacts / "summary.txt").write_text(result.summary())
    return result


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python3 -m harness.campaign",
        description="Live-server campaign: mutated DHCP and leasequery datagrams at lessor serve "
                    "while ISC dhclient renews and lessor query asks; checks that every datagram "
                    "is accounted for. Run as root from tests/e2e.",
        epilog="Artifacts (server log, capture, campaign.json, summary.txt) go to --artifacts.")
    ap.add_argument("--count", type=int, default=100_000, help="mutated datagrams (default 100000)")
    ap.add_argument("--rate", type=float, default=20_000.0, help="per second (default 20000)")
    ap.add_argument("--seed", type=int, default=1, help="the mutator's seed: same seed, same datagrams")
    ap.add_argument("--lease-seconds", type=int, default=20,
                    help="the server's lease time (default 20: dhclient renews every 10 s)")
    ap.add_argument("--artifacts", type=Path, default=None,
                    help="directory for the artifacts (default: a new one under /tmp)")
    a = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("the campaign needs root (network namespaces)", file=sys.stderr)
        return 2
    artifacts = a.artifacts or Path(f"/tmp/lessor-campaign-{os.getpid()}")
    result = run_campaign(artifacts, count=a.count, rate=a.rate, seed=a.seed,
                          lease_seconds=a.lease_seconds)
    print(result.summary())
    print(f"artifacts: {artifacts}")
    return 0 if all(ok for ok, _ in result.checks().values()) else 1


if __name__ == "__main__":
    sys.exit(main())
