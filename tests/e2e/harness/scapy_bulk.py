#!/usr/bin/env python3
"""DHCPv4 bulk leasequery client (TCP), run *inside* a namespace
(``ip netns exec NS python3 scapy_bulk.py --file sessions.json``).

Plain sockets and manual framing; Scapy builds each query (BOOTP()/DHCP(),
option 82 as raw bytes) and decodes each reply payload (BOOTP(payload)), so the
replies are checked by an implementation Lessor's authors did not write.

--file: JSON {"server": S, "port": P, "timeout": s, "sessions": [
    {"name": ..., "dialect": "rfc6926" | "draft", "queries": [
        {"name": ..., "type": 14, "xid"?: int, "ciaddr"?: ..., "chaddr"?: "aa:..",
         "client_id"?: hex, "agent"?: hex (raw option 82 value),
         "raw"?: hex (the whole query, sent as is; give its "xid")}, ...]}]}
Each session is one TCP connection; all its queries are written at once (so
the server answers them in parallel), then frames are read until every query
has its terminal message (or the timeout). Prints one JSON object:
{session name: {"replies": [...in arrival order...], "pending": [...], "closed": bool}}
"""
import argparse
import json
import random
import select
import socket
import sys
import time

from scapy.all import BOOTP, DHCP, conf  # noqa: E402

# message types ending one query's answer
TERMINAL = {"rfc6926": {15, 17}, "draft": {11, 12, 15, 17}}


def build(q) -> bytes:
    if q.get("raw"):                    # the query exactly as given (its xid must be q["xid"])
        return bytes.fromhex(q["raw"])
    opts = [("message-type", int(q.get("type", 14)))]
    if q.get("client_id"):
        opts.append(("client_id", bytes.fromhex(q["client_id"])))
    if q.get("agent"):
        opts.append(("relay_agent_information", bytes.fromhex(q["agent"])))
    opts.append("end")
    chaddr = q.get("chaddr")
    b = BOOTP(op=1, xid=int(q["xid"]), ciaddr=q.get("ciaddr") or "0.0.0.0",
              giaddr=q.get("giaddr") or "0.0.0.0",
              chaddr=bytes.fromhex(chaddr.replace(":", "")) if chaddr else b"",
              htype=1 if chaddr else 0, hlen=6 if chaddr else 0) / DHCP(options=opts)
    return bytes(b)


def frame(dialect: str, payload: bytes) -> bytes:
    head = len(payload).to_bytes(2, "big")
    return head + (b"\0\0" if dialect == "draft" else b"") + payload


def decode(payload: bytes) -> dict:
    p = BOOTP(payload)
    opts, raw = {}, {}
    for o in p[DHCP].options if DHCP in p else []:
        if isinstance(o, tuple) and len(o) >= 2:
            k, v = o[0], o[1]
            if isinstance(k, str):
                opts[k] = v.hex() if isinstance(v, bytes) else (v if isinstance(v, (int, str)) else str(v))
            else:                       # an option Scapy has no name for: (code, bytes)
                raw[str(k)] = v.hex() if isinstance(v, bytes) else str(v)
    mt = opts.get("message-type")
    return {"type": int(mt) if mt is not None else None, "op": p.op, "xid": p.xid,
            "ciaddr": p.ciaddr, "yiaddr": p.yiaddr, "giaddr": p.giaddr, "htype": p.htype,
            "hlen": p.hlen, "chaddr": bytes(p.chaddr)[:6].hex(":"), "options": opts,
            "unnamed": raw, "hex": payload.hex()}


def session(server, port, s, timeout) -> dict:
    dialect = s["dialect"]
    hl = 4 if dialect == "draft" else 2
    for q in s["queries"]:
        q.setdefault("xid", random.randrange(1, 2**32))
    sock = socket.create_connection((server, port), timeout=5)
    sock.sendall(b"".join(frame(dialect, build(q)) for q in s["queries"]))
    pending = {int(q["xid"]) for q in s["queries"]}
    replies, buf, closed = [], b"", False
    deadline = time.monotonic() + timeout
    sock.setblocking(False)
    while pending and time.monotonic() < deadline:
        r, _, _ = select.select([sock], [], [], max(0.0, deadline - time.monotonic()))
        if not r:
            break
        chunk = sock.recv(65536)
        if not chunk:
            closed = True
            break
        buf += chunk
        while len(buf) >= hl:
            n = int.from_bytes(buf[:2], "big")
            if len(buf) < hl + n:
                break
            d = decode(buf[hl:hl + n])
            d["frame_head"] = buf[:hl].hex()
            buf = buf[hl + n:]
            replies.append(d)
            if d["type"] in TERMINAL[dialect]:
                pending.discard(d["xid"])
    sock.close()
    return {"replies": replies, "pending": sorted(pending), "closed": closed, "leftover": buf.hex(),
            "xids": {q["name"]: int(q["xid"]) for q in s["queries"]}}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--file", required=True)
    a = ap.parse_args()
    conf.verb = 0
    with open(a.file) as f:
        spec = json.load(f)
    out = {s["name"]: session(spec["server"], int(spec.get("port", 67)), s, float(spec.get("timeout", 5)))
           for s in spec["sessions"]}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
