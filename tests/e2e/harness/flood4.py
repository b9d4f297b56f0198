"""The campaign's sender (`campaign.py`), run *inside* its namespace:

    python3 -m harness.flood4 --server 198.51.100.2 --giaddr 203.0.113.2 --legacy 203.0.113.3 \\
        --count 1000000 --rate 25000 --seed 1 [--avoid-mac 02:..] [--query-ip A]...

1. primes: a few clients of its own get a lease through the relay socket (DISCOVER, OFFER,
   REQUEST, ACK, unmutated), so that the seeds name real bindings;
2. floods: `--count` mutated datagrams (`mutate4.Mutator`), generated in chunks while sending,
   paced at `--rate` per second from four plain UDP sockets (relay agent 0.0.0.0:67, client
   0.0.0.0:68, requester giaddr:ephemeral, legacy requester --legacy:ephemeral);
3. drains what the server answers (every socket, all along and for a moment at the end) and
   prints one JSON object: what was sent (by seed, by mutation, by channel), send errors, what
   came back by message type, the bound addresses, the rate reached.

Bounded: `--max-seconds` ends the flood early (the JSON says `complete: false`).
"""
from __future__ import annotations

import argparse
import errno
import json
import socket
import sys
import time
from typing import Dict, List, Optional

from . import mutate4
from .mutate4 import CLIENT, LEGACY, LQ, RELAY

CHUNK = 2048          # datagrams generated at a time
BURST = 64            # most datagrams sent without looking at the clock


def _socket(bind: tuple) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind(bind)
    return s


class Sender:
    def __init__(self, server: str, giaddr: str, legacy: str, port: int = 67) -> None:
        self.server = (server, port)
        self.socks = {
            RELAY: _socket(("0.0.0.0", 67)),
            CLIENT: _socket(("0.0.0.0", 68)),
            LQ: _socket((giaddr, 0)),
            LEGACY: _socket((legacy, 0)),
        }
        for s in self.socks.values():
            s.setblocking(False)
        self.sent: Dict[str, int] = {c: 0 for c in self.socks}
        self.send_errors: Dict[str, int] = {}
        self.replies: Dict[str, int] = {}
        self.received = 0

    def send(self, channel: str, data: bytes) -> bool:
        try:
            self.socks[channel].sendto(data, self.server)
        except BlockingIOError:
            # the socket's send buffer is full: the datagram did not leave; wait and retry once
            time.sleep(0.001)
            try:
                self.socks[channel].sendto(data, self.server)
            except OSError as e:
                self._error(e)
                return False
        except OSError as e:
            self._error(e)
            return False
        self.sent[channel] += 1
        return True

    def _error(self, e: OSError) -> None:
        name = errno.errorcode.get(e.errno or 0, str(e.errno))
        self.send_errors[name] = self.send_errors.get(name, 0) + 1

    def drain(self, limit: int = 4096) -> List[bytes]:
        """Read what is queued on every socket (at most `limit`), counting replies by type."""
        got: List[bytes] = []
        for s in self.socks.values():
            while len(got) < limit:
                try:
                    data = s.recv(65535)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    break
                got.append(data)
        for d in got:
            t = mutate4.message_type(d)
            name = mutate4.TYPE_NAMES.get(t, f"type-{t}") if t is not None else "unparsed"
            self.replies[name] = self.replies.get(name, 0) + 1
        self.received += len(got)
        return got

    def exchange(self, channel: str, data: bytes, want: int, timeout: float = 2.0,
                 tries: int = 3) -> Optional[bytes]:
        """Send `data` and wait for a reply of type `want` with its xid (retransmitted)."""
        xid = mutate4.xid_of(data)
        for _ in range(tries):
            self.send(channel, data)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                for d in self.drain():
                    if len(d) >= 240 and mutate4.xid_of(d) == xid and mutate4.message_type(d) == want:
                        return d
                time.sleep(0.01)
        return None


def prime(sender: Sender, ids: List[mutate4.Identity], giaddr: str, server: str) -> None:
    """Each identity gets a lease through the relay socket (unmutated DORA)."""
    for w in ids:
        offer = sender.exchange(RELAY, mutate4.discover(w, giaddr, 0x5EED0000 + 2 * w.index).encode(),
                                mutate4.OFFER)
        if offer is None:
            raise SystemExit(f"prime: no DHCPOFFER for {w.mac.hex(':')}")
        a = mutate4.yiaddr(offer)
        ack = sender.exchange(RELAY, mutate4.request_selecting(
            w, giaddr, server, a, 0x5EED0001 + 2 * w.index).encode(), mutate4.ACK)
        if ack is None:
            raise SystemExit(f"prime: no DHCPACK for {w.mac.hex(':')} {a}")
        w.address = a


def flood(sender: Sender, mutator: mutate4.Mutator, count: int, rate: float,
          max_seconds: float) -> dict:
    t0 = time.monotonic()
    sent = attempted = 0
    buf: List[tuple] = []
    pos = 0
    while attempted < count:
        now = time.monotonic()
        if now - t0 > max_seconds:
            break
        due = int((now - t0) * rate) - attempted
        if due <= 0:
            sender.drain()
            if pos >= len(buf):
                buf, pos = mutator.batch(min(CHUNK, count - mutator.made)), 0
                continue
            time.sleep(0.0005)
            continue
        n = min(due, BURST, count - attempted)
        for _ in range(n):
            if pos >= len(buf):
                buf, pos = mutator.batch(min(CHUNK, count - mutator.made)), 0
            channel, data = buf[pos]
            pos += 1
            attempted += 1
            if sender.send(channel, data):
                sent += 1
        if attempted % 1024 < n:
            sender.drain()
    elapsed = time.monotonic() - t0
    return {"attempted": attempted, "sent": sent, "elapsed": round(elapsed, 3),
            "rate": round(attempted / elapsed, 1) if elapsed > 0 else 0.0,
            "complete": attempted == count}


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m harness.flood4", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", required=True)
    ap.add_argument("--port", type=int, default=67)
    ap.add_argument("--giaddr", required=True, help="the relay agent's and requester's address")
    ap.add_argument("--legacy", required=True, help="the legacy (draft-00) requester's address")
    ap.add_argument("--count", type=int, default=100_000)
    ap.add_argument("--rate", type=float, default=25_000.0, help="datagrams per second")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--clients", type=int, default=8, help="own clients primed with a lease")
    ap.add_argument("--avoid-mac", default="", help="a MAC no datagram may carry in chaddr")
    ap.add_argument("--query-ip", action="append", default=[], help="also query this address")
    ap.add_argument("--unassigned-ip", default="")
    ap.add_argument("--outside-ip", default="")
    ap.add_argument("--max-seconds", type=float, default=600.0)
    ap.add_argument("--drain-seconds", type=float, default=1.0)
    a = ap.parse_args(argv)

    avoid = bytes.fromhex(a.avoid_mac.replace(":", "")) if a.avoid_mac else None
    sender = Sender(a.server, a.giaddr, a.legacy, a.port)
    ids = mutate4.identities(a.clients, avoid_mac=avoid)
    prime(sender, ids, a.giaddr, a.server)
    primed = dict(sender.sent)
    seeds = mutate4.seeds(ids, server=a.server, giaddr=a.giaddr, legacy=a.legacy,
                          extra_query_ips=a.query_ip, unassigned_ip=a.unassigned_ip,
                          outside_ip=a.outside_ip)
    mutator = mutate4.Mutator(seeds, seed=a.seed, avoid_mac=avoid)
    result = flood(sender, mutator, a.count, a.rate, a.max_seconds)
    deadline = time.monotonic() + a.drain_seconds
    while time.monotonic() < deadline:
        if not sender.drain():
            time.sleep(0.05)
    result.update({
        "seed": a.seed,
        "primed_sent": sum(primed.values()),
        "sent_by_channel": sender.sent,
        "total_sent": sum(sender.sent.values()),
        "send_errors": sender.send_errors,
        "replies": sender.replies,
        "replies_total": sender.received,
        "clients": {w.mac.hex(":"): w.address for w in ids},
        "seeds": len(seeds),
        "by_seed": mutator.by_seed,
        "by_mutation": mutator.by_mutation,
    })
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
