"""Helpers shared by the leasequery end-to-end tests (test_leasequery_*.py)."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from harness import addressing
from harness.capture import dhcp_options  # noqa: F401 - the leasequery tests import it from here
from harness.isc import Dhclient, Dhcpd, Dhcrelay, make_dhclient, start_dhcpd, start_dhcrelay
from harness.lessor import LessorServer, Subnet4, lessor_bin, write_config
from harness.scapy_runner import scapy_relay_dora
from harness.util import run


def u32(v: bytes) -> int:
    assert len(v) == 4, v
    return int.from_bytes(v, "big")


def ips(v: bytes) -> list:
    assert len(v) % 4 == 0, v
    return [str(ipaddress.IPv4Address(v[i:i + 4])) for i in range(0, len(v), 4)]


def subopt(code: int, value: bytes) -> bytes:
    return bytes([code, len(value)]) + value


def agent(*subs) -> bytes:
    """Raw option 82 value from (code, value) sub-options, in order."""
    return b"".join(subopt(c, v) for c, v in subs)


# ------------------------------------------------------------------ ISC vs Lessor on the same leases
#
# Shared by test_leasequery_isc_diff.py (Scapy queries) and test_query_cli_isc.py
# (`lessor query`): ISC dhcpd hands out the leases, its dhcpd.leases is copied and
# imported into a fresh Lessor store; afterwards dhcpd can be restarted on the copy
# and `lessor serve` on the import, one at a time, on the same address and port.

SERVER = addressing.SERVER_V4
RELAY = addressing.RELAY_UP_V4
CLIENT_ID = b"lsr-e2e-client"
FREE_IN_POOL = "192.0.2.150"
OUTSIDE = "203.0.113.77"
SCAPY_CLIENTS = [
    {"chaddr": "02:00:00:00:0c:01", "agent": agent((1, b"sc-1"), (2, b"rid-A")).hex()},
    {"chaddr": "02:00:00:00:0c:03", "agent": agent((1, b"sc-3")).hex(), "release": True},
]
UNKNOWN_MAC = "02:00:00:00:0d:99"
LEASE_TIME = 600
# the same options on both sides: routers (per subnet) and a DNS server (global / per subnet)
DNS = "198.51.100.53"
ISC_GLOBAL = f"option domain-name-servers {DNS};"


def mac_of(ns, ifname: str) -> str:
    return ns.ip("link", "show", ifname).stdout.split("link/ether ")[1].split()[0]


@dataclass
class IscLeases:
    """The bindings ISC dhcpd handed out, and the Lessor config/store they were imported into."""
    addr_a: str            # dhclient through dhcrelay -a: client-id CLIENT_ID, circuit-id = relay_down_if
    mac_a: str
    addr_b: str            # Scapy relay agent: SCAPY_CLIENTS[0] (circuit-id sc-1, remote-id rid-A), no client-id
    addr_r: str            # Scapy relay agent: SCAPY_CLIENTS[1], released (ISC: free; imported: expired)
    leases_copy: Path      # the stopped dhcpd's dhcpd.leases
    conf: Path             # lessor.toml of the import (same subnet, pool, options; requesters = RELAY/32)
    store: Path
    dhcrelay: Dhcrelay
    client: Dhclient


def isc_leases_imported(t, procs, artifacts: Path, *, scapy_log: Path) -> IscLeases:
    """ISC dhcpd hands out three leases (dhclient through dhcrelay -a, two Scapy relay
    clients, one released), is stopped; its dhcpd.leases is copied and imported into a
    fresh Lessor store with `lessor leases import --isc`. dhcrelay and dhclient keep running."""
    # --- 1. ISC dhcpd hands out the leases
    dhcpd = start_dhcpd(procs, t.server, t.server_if, artifacts / "dhcpd", lease_time=LEASE_TIME,
                        extra_global=ISC_GLOBAL)
    relay = start_dhcrelay(procs, t.relay, [t.relay_down_if], [t.relay_up_if], [SERVER],
                           artifacts / "dhcrelay")
    client = make_dhclient(t.client, t.client_if, artifacts / "dhclient",
                           extra_conf=f'send dhcp-client-identifier "{CLIENT_ID.decode()}";\n')
    addr_a = client.acquire(procs)["new_ip_address"]
    mac_a = mac_of(t.client, t.client_if)
    dora = scapy_relay_dora(t.relay, t.relay_up_if, SERVER, RELAY, addressing.RELAY_DOWN_V4,
                            SCAPY_CLIENTS, log=scapy_log)
    assert all(r["ack"] and r["ack"]["reply"] == "DHCPACK" for r in dora), dora
    addr_b, addr_r = (r["ack"]["yiaddr"] for r in dora)
    dhcpd.wait_binding_state(addr_a, "active")
    dhcpd.wait_binding_state(addr_b, "active")
    # ISC without failover: a released lease goes straight to "free" (keeping its client)
    dhcpd.wait_binding_state(addr_r, "free")
    assert FREE_IN_POOL not in (addr_a, addr_b, addr_r)
    dhcpd.proc.stop()
    leases_copy = artifacts / "dhcpd-copy.leases"
    leases_copy.write_bytes(dhcpd.leases.read_bytes())

    # --- 2. import into a fresh Lessor store (same subnet and pool)
    ldir = artifacts / "lessor"
    store = ldir / "lessor.db"
    conf = write_config(ldir / "lessor.toml", identifier=SERVER, store=store,
                        listen=[SERVER], relays=[str(addressing.CLIENT_NET)], requesters=[f"{RELAY}/32"],
                        reply_to_source_port=[f"{RELAY}/32"], lease_time=f"{LEASE_TIME}s",
                        subnets=[Subnet4(str(addressing.CLIENT_NET), addressing.POOL_V4,
                                         routers=addressing.RELAY_DOWN_V4)])
    text = conf.read_text()
    routers = f'options = {{ routers = ["{addressing.RELAY_DOWN_V4}"] }}'
    assert routers in text, text
    conf.write_text(text.replace(routers, f'options = {{ routers = ["{addressing.RELAY_DOWN_V4}"], '
                                          f'domain-name-servers = ["{DNS}"] }}'))
    imp = run([str(lessor_bin()), "leases", "import", "--isc", str(leases_copy), "--config", str(conf)],
              check=False)
    (artifacts / "import.out").write_text(imp.stdout + imp.stderr)
    assert imp.returncode == 0, imp.stdout + imp.stderr
    # import-isc.md: free (with its last client) -> expired
    assert "imported 3: 2 active, 1 expired" in imp.stdout, imp.stdout
    return IscLeases(addr_a, mac_a, addr_b, addr_r, leases_copy, conf, store, relay, client)


def start_isc_on_copy(t, procs, artifacts: Path, lv: IscLeases) -> Dhcpd:
    """ISC dhcpd restarted on (a copy of) the leases it wrote."""
    return start_dhcpd(procs, t.server, t.server_if, artifacts / "dhcpd2", lease_time=LEASE_TIME,
                       name="dhcpd2", leases_from=lv.leases_copy, extra_global=ISC_GLOBAL)


def start_lessor_on_import(t, procs, lv: IscLeases) -> LessorServer:
    """lessor serve on the imported store (the three bindings loaded)."""
    srv = LessorServer(procs, t.server, lv.conf, lv.store)
    srv.check()
    srv.start()
    srv.proc.wait_output("3 binding(s) loaded", timeout=5)
    return srv


def isc_then_lessor(t, procs, artifacts: Path, lv: IscLeases, ask):
    """ask("isc") against ISC dhcpd on its own leases (the copy), then ask("lessor") against
    lessor serve on the import, one server running at a time; returns both results."""
    isc = start_isc_on_copy(t, procs, artifacts, lv)
    isc_res = ask("isc")
    isc.proc.stop()
    srv = start_lessor_on_import(t, procs, lv)
    les_res = ask("lessor")
    assert srv.stop() == 0
    return isc_res, les_res
