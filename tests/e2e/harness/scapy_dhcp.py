#!/usr/bin/env python3
"""Scapy DHCPv4 helper, run *inside* a namespace (``ip netns exec NS python3
scapy_dhcp.py ...``) so Scapy sees that namespace's interfaces and routes.
Prints one JSON object on stdout.

    leasequery --iface r1 --server 198.51.100.2 --giaddr 198.51.100.1 --ciaddr 192.0.2.100
    dora --iface dc0 --chaddr 02:00:00:00:0b:01 --broadcast
"""
import argparse
import json
import os
import random
import sys
import threading
import time

from scapy.all import (BOOTP, DHCP, IP, UDP, AsyncSniffer, Ether, conf, get_if_addr,  # noqa: E402
                       get_if_hwaddr, send, sendp)

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


def _exchange(iface, pkt, xid, timeout):
    """sendp pkt on iface, return the first BOOTREPLY with this xid (or None)."""
    started = threading.Event()
    sniffer = AsyncSniffer(iface=iface, store=True, count=1, filter="udp and src port 67",
                           lfilter=lambda p: BOOTP in p and p[BOOTP].op == 2 and p[BOOTP].xid == xid,
                           started_callback=started.set)
    sniffer.start()
    started.wait(3.0)
    sendp(pkt, iface=iface)
    sniffer.join(timeout)
    if sniffer.running:
        sniffer.stop()
    res = sniffer.results or []
    return res[0] if res else None


def _describe(r):
    if r is None:
        return None
    opts = _opts(r)
    mt = opts.get("message-type")
    return {"reply": DHCP_TYPES.get(mt, str(mt)), "eth_dst": r[Ether].dst, "ip_dst": r[IP].dst,
            "ip_src": r[IP].src, "yiaddr": r[BOOTP].yiaddr, "flags": int(r[BOOTP].flags),
            "options": opts}


def dora(a) -> dict:
    """A client without an address, broadcast flag set: DISCOVER -> OFFER, REQUEST -> ACK."""
    conf.verb = 0
    mac = a.chaddr or get_if_hwaddr(a.iface)
    chaddr = bytes.fromhex(mac.replace(":", ""))
    xid = random.randrange(1, 2**32)
    flags = 0x8000 if a.broadcast else 0

    def frame(opts):
        return (Ether(src=get_if_hwaddr(a.iface), dst="ff:ff:ff:ff:ff:ff") /
                IP(src="0.0.0.0", dst="255.255.255.255") / UDP(sport=68, dport=67) /
                BOOTP(op=1, xid=xid, flags=flags, chaddr=chaddr, htype=1, hlen=6) / DHCP(options=opts))
    offer = _exchange(a.iface, frame([("message-type", 1), "end"]), xid, a.timeout)
    out = {"offer": _describe(offer), "ack": None}
    if offer is None:
        return out
    sid = _opts(offer).get("server_id")
    ack = _exchange(a.iface, frame([("message-type", 3), ("server_id", sid),
                                    ("requested_addr", offer[BOOTP].yiaddr), "end"]), xid, a.timeout)
    out["ack"] = _describe(ack)
    return out


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
    d = sub.add_parser("dora")
    d.add_argument("--iface", required=True)
    d.add_argument("--chaddr")
    d.add_argument("--broadcast", action="store_true")
    d.add_argument("--timeout", type=float, default=5.0)
    a = ap.parse_args()
    print(json.dumps(leasequery(a) if a.cmd == "leasequery" else dora(a)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
