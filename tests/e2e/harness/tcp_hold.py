#!/usr/bin/env python3
"""Connections that try to hold bulk leasequery slots, run *inside* a namespace
(``ip netns exec NS python3 tcp_hold.py --server A:P --sources S1,S2 ...``).

Keeps --connections TCP connections to the server, spread over the --sources
addresses, for --duration seconds. Each is, by its index modulo 4:
  0, 1  idle: connects and sends nothing;
  2     trickle: announces a frame of 65,535 octets (RFC 6926 framing) and sends
        one octet of it every --trickle-every seconds;
  3     query-then-trickle: sends one complete bulk leasequery (a relay-id nobody
        has), reads what comes, then trickles a large frame as above.
A connection the server closes is opened again --reopen-after seconds later
(while the run lasts), so the slots stay under pressure. Nothing is sent to
any other address. Prints one JSON object: how many connections were opened,
how many the server closed within --fast of connecting (refused) and later
(a deadline), by kind, and the most open at once."""
import argparse
import errno
import json
import resource
import selectors
import socket
import time

KINDS = ("idle", "idle", "trickle", "query-then-trickle")


def bulk_query(xid: int) -> bytes:
    """A DHCPBULKLEASEQUERY by relay-id (option 82 sub-option 12) in RFC 6926 framing."""
    head = bytes([1, 0, 0, 0]) + xid.to_bytes(4, "big") + bytes(8 + 8) + bytes(4)
    head += bytes(16 + 64 + 128)
    agent = bytes([12, 4]) + b"none"
    opts = bytes([53, 1, 14, 82, len(agent)]) + agent + b"\xff"
    msg = head + b"\x63\x82\x53\x63" + opts
    return len(msg).to_bytes(2, "big") + msg


class Conn:
    def __init__(self, index, source, kind):
        self.index, self.source, self.kind = index, source, kind
        self.sock = None
        self.opened = None          # when connect completed
        self.next_byte = None       # when to send the next trickled octet
        self.reopen_at = 0.0        # when to open again (0: now)
        self.started_trickle = False


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--sources", required=True)
    ap.add_argument("--connections", type=int, default=1000)
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--trickle-every", type=float, default=1.0)
    ap.add_argument("--reopen-after", type=float, default=2.0)
    ap.add_argument("--fast", type=float, default=0.5)
    a = ap.parse_args()
    host, port = a.server.rsplit(":", 1)
    server = (host, int(port))
    sources = a.sources.split(",")
    want = a.connections + 64
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))

    sel = selectors.DefaultSelector()
    conns = [Conn(i, sources[i % len(sources)], KINDS[i % len(KINDS)])
             for i in range(a.connections)]
    stats = {"opened": 0, "connect_failed": 0, "max_open": 0,
             "closed_fast": {k: 0 for k in set(KINDS)},
             "closed_later": {k: 0 for k in set(KINDS)},
             "octets_trickled": 0}
    open_now = 0
    start = time.monotonic()
    end = start + a.duration
    # ramp: open the connections over the first second rather than in one burst of SYNs
    for c in conns:
        c.reopen_at = start + c.index / a.connections

    def close(c, now, counted=True):
        nonlocal open_now
        if c.sock is None:
            return
        try:
            sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        c.sock.close()
        c.sock = None
        open_now -= 1
        if counted and c.opened is not None:
            bucket = "closed_fast" if now - c.opened < a.fast else "closed_later"
            stats[bucket][c.kind] += 1
        c.opened = None
        c.reopen_at = now + a.reopen_after

    def send(c, data, now):
        try:
            c.sock.send(data)
            return True
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            close(c, now)
            return False

    while True:
        now = time.monotonic()
        if now >= end:
            break
        for c in conns:
            if c.sock is None and c.reopen_at <= now:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setblocking(False)
                try:
                    s.bind((c.source, 0))
                    s.connect_ex(server)
                except OSError:
                    s.close()
                    stats["connect_failed"] += 1
                    c.reopen_at = now + a.reopen_after
                    continue
                c.sock, c.opened, c.next_byte, c.started_trickle = s, None, None, False
                open_now += 1
                stats["max_open"] = max(stats["max_open"], open_now)
                sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE, c)
            elif c.sock is not None and c.opened is not None and c.next_byte is not None \
                    and c.next_byte <= now:
                if send(c, b"\x01", now):
                    stats["octets_trickled"] += 1
                    c.next_byte = now + a.trickle_every
        timeout = max(0.0, min(0.05, end - now))
        for key, events in sel.select(timeout):
            c = key.data
            if c.sock is None:
                continue
            now = time.monotonic()
            if c.opened is None and events & selectors.EVENT_WRITE:
                err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err not in (0, errno.EISCONN):
                    stats["connect_failed"] += 1
                    close(c, now, counted=False)
                    continue
                c.opened = now
                stats["opened"] += 1
                sel.modify(c.sock, selectors.EVENT_READ, c)
                c.next_byte = None
                if c.kind == "trickle":
                    if send(c, b"\xff\xff", now):
                        c.next_byte = now + a.trickle_every
                elif c.kind == "query-then-trickle":
                    send(c, bulk_query(0x7100_0000 + c.index), now)
                continue
            if events & selectors.EVENT_READ:
                try:
                    data = c.sock.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    close(c, now)
                    continue
                if not data:
                    close(c, now)
                    continue
                # the answer to its query came: now the large frame that never ends
                if c.kind == "query-then-trickle" and not c.started_trickle:
                    c.started_trickle = True
                    if send(c, b"\xff\xff", now):
                        c.next_byte = now + a.trickle_every
    still_open = sum(1 for c in conns if c.sock is not None)
    for c in conns:
        close(c, time.monotonic(), counted=False)
    stats["still_open_at_end"] = still_open
    stats["seconds"] = round(time.monotonic() - start, 3)
    print(json.dumps(stats))


if __name__ == "__main__":
    main()
