"""DHCPv6 LEASEQUERY (RFC 5007) from inside a namespace: the options Scapy has (CLIENTID, IAADDR,
ORO, Interface-Id, RELAY-FORW) built with Scapy, what it lacks (the LEASEQUERY header,
OPTION_LQ_QUERY, OPTION_RELAY_SOURCE_PORT) as raw bytes; sent over a UDP socket, each reply
decoded as an option tree.

Run: python3 scapy_lq6.py --file queries.json. Each query: name, src (address to send from), dst,
type ("address" | "client-id"), address or duid (hex), link (default "::"), oro (codes),
relayed (wrap in RELAY-FORW with the relay source port option, as a relay at src would),
timeout. Prints one JSON line: [{name, reply (decoded message or None), hex}]."""
from __future__ import annotations

import argparse
import json
import socket
import struct
import sys

from scapy.layers.dhcp6 import (DHCP6OptClientId, DHCP6OptIAAddress, DHCP6OptIfaceId,
                                DHCP6OptOptReq, DHCP6OptRelayMsg, DHCP6_RelayForward, DUID_LL)
from scapy.packet import Raw

# Options whose body holds options, and where those start.
CONTAINERS = {3: 12, 25: 12, 5: 24, 26: 25, 44: 17, 45: 0}


def parse_options(b: bytes, depth: int = 0) -> list:
    out, i = [], 0
    while i + 4 <= len(b):
        code, n = struct.unpack("!HH", b[i:i + 4])
        body = b[i + 4:i + 4 + n]
        if len(body) < n:
            raise ValueError(f"option {code} truncated")
        o = {"code": code, "hex": body.hex()}
        if code in CONTAINERS and depth < 8:
            o["options"] = parse_options(body[CONTAINERS[code]:], depth + 1)
        if code in (5, 26):
            o["lifetimes"] = list(struct.unpack("!II", body[16:24] if code == 5 else body[0:8]))
            o["address"] = socket.inet_ntop(socket.AF_INET6, body[0:16] if code == 5 else body[9:25])
            if code == 26:
                o["length"] = body[8]
        if code == 46:
            o["value"] = struct.unpack("!I", body)[0]
        if code == 13:
            o["status"] = struct.unpack("!H", body[:2])[0]
        if code == 47:
            o["peer"] = socket.inet_ntop(socket.AF_INET6, body[:16])
            o["message"] = parse_message(body[16:], depth + 1)
        if code == 48:
            o["links"] = [socket.inet_ntop(socket.AF_INET6, body[k:k + 16]) for k in range(0, n, 16)]
        if code == 9:
            o["message"] = parse_message(body, depth + 1)
        out.append(o)
        i += 4 + n
    if i != len(b):
        raise ValueError("trailing octets")
    return out


def parse_message(b: bytes, depth: int = 0) -> dict:
    t = b[0]
    if t in (12, 13):
        return {"type": t, "hop": b[1], "link": socket.inet_ntop(socket.AF_INET6, b[2:18]),
                "peer": socket.inet_ntop(socket.AF_INET6, b[18:34]),
                "options": parse_options(b[34:], depth)}
    return {"type": t, "xid": int.from_bytes(b[1:4], "big"), "options": parse_options(b[4:], depth)}


def raw_option(code: int, body: bytes) -> bytes:
    return struct.pack("!HH", code, len(body)) + body


def leasequery(q: dict, xid: int) -> bytes:
    if q["type"] == "address":
        qtype = 1
        qopts = bytes(DHCP6OptIAAddress(addr=q["address"], preflft=0, validlft=0))
    else:
        qtype = 2
        qopts = raw_option(1, bytes.fromhex(q["duid"]))
    if q.get("oro"):
        qopts += bytes(DHCP6OptOptReq(reqopts=q["oro"]))
    lq_query = raw_option(44, bytes([qtype]) + socket.inet_pton(socket.AF_INET6, q.get("link", "::"))
                          + qopts)
    requester = bytes(DHCP6OptClientId(duid=DUID_LL(lladdr="02:00:00:00:00:99")))
    msg = bytes([14]) + xid.to_bytes(3, "big") + requester + lq_query
    if q.get("relayed"):
        fw = DHCP6_RelayForward(hopcount=0, linkaddr=q["src"], peeraddr=q["src"]) \
            / DHCP6OptIfaceId(ifaceid=b"lq6-port") \
            / Raw(raw_option(135, b"\x00\x00")) \
            / DHCP6OptRelayMsg(message=Raw(msg))
        msg = bytes(fw)
    return msg


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--file", required=True)
    args = ap.parse_args()
    with open(args.file) as f:
        queries = json.load(f)
    results = []
    for n, q in enumerate(queries):
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.bind((q["src"], 0))
        s.settimeout(float(q.get("timeout", 3.0)))
        xid = 0x4c5100 + n
        s.sendto(leasequery(q, xid), (q["dst"], 547))
        try:
            data, _ = s.recvfrom(4096)
            reply = parse_message(data)
            if reply["type"] == 13:
                inner = next(o for o in reply["options"] if o["code"] == 9)
                reply = dict(inner["message"], relay=reply)
            results.append({"name": q["name"], "reply": reply, "hex": data.hex()})
        except socket.timeout:
            results.append({"name": q["name"], "reply": None, "hex": ""})
        s.close()
    print(json.dumps(results))


if __name__ == "__main__":
    sys.exit(main())
