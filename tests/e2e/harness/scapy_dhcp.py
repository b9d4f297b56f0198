#!/usr/bin/env python3
"""Scapy DHCPv4 helper, run *inside* a namespace (``ip netns exec NS python3
scapy_dhcp.py ...``) so Scapy sees that namespace's interfaces and routes.
Prints one JSON object on stdout.

    leasequery --iface r1 --server 198.51.100.2 --giaddr 198.51.100.1 --ciaddr 192.0.2.100
    dora --iface dc0 --chaddr 02:00:00:00:0b:01 --broadcast
    lq-batch --iface r1 --file queries.json          (several leasequeries, one process)
    relay-dora --iface r1 --file clients.json --server S --src R --giaddr G
    flood --iface dc0 --chaddr 02:00:00:00:0f:01 --count 2000   (DISCOVERs from one MAC)
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


def _lq_one(iface, q) -> dict:
    """One DHCPLEASEQUERY described by the dict q (see lq_batch); the reply with
    its raw BOOTP bytes (hex) and where it was sent (ip/udp destination)."""
    xid = random.randrange(1, 2**32)
    giaddr = q["giaddr"]
    src = q.get("src") or giaddr
    opts = [("message-type", 10)]
    if q.get("client_id"):
        opts.append(("client_id", bytes.fromhex(q["client_id"])))
    if q.get("agent"):
        opts.append(("relay_agent_information", bytes.fromhex(q["agent"])))
    prl = q.get("prl", [1, 3, 51, 54, 61, 82, 91, 92])
    if prl:
        opts.append(("param_req_list", list(prl)))
    opts.append("end")
    chaddr = q.get("chaddr")
    bootp = BOOTP(op=1, xid=xid, giaddr=giaddr, ciaddr=q.get("ciaddr") or "0.0.0.0",
                  chaddr=bytes.fromhex(chaddr.replace(":", "")) if chaddr else b"",
                  htype=1 if chaddr else 0, hlen=6 if chaddr else 0)
    sport = int(q.get("sport", 67))
    pkt = IP(src=src, dst=q["server"]) / UDP(sport=sport, dport=67) / bootp / DHCP(options=opts)
    started = threading.Event()
    server = q["server"]

    def mine(p):
        # Scapy dissects BOOTP only for 67<->68 and 67->67: a reply to a high
        # port is decoded here; only the server's reply counts (ISC dhcrelay
        # re-sends some leasequery replies it receives on port 67)
        if IP not in p or UDP not in p or p[IP].src != server:
            return False
        try:
            b = BOOTP(bytes(p[UDP].payload))
        except Exception:  # noqa: BLE001
            return False
        return b.op == 2 and b.xid == xid
    sniffer = AsyncSniffer(iface=iface, store=True, count=1, filter="udp and src port 67",
                           lfilter=mine, started_callback=started.set)
    sniffer.start()
    started.wait(3.0)
    t0 = time.monotonic()
    send(pkt, iface=iface)
    sniffer.join(float(q.get("timeout", 3.0)))
    if sniffer.running:
        sniffer.stop()
    res = sniffer.results or []
    out = {"name": q.get("name"), "xid": xid, "sport": sport, "src": src, "reply": None,
           "elapsed": time.monotonic() - t0}
    if not res:
        return out
    r = res[0]
    out["t_wall"] = float(r.time)   # capture time of the reply (Unix seconds)
    b = BOOTP(bytes(r[UDP].payload))
    o = _opts(b)
    mt = o.get("message-type")
    out.update({"reply": DHCP_TYPES.get(mt, str(mt)), "ciaddr": b.ciaddr,
                "yiaddr": b.yiaddr, "giaddr": b.giaddr,
                "chaddr": b.chaddr[:6].hex(":"), "htype": b.htype, "hlen": b.hlen,
                "ip_src": r[IP].src, "ip_dst": r[IP].dst, "udp_sport": r[UDP].sport,
                "udp_dport": r[UDP].dport, "bootp_hex": bytes(r[UDP].payload).hex(), "options": o})
    return out


def lq_batch(a) -> list:
    """Several leasequeries from one Scapy process (Scapy's import is slow).
    --file: JSON list of {name, server, giaddr, src?, sport?, ciaddr?, chaddr?,
    client_id? (hex), agent? (raw option 82 value, hex), prl? (list), timeout?}."""
    conf.verb = 0
    with open(a.file) as f:
        queries = json.load(f)
    return [_lq_one(a.iface, q) for q in queries]


def relay_dora(a) -> list:
    """Play a relay agent: for each client {chaddr, agent (hex option 82), client_id?, release?}
    send a relayed DISCOVER then REQUEST (giaddr set, from port 67 of this
    namespace's address) to the server; the ACK's yiaddr per client."""
    conf.verb = 0
    with open(a.file) as f:
        clients = json.load(f)
    out = []
    for c in clients:
        xid = random.randrange(1, 2**32)
        chaddr = bytes.fromhex(c["chaddr"].replace(":", ""))
        extra = []
        if c.get("client_id"):
            extra.append(("client_id", bytes.fromhex(c["client_id"])))
        agent = [("relay_agent_information", bytes.fromhex(c["agent"]))] if c.get("agent") else []

        def pkt(opts):
            return (IP(src=a.src, dst=a.server) / UDP(sport=67, dport=67) /
                    BOOTP(op=1, hops=1, xid=xid, giaddr=a.giaddr, chaddr=chaddr, htype=1, hlen=6) /
                    DHCP(options=opts + extra + agent + ["end"]))

        def exch(p):
            started = threading.Event()
            sn = AsyncSniffer(iface=a.iface, store=True, count=1, filter="udp and src port 67",
                              lfilter=lambda r: BOOTP in r and r[BOOTP].op == 2 and r[BOOTP].xid == xid,
                              started_callback=started.set)
            sn.start()
            started.wait(3.0)
            send(p, iface=a.iface)
            sn.join(a.timeout)
            if sn.running:
                sn.stop()
            return (sn.results or [None])[0]
        offer = exch(pkt([("message-type", 1)]))
        res = {"chaddr": c["chaddr"], "offer": _describe_l3(offer), "ack": None}
        if offer is not None:
            ack = exch(pkt([("message-type", 3), ("server_id", _opts(offer).get("server_id")),
                            ("requested_addr", offer[BOOTP].yiaddr)]))
            res["ack"] = _describe_l3(ack)
            if ack is not None and c.get("release"):
                # as the client itself would: unicast from its address, ciaddr set, no giaddr
                rel = (IP(src=ack[BOOTP].yiaddr, dst=a.server) / UDP(sport=68, dport=67) /
                       BOOTP(op=1, xid=random.randrange(1, 2**32), ciaddr=ack[BOOTP].yiaddr,
                             chaddr=chaddr, htype=1, hlen=6) /
                       DHCP(options=[("message-type", 7), ("server_id", _opts(ack).get("server_id"))]
                            + extra + ["end"]))
                send(rel, iface=a.iface)
                res["released"] = True
        out.append(res)
    return out


def flood(a) -> dict:
    """--count broadcast DISCOVERs from one hardware address as fast as Scapy sends them (each
    its own xid); counts the DHCPOFFERs that come back for that address while sending and for
    --linger seconds after."""
    conf.verb = 0
    chaddr = bytes.fromhex(a.chaddr.replace(":", ""))
    src = get_if_hwaddr(a.iface)
    frames = [Ether(src=src, dst="ff:ff:ff:ff:ff:ff") / IP(src="0.0.0.0", dst="255.255.255.255") /
              UDP(sport=68, dport=67) /
              BOOTP(op=1, xid=random.randrange(1, 2**32), flags=0x8000, chaddr=chaddr, htype=1,
                    hlen=6) / DHCP(options=[("message-type", 1), "end"])
              for _ in range(a.count)]
    started = threading.Event()
    sniffer = AsyncSniffer(iface=a.iface, store=True, filter="udp and src port 67",
                           lfilter=lambda p: BOOTP in p and p[BOOTP].op == 2 and
                           p[BOOTP].chaddr[:6] == chaddr,
                           started_callback=started.set)
    sniffer.start()
    started.wait(3.0)
    t0 = time.monotonic()
    sendp(frames, iface=a.iface, inter=0)
    sent_s = time.monotonic() - t0
    time.sleep(a.linger)
    sniffer.stop()
    replies = [_opts(r).get("message-type") for r in (sniffer.results or [])]
    return {"sent": a.count, "seconds": sent_s, "offers": replies.count(2), "replies": len(replies)}


def _describe_l3(r):
    if r is None:
        return None
    o = _opts(r)
    mt = o.get("message-type")
    return {"reply": DHCP_TYPES.get(mt, str(mt)), "ip_dst": r[IP].dst, "yiaddr": r[BOOTP].yiaddr,
            "options": o}


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
    b = sub.add_parser("lq-batch")
    b.add_argument("--iface", required=True)
    b.add_argument("--file", required=True)
    rd = sub.add_parser("relay-dora")
    rd.add_argument("--iface", required=True)
    rd.add_argument("--file", required=True)
    rd.add_argument("--server", required=True)
    rd.add_argument("--src", required=True)
    rd.add_argument("--giaddr", required=True)
    rd.add_argument("--timeout", type=float, default=5.0)
    fl = sub.add_parser("flood")
    fl.add_argument("--iface", required=True)
    fl.add_argument("--chaddr", required=True)
    fl.add_argument("--count", type=int, default=2000)
    fl.add_argument("--linger", type=float, default=1.0)
    a = ap.parse_args()
    fn = {"leasequery": leasequery, "dora": dora, "lq-batch": lq_batch, "relay-dora": relay_dora,
          "flood": flood}[a.cmd]
    print(json.dumps(fn(a)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
