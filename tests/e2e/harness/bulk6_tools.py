"""DHCPv6 bulk leasequery helpers run inside a test namespace (plain sockets, raw bytes: Scapy
has no RFC 5460 messages or RELAY_ID option).

relay:  a second-hop relay agent between ISC dhcrelay -6 (which adds neither RELAY_ID nor
        REMOTE_ID) and the server: wraps each RELAY-FORW in a RELAY-FORW of its own carrying
        OPTION_RELAY_ID (53) and OPTION_REMOTE_ID (37), and unwraps the RELAY-REPL. Bounded by
        --seconds.
query:  one TCP connection to the server; sends the given LEASEQUERYs (2-octet framing), reads
        until each is finished (a REPLY without CLIENT_DATA or with a status, or a DONE), prints
        JSON: every message with its type, transaction-id and options."""
from __future__ import annotations

import argparse
import ipaddress
import json
import select
import socket
import struct
import sys
import time

RELAY_FORW, RELAY_REPL = 12, 13
LEASEQUERY, LQ_REPLY, LQ_DONE, LQ_DATA = 14, 15, 16, 17


def opt(code: int, body: bytes) -> bytes:
    return struct.pack("!HH", code, len(body)) + body


def options(data: bytes):
    out, i = [], 0
    while i + 4 <= len(data):
        code, n = struct.unpack("!HH", data[i:i + 4])
        out.append((code, data[i + 4:i + 4 + n]))
        i += 4 + n
    return out


def relay(args) -> None:
    me = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    me.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    me.bind((args.listen, 547))
    server = (args.server, 547)
    rid, remote = bytes.fromhex(args.relay_id), bytes.fromhex(args.remote_id)
    until = time.monotonic() + args.seconds
    print("relay ready", flush=True)
    while time.monotonic() < until:
        r, _, _ = select.select([me], [], [], 0.5)
        if not r:
            continue
        data, src = me.recvfrom(65535)
        if data[0] == RELAY_FORW and src[0] != args.server:
            peer = ipaddress.IPv6Address(src[0]).packed
            body = bytes([RELAY_FORW, min(data[1] + 1, 255)]) + bytes(16) + peer
            body += opt(53, rid) + opt(37, struct.pack("!I", 4491) + remote) + opt(9, data)
            me.sendto(body, server)
            print(f"forwarded {len(data)} from {src[0]}", flush=True)
        elif data[0] == RELAY_REPL:
            peer = str(ipaddress.IPv6Address(data[18:34]))
            inner = [b for c, b in options(data[34:]) if c == 9]
            if inner:
                me.sendto(inner[0], (peer, 547))
                print(f"returned {len(inner[0])} to {peer}", flush=True)


def leasequery(xid: int, qtype: int, link: str, qopts: bytes, oro=()) -> bytes:
    requestor = bytes.fromhex("000300010200000000ee")
    lq = bytes([qtype]) + ipaddress.IPv6Address(link).packed + qopts
    if oro:
        lq += opt(6, b"".join(struct.pack("!H", c) for c in oro))
    m = struct.pack("!I", (LEASEQUERY << 24) | xid) + opt(1, requestor) + opt(44, lq)
    return struct.pack("!H", len(m)) + m


def decode(m: bytes) -> dict:
    kind, xid = m[0], int.from_bytes(m[1:4], "big")
    opts = []
    for code, body in options(m[4:]):
        o = {"code": code, "hex": body.hex()}
        if code == 45:  # CLIENT_DATA
            o["inner"] = []
            for c, b in options(body):
                i = {"code": c, "hex": b.hex()}
                if c == 5:
                    i["address"] = str(ipaddress.IPv6Address(b[:16]))
                if c == 26:
                    i["prefix"] = f"{ipaddress.IPv6Address(b[9:25])}/{b[8]}"
                o["inner"].append(i)
        if code == 13:
            o["status"] = int.from_bytes(body[:2], "big")
        opts.append(o)
    return {"type": kind, "xid": xid, "options": opts}


def finished(msg: dict) -> bool:
    codes = [o["code"] for o in msg["options"]]
    return msg["type"] == LQ_DONE or (msg["type"] == LQ_REPLY and (45 not in codes or 13 in codes))


def query(args) -> None:
    queries = json.loads(args.queries)
    s = socket.create_connection((args.server, 547), timeout=args.timeout)
    for q in queries:
        s.sendall(leasequery(q["xid"], q["type"], q.get("link", "::"), bytes.fromhex(q.get("options", "")),
                             q.get("oro", ())))
    open_xids = {q["xid"] for q in queries}
    buf, msgs = b"", []
    until = time.monotonic() + args.timeout
    while open_xids and time.monotonic() < until:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
        while len(buf) >= 2 and len(buf) >= 2 + int.from_bytes(buf[:2], "big"):
            n = int.from_bytes(buf[:2], "big")
            m = decode(buf[2:2 + n])
            buf = buf[2 + n:]
            msgs.append(m)
            if finished(m):
                open_xids.discard(m["xid"])
    s.close()
    print(json.dumps({"messages": msgs, "unfinished": sorted(open_xids)}))


def main() -> None:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("relay")
    r.add_argument("--listen", required=True)
    r.add_argument("--server", required=True)
    r.add_argument("--relay-id", required=True)
    r.add_argument("--remote-id", required=True)
    r.add_argument("--seconds", type=float, default=120)
    q = sub.add_parser("query")
    q.add_argument("--server", required=True)
    q.add_argument("--queries", required=True)
    q.add_argument("--timeout", type=float, default=10)
    a = p.parse_args()
    relay(a) if a.cmd == "relay" else query(a)


if __name__ == "__main__":
    sys.exit(main())
