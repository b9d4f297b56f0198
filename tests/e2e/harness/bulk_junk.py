#!/usr/bin/env python3
"""Junk over TCP at a bulk leasequery listener, DHCPv4 (RFC 6926 framing) or DHCPv6 (RFC 5460),
on several connections at once, with one well-formed query on another connection in the middle.
Run *inside* a namespace (``ip netns exec NS python3 bulk_junk.py --family 6 --server A ...``).

Every junk connection is opened at once, sends its octets, then reads until the server closes it
(EOF or reset) or --wait seconds pass. The kinds (the same octets for both families where the
framing allows; docs/protocol.md decisions 1 and 25 say what a server does with each):
  random          a frame of random octets whose first is neither 0, 1 (a DHCPv4 op the dialect
                  detection takes) nor 14 (LEASEQUERY): no message either family takes;
  zero-length     a frame size of 0;
  short-65535     a frame size of 65,535 then 100 octets of it, then nothing;
  not-a-query     a well-formed frame holding a DHCPv6 SOLICIT / a DHCPDISCOVER;
  garbage-options the query message type with options that do not parse (an option longer than
                  what follows);
  malformed-query DHCPv6 only: a LEASEQUERY whose options parse but hold no CLIENTID nor
                  LQ_QUERY, only an unknown option;
  half-then-idle  the first half of the well-formed query, then nothing.
A connection that gets a reply is checked to stay open for --open-check seconds after it, then
half-closed (the server should finish and close).

--good-hex is the well-formed query (framed, hex); it goes on its own connection --good-after
seconds after the junk, and is read until a message of type --done-type.

Prints one JSON object: {"junk": [{"kind", "replies": [{"type", "xid", "status"}], "closed",
"reset", "after", "open_after_reply"}...], "good": {"messages", "bindings", "done", "took",
"types"}}. Nothing is sent to any address but --server."""
from __future__ import annotations

import argparse
import json
import os
import random
import socket
import struct
import threading
import time

KINDS4 = ("random", "zero-length", "short-65535", "not-a-query", "garbage-options",
          "half-then-idle")
KINDS6 = KINDS4 + ("malformed-query",)
COOKIE = b"\x63\x82\x53\x63"


def frame(body: bytes) -> bytes:
    return struct.pack("!H", len(body)) + body


def v6_message(kind: int, xid: int, options: bytes) -> bytes:
    return struct.pack("!I", (kind << 24) | xid) + options


def v6_opt(code: int, body: bytes) -> bytes:
    return struct.pack("!HH", code, len(body)) + body


def v4_message(mtype: int, xid: int, options: bytes, hw: bool = True) -> bytes:
    """A BOOTREQUEST with option 53 = `mtype`, then `options` as given, then END; htype and
    hlen those of Ethernet when `hw` (a bulk query by relay-id wants them 0), chaddr zero."""
    head = bytes([1, 1, 6, 0] if hw else [1, 0, 0, 0]) + struct.pack("!I", xid)
    head += bytes(20) + bytes(16) + bytes(192)
    return head + COOKIE + bytes([53, 1, mtype]) + options + b"\xff"


def junk(kind: str, family: int, good: bytes, rng: random.Random) -> bytes:
    """The octets a junk connection of `kind` sends."""
    xid = rng.randrange(1, 1 << 24)
    if kind == "random":
        body = bytearray(rng.randbytes(300))
        body[0] = rng.choice([b for b in range(2, 256) if b != 14])
        return frame(bytes(body))
    if kind == "zero-length":
        return b"\x00\x00" + rng.randbytes(20)
    if kind == "short-65535":
        return b"\xff\xff" + bytes([1]) + rng.randbytes(99)
    if kind == "not-a-query":
        if family == 6:
            duid = bytes.fromhex("00030001020000000077")
            return frame(v6_message(1, xid, v6_opt(1, duid) + v6_opt(8, b"\x00\x00")))
        return frame(v4_message(1, xid, b""))
    if kind == "garbage-options":
        if family == 6:
            return frame(v6_message(14, xid, struct.pack("!HH", 1, 500) + rng.randbytes(4)))
        return frame(v4_message(14, xid, bytes([82, 200]) + rng.randbytes(6)))
    if kind == "malformed-query":
        return frame(v6_message(14, xid, v6_opt(999, rng.randbytes(8))))
    if kind == "half-then-idle":
        return good[:len(good) // 2]
    raise ValueError(kind)


def messages(buf: bytes):
    """Whole 2-octet-framed messages in `buf`, and what is left."""
    out = []
    while len(buf) >= 2 and len(buf) >= 2 + int.from_bytes(buf[:2], "big"):
        n = int.from_bytes(buf[:2], "big")
        out.append(buf[2:2 + n])
        buf = buf[2 + n:]
    return out, buf


def describe(m: bytes, family: int) -> dict:
    """Type, transaction-id, status code (if any) and whether it carries a binding."""
    if family == 6:
        kind, xid, status, binding = m[0], int.from_bytes(m[1:4], "big"), None, False
        i = 4
        while i + 4 <= len(m):
            code, n = struct.unpack("!HH", m[i:i + 4])
            if code == 13 and n >= 2:
                status = int.from_bytes(m[i + 4:i + 6], "big")
            binding |= code == 45
            i += 4 + n
        return {"type": kind, "xid": xid, "status": status, "binding": binding}
    xid = int.from_bytes(m[4:8], "big")
    kind, status, i = None, None, 240
    while i < len(m) and m[i] != 255:
        if m[i] == 0:
            i += 1
            continue
        if i + 1 >= len(m):
            break
        code, n = m[i], m[i + 1]
        if code == 53 and n >= 1:
            kind = m[i + 2]
        if code == 151 and n >= 1:
            status = m[i + 2]
        i += 2 + n
    # DHCPLEASEACTIVE (13) carries a binding in RFC 6926.
    return {"type": kind, "xid": xid, "status": status, "binding": kind == 13}


def run_junk(kind: str, data: bytes, args, out: dict) -> None:
    r = {"kind": kind, "replies": [], "closed": False, "reset": False, "after": None,
         "open_after_reply": None}
    out[kind] = r
    try:
        s = socket.create_connection((args.server, args.port), timeout=5)
    except OSError as e:
        r["error"] = f"connect: {e}"
        return
    start = time.monotonic()
    buf = b""
    replied_at = None
    try:
        s.sendall(data)
        s.settimeout(0.2)
        while time.monotonic() - start < args.wait:
            if replied_at is not None and r["open_after_reply"] is None \
                    and time.monotonic() - replied_at >= args.open_check:
                # Still open after its reply: done with it, the server should finish and close.
                r["open_after_reply"] = True
                s.shutdown(socket.SHUT_WR)
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                r["closed"], r["reset"] = True, True
                break
            if not chunk:
                r["closed"] = True
                break
            got, buf = messages(buf + chunk)
            for m in got:
                r["replies"].append(describe(m, args.family))
            if got and replied_at is None:
                replied_at = time.monotonic()
        if r["closed"] and replied_at is not None and r["open_after_reply"] is None:
            r["open_after_reply"] = False
        r["after"] = round(time.monotonic() - start, 3)
    except OSError as e:
        r["error"] = str(e)
    finally:
        s.close()


def run_good(good: bytes, args, out: dict) -> None:
    time.sleep(args.good_after)
    r = {"messages": 0, "bindings": 0, "done": False, "took": None, "types": {}}
    out["good"] = r
    start = time.monotonic()
    s = socket.create_connection((args.server, args.port), timeout=args.wait)
    try:
        s.sendall(good)
        buf = b""
        while not r["done"] and time.monotonic() - start < args.wait:
            chunk = s.recv(65536)
            if not chunk:
                break
            got, buf = messages(buf + chunk)
            for m in got:
                d = describe(m, args.family)
                r["messages"] += 1
                r["bindings"] += int(d["binding"])
                key = str(d["type"])
                r["types"][key] = r["types"].get(key, 0) + 1
                if d["type"] == args.done_type:
                    r["done"] = True
        r["took"] = round(time.monotonic() - start, 3)
    finally:
        s.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--family", type=int, choices=(4, 6), required=True)
    ap.add_argument("--server", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--good-hex", required=True)
    ap.add_argument("--done-type", type=int, required=True)
    ap.add_argument("--good-after", type=float, default=0.3)
    ap.add_argument("--wait", type=float, default=15.0)
    ap.add_argument("--open-check", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=int.from_bytes(os.urandom(4), "big"))
    a = ap.parse_args()
    rng = random.Random(a.seed)
    good = bytes.fromhex(a.good_hex)
    kinds = KINDS6 if a.family == 6 else KINDS4
    results: dict = {}
    threads = [threading.Thread(target=run_junk, args=(k, junk(k, a.family, good, rng), a, results))
               for k in kinds]
    threads.append(threading.Thread(target=run_good, args=(good, a, results)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps({"seed": a.seed, "junk": [results[k] for k in kinds],
                      "good": results.get("good")}))


if __name__ == "__main__":
    main()
