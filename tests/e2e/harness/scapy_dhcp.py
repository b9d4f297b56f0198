#!/usr/bin/env python3
"""Scapy DHCPv4 helper, run *inside* a namespace (``ip netns exec NS python3
scapy_dhcp.py ...``) so Scapy sees that namespace's interfaces and routes.
Prints one JSON object on stdout.

    leasequery --iface r1 --server 198.51.100.2 --giaddr 198.51.100.1 --ciaddr 192.0.2.100
"""
import argparse
import json
import os
import random
import sys
import threading
import time

from scapy.all import (BOOTP, DHCP, IP, UDP, AsyncSniffer, Ether, conf, get_if_addr,  # noqa: E402
                       get_if_hwaddr, send)

DHCP_TYPES = {1: "DHCPDISCOVER", 2: "DHCPOFFER", 3: "DHCPREQUEST", 4: "DHCPDECLINE", 5: "DHCPACK",
              6: "DHCPNAK", 7: "DHCPRELEASE", 8: "DHCPINFORM", 10: "DHCPLEASEQUERY",
              11: "DHCPLEASEUNASSIGNED", 12: "DHCPLEASEUNKNOWN", 13: "DHCPLEASEACTIVE"}


def _opts(pkt):
    out = {}
    for o in pkt[DHCP].options:
        if isinstance(o, tuple) and len(o) >= 2:
            k, v = o[0], o[1] if len(o) == 2 else list(o[1:])
            if isinstance(v, bytes):
                v = v.hex()
            out[str(k)] = v if isinstance(v, (int, str, list)) else str(v)
    return out


def leasequery(a) -> dict:
    conf.verb = 0
    xid = random.randrange(1, 2**32)
    src = a.giaddr
    # RFC 4388 query by IP address: ciaddr set, no chaddr, no client-id.
    opts = [("message-type", 10)]
    if a.client_id:
        opts.append(("client_id", bytes.fromhex(a.client_id)))
    opts += [("param_req_list", [1, 3, 51, 54, 82, 91, 92]), "end"]
    bootp = BOOTP(op=1, xid=xid, giaddr=a.giaddr, ciaddr=a.ciaddr or "0.0.0.0",
                  chaddr=bytes.fromhex(a.chaddr.replace(":", "")) if a.chaddr else b"",
                  htype=1 if a.chaddr else 0, hlen=6 if a.chaddr else 0)
    pkt = IP(src=src, dst=a.server) / UDP(sport=67, dport=67) / bootp / DHCP(options=opts)
    started = threading.Event()
    sniffer = AsyncSniffer(iface=a.iface, store=True, count=1, filter="udp and src port 67",
                           lfilter=lambda p: BOOTP in p and p[BOOTP].op == 2 and p[BOOTP].xid == xid,
                           started_callback=started.set)
    sniffer.start()
    started.wait(3.0)
    t0 = time.monotonic()
    send(pkt, iface=a.iface)
    sniffer.join(a.timeout)          # count=1: the thread ends on the first reply
    if sniffer.running:
        sniffer.stop()
    res = sniffer.results or []
    if not res:
        return {"reply": None, "xid": xid, "elapsed": time.monotonic() - t0}
    r = res[0]
    opts = _opts(r)
    mt = opts.get("message-type")
    return {"reply": DHCP_TYPES.get(mt, str(mt)), "xid": xid, "ciaddr": r[BOOTP].ciaddr,
            "yiaddr": r[BOOTP].yiaddr, "giaddr": r[BOOTP].giaddr,
            "chaddr": r[BOOTP].chaddr[:6].hex(":"), "options": opts,
            "elapsed": time.monotonic() - t0}


def main() -> int:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    lq = sub.add_parser("leasequery")
    lq.add_argument("--iface", required=True)
    lq.add_argument("--server", required=True)
    lq.add_argument("--giaddr", required=True)
    lq.add_argument("--ciaddr")
    lq.add_argument("--chaddr")
    lq.add_argument("--client-id")
    lq.add_argument("--timeout", type=float, default=5.0)
    a = ap.parse_args()
    print(json.dumps(leasequery(a)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
