"""DHCPv4 and leasequery datagrams for the live-server campaign (`campaign.py`): valid seeds
built from plain bytes, and a seeded mutator that turns them into hostile variants fast
enough to make a million of them in plain Python (no Scapy per datagram).

A seed is a fixed BOOTP header (with the magic cookie) and an option list, plus the
channel it is sent on (which socket, so which source address and port). Mutations work on
the option list first (insert, delete, duplicate, change the message type, a wrong
overload), then on the header fields (op, htype/hlen, giaddr, ciaddr, chaddr, flags), then
on the encoded bytes (bit flips, byte replacements, an option length made wrong,
truncation, extension), and most datagrams get a random xid. The same `--seed` gives the
same datagrams, so a campaign that finds something can be replayed.
"""
from __future__ import annotations

import ipaddress
import random
import struct
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

COOKIE = b"\x63\x82\x53\x63"
HEADER_LEN = 236  # op .. file, without the cookie

# Channels: which of the sender's sockets a seed leaves from.
RELAY = "relay"      # a relay agent: giaddr's address, port 67
CLIENT = "client"    # a client talking to the server directly: port 68
LQ = "lq"            # an RFC 4388 requester: giaddr's address, an ephemeral port
LEGACY = "legacy"    # a draft-00 requester (its own address), an ephemeral port
CHANNELS = (RELAY, CLIENT, LQ, LEGACY)

# DHCP message types (option 53).
DISCOVER, OFFER, REQUEST, DECLINE, ACK, NAK, RELEASE, INFORM = 1, 2, 3, 4, 5, 6, 7, 8
LEASEQUERY, BULKLEASEQUERY, ACTIVELEASEQUERY, TLS = 10, 14, 16, 18
TYPE_NAMES = {1: "discover", 2: "offer", 3: "request", 4: "decline", 5: "ack", 6: "nak",
              7: "release", 8: "inform", 10: "leasequery", 11: "leaseunassigned",
              12: "leaseunknown", 13: "leaseactive", 14: "bulkleasequery", 16: "activeleasequery",
              18: "tls"}

Option = Tuple[int, bytes]


def ip4(a: str) -> bytes:
    return ipaddress.IPv4Address(a).packed


def sub_options(*subs: Tuple[int, bytes]) -> bytes:
    return b"".join(bytes([c, len(v)]) + v for c, v in subs)


@dataclass(frozen=True)
class Seed:
    """One valid datagram: its name (for the counts), channel, header (236 octets + cookie)
    and options (without the end option, which encoding adds)."""
    name: str
    channel: str
    header: bytes
    options: Tuple[Option, ...]

    def encode(self) -> bytes:
        return encode(self.header, self.options)


def encode(header: bytes, options: Sequence[Option], pad_to: int = 300) -> bytes:
    out = bytearray(header)
    for code, value in options:
        out.append(code)
        out.append(len(value) & 0xFF)
        out += value
    out.append(255)
    if len(out) < pad_to:
        out += bytes(pad_to - len(out))
    return bytes(out)


def header(*, op: int = 1, chaddr: bytes = b"", htype: int = 1, hlen: Optional[int] = None,
           hops: int = 0, xid: int = 0, flags: int = 0, ciaddr: str = "0.0.0.0",
           yiaddr: str = "0.0.0.0", giaddr: str = "0.0.0.0") -> bytes:
    hlen = len(chaddr) if hlen is None else hlen
    h = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", op, htype, hlen, hops, xid, 0, flags,
                    ip4(ciaddr), ip4(yiaddr), b"\0" * 4, ip4(giaddr), chaddr, b"", b"")
    assert len(h) == HEADER_LEN
    return h + COOKIE


def message_type(datagram: bytes) -> Optional[int]:
    """Option 53 of a datagram (first instance, options field only), or None."""
    if len(datagram) < HEADER_LEN + 4 or datagram[HEADER_LEN:HEADER_LEN + 4] != COOKIE:
        return None
    i, n = HEADER_LEN + 4, len(datagram)
    while i < n:
        code = datagram[i]
        if code == 255:
            return None
        if code == 0:
            i += 1
            continue
        if i + 1 >= n:
            return None
        length = datagram[i + 1]
        if code == 53 and length == 1 and i + 2 < n:
            return datagram[i + 2]
        i += 2 + length
    return None


def yiaddr(datagram: bytes) -> str:
    return str(ipaddress.IPv4Address(datagram[16:20]))


def xid_of(datagram: bytes) -> int:
    return struct.unpack_from("!I", datagram, 4)[0]


# ------------------------------------------------------------------ seeds

PRL_CLIENT = bytes([1, 3, 6, 15, 28, 51, 54, 58, 59])
PRL_QUERY = bytes([51, 58, 59, 82, 91, 92, 61, 60])


@dataclass
class Identity:
    """One of the campaign's own clients: its MAC, client identifier and relay information,
    and (once primed) the address the server bound to it."""
    index: int
    mac: bytes
    client_id: bytes
    circuit_id: bytes
    remote_id: bytes
    relay_id: bytes
    address: Optional[str] = None

    @property
    def option82(self) -> bytes:
        return sub_options((1, self.circuit_id), (2, self.remote_id), (12, self.relay_id))


def identities(n: int, avoid_mac: Optional[bytes] = None) -> List[Identity]:
    """n clients with locally administered MACs 02:00:5e:10:00:NN (never `avoid_mac`)."""
    out = []
    for i in range(n):
        mac = bytes([0x02, 0x00, 0x5E, 0x10, 0x00, i & 0xFF])
        if mac == avoid_mac:
            mac = bytes([0x02, 0x00, 0x5E, 0x11, 0x00, i & 0xFF])
        out.append(Identity(i, mac, b"\x01" + mac, f"flood-port-{i}".encode(),
                            f"flood-sub-{i}".encode(), bytes([0, 3, 0, 1, 2, 0, 0x5E, 0x10, 0, i & 0xFF])))
    return out


def discover(who: Identity, giaddr: str, xid: int) -> Seed:
    return Seed("relayed-discover", RELAY,
                header(chaddr=who.mac, hops=1, xid=xid, giaddr=giaddr),
                ((53, bytes([DISCOVER])), (61, who.client_id), (57, struct.pack("!H", 1500)),
                 (12, f"flood{who.index}".encode()), (60, b"lessor-campaign"), (55, PRL_CLIENT),
                 (82, who.option82)))


def request_selecting(who: Identity, giaddr: str, server: str, address: str, xid: int) -> Seed:
    return Seed("relayed-request-selecting", RELAY,
                header(chaddr=who.mac, hops=1, xid=xid, giaddr=giaddr),
                ((53, bytes([REQUEST])), (61, who.client_id), (50, ip4(address)), (54, ip4(server)),
                 (12, f"flood{who.index}".encode()), (55, PRL_CLIENT), (82, who.option82)))


def seeds(ids: Sequence[Identity], *, server: str, giaddr: str, legacy: str,
          extra_query_ips: Sequence[str] = (), unassigned_ip: str = "", outside_ip: str = ""
          ) -> List[Seed]:
    """Every valid datagram the campaign mutates, for primed identities (each with an
    address): relayed and direct DHCP messages, RFC 4388 leasequeries by each key, the
    legacy requester's type-10 query, bulk/active types over UDP, and a BOOTREPLY."""
    out: List[Seed] = []
    sid = (54, ip4(server))
    for w in ids:
        assert w.address, "seeds are built for primed identities"
        a = w.address
        relayed = dict(chaddr=w.mac, hops=1, giaddr=giaddr)
        direct = dict(chaddr=w.mac)
        out += [
            discover(w, giaddr, 0),
            request_selecting(w, giaddr, server, a, 0),
            Seed("relayed-request-init-reboot", RELAY, header(**relayed),
                 ((53, bytes([REQUEST])), (61, w.client_id), (50, ip4(a)), (55, PRL_CLIENT),
                  (82, w.option82))),
            Seed("relayed-request-rebinding", RELAY, header(ciaddr=a, **relayed),
                 ((53, bytes([REQUEST])), (61, w.client_id), (55, PRL_CLIENT), (82, w.option82))),
            Seed("relayed-decline", RELAY, header(**relayed),
                 ((53, bytes([DECLINE])), (61, w.client_id), (50, ip4(a)), sid, (82, w.option82))),
            Seed("relayed-release", RELAY, header(ciaddr=a, **relayed),
                 ((53, bytes([RELEASE])), (61, w.client_id), sid, (82, w.option82))),
            Seed("relayed-inform", RELAY, header(ciaddr=a, **relayed),
                 ((53, bytes([INFORM])), (61, w.client_id), (55, PRL_CLIENT), (82, w.option82))),
            Seed("direct-request-renewing", CLIENT, header(ciaddr=a, **direct),
                 ((53, bytes([REQUEST])), (61, w.client_id), (55, PRL_CLIENT))),
            Seed("direct-release", CLIENT, header(ciaddr=a, **direct),
                 ((53, bytes([RELEASE])), (61, w.client_id), sid)),
            Seed("direct-inform", CLIENT, header(ciaddr=a, **direct),
                 ((53, bytes([INFORM])), (55, PRL_CLIENT))),
            Seed("direct-discover", CLIENT, header(flags=0x8000, **direct),
                 ((53, bytes([DISCOVER])), (61, w.client_id), (55, PRL_CLIENT))),
            Seed("lq-by-ip", LQ, header(ciaddr=a, giaddr=giaddr),
                 ((53, bytes([LEASEQUERY])), (55, PRL_QUERY))),
            Seed("lq-by-mac", LQ, header(chaddr=w.mac, giaddr=giaddr),
                 ((53, bytes([LEASEQUERY])), (55, PRL_QUERY))),
            Seed("lq-by-client-id", LQ, header(giaddr=giaddr, htype=0, hlen=0),
                 ((53, bytes([LEASEQUERY])), (61, w.client_id), (55, PRL_QUERY))),
            Seed("lq-by-remote-id", LQ, header(giaddr=giaddr, htype=0, hlen=0),
                 ((53, bytes([LEASEQUERY])), (82, sub_options((2, w.remote_id))), (55, PRL_QUERY))),
            Seed("lq-by-relay-id", LQ, header(giaddr=giaddr, htype=0, hlen=0),
                 ((53, bytes([LEASEQUERY])), (82, sub_options((12, w.relay_id))), (55, PRL_QUERY))),
            Seed("legacy-by-ip", LEGACY, header(ciaddr=a, giaddr=legacy),
                 ((53, bytes([LEASEQUERY])), (55, PRL_QUERY))),
        ]
    w = ids[0]
    for a in [x for x in (unassigned_ip, outside_ip, *extra_query_ips) if x]:
        out.append(Seed("lq-by-ip", LQ, header(ciaddr=a, giaddr=giaddr),
                        ((53, bytes([LEASEQUERY])), (55, PRL_QUERY))))
    out += [
        Seed("lq-bulk-over-udp", LQ, header(giaddr=giaddr, htype=0, hlen=0),
             ((53, bytes([BULKLEASEQUERY])), (82, sub_options((12, w.relay_id))))),
        Seed("lq-active-over-udp", LQ, header(giaddr=giaddr, htype=0, hlen=0),
             ((53, bytes([ACTIVELEASEQUERY])),)),
        Seed("lq-tls-over-udp", LQ, header(giaddr=giaddr, htype=0, hlen=0), ((53, bytes([TLS])),)),
        Seed("bootreply-offer", RELAY, header(op=2, chaddr=w.mac, giaddr=giaddr, yiaddr=w.address),
             ((53, bytes([OFFER])), sid, (51, struct.pack("!I", 60)))),
    ]
    return out


# ------------------------------------------------------------------ mutations

# (name, weight). Structural mutations act on the option list, field mutations on the
# header, byte mutations on the encoding.
STRUCTURAL = ("opt-insert", "opt-delete", "opt-duplicate", "opt-msgtype", "opt-overload",
              "opt-oversize")
FIELDS = ("field-op", "field-hw", "field-giaddr", "field-ciaddr", "field-chaddr", "field-flags",
          "field-cookie")
BYTES = ("bit-flip", "byte-set", "opt-length", "truncate", "extend")
WEIGHTS: Dict[str, int] = {
    "opt-insert": 6, "opt-delete": 6, "opt-duplicate": 5, "opt-msgtype": 4, "opt-overload": 2,
    "opt-oversize": 1,
    "field-op": 1, "field-hw": 2, "field-giaddr": 2, "field-ciaddr": 2, "field-chaddr": 3,
    "field-flags": 1, "field-cookie": 1,
    "bit-flip": 12, "byte-set": 10, "opt-length": 6, "truncate": 5, "extend": 4,
}
INTERESTING = (0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF)
# How many mutations one datagram gets (drawn uniformly from this list).
MUTATION_COUNTS = (1, 1, 1, 1, 2, 2, 2, 3, 3, 4, 6)
# Length of an inserted option (-1: any of 0..255).
OPTION_LENGTHS = (0, 1, 2, 4, 6, 16, -1)
MESSAGE_TYPES = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 255)
# Largest datagram sent whole on the campaign's 1500-octet links (no IP fragments): longer
# ones are cut there, except those opt-oversize makes longer than the server's receive slot.
MAX_DATAGRAM = 1472
# The server's receive buffer per datagram (lessor-net's DEFAULT_BUFFER): longer is truncated.
RECEIVE_SLOT = 8192
# Options the server reads (message type, identifiers, addresses, relay information, leasequery
# and size options): an inserted option is one of these half of the time.
KNOWN_CODES = (1, 3, 12, 50, 51, 52, 53, 54, 55, 57, 60, 61, 81, 82, 91, 92, 118, 151, 152, 255, 0)


@dataclass
class Mutator:
    """Seeded: the same seed and seed list give the same datagrams. Plain `random.Random`
    arithmetic (`random()` scaled, no `randrange`) and seeds encoded once: a few microseconds a
    datagram."""
    seeds: Sequence[Seed]
    seed: int = 1
    avoid_mac: Optional[bytes] = None
    made: int = 0
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self._names = list(WEIGHTS)
        # a table where each mutation appears as often as its weight: one random() picks one
        self._table = [i for i, n in enumerate(self._names) for _ in range(WEIGHTS[n])]
        self._kind = [0 if n in STRUCTURAL else 1 if n in FIELDS else 2 for n in self._names]
        self._encoded = [bytes(s.encode()) for s in self.seeds]
        self._seed_counts = [0] * len(self.seeds)
        self._mutation_counts = [0] * len(self._names)

    @property
    def by_seed(self) -> Dict[str, int]:
        out: Dict[str, int] = {}
        for s, n in zip(self.seeds, self._seed_counts):
            out[s.name] = out.get(s.name, 0) + n
        return out

    @property
    def by_mutation(self) -> Dict[str, int]:
        return dict(zip(self._names, self._mutation_counts))

    def _below(self, n: int) -> int:
        return int(self.rng.random() * n)

    def one(self) -> Tuple[str, bytes]:
        """(channel, datagram): one mutated datagram."""
        rnd = self.rng.random
        si = int(rnd() * len(self.seeds))
        seed = self.seeds[si]
        self._seed_counts[si] += 1
        table = self._table
        k = MUTATION_COUNTS[int(rnd() * len(MUTATION_COUNTS))]
        picked = sorted((table[int(rnd() * len(table))] for _ in range(k)),
                        key=self._kind.__getitem__)
        counts = self._mutation_counts
        data: bytearray
        if self._kind[picked[0]] == 0:
            opts: List[Option] = list(seed.options)
            i = 0
            while i < len(picked) and self._kind[picked[i]] == 0:
                counts[picked[i]] += 1
                self._structural(self._names[picked[i]], opts)
                i += 1
            data = bytearray(encode(seed.header, opts, pad_to=300 if rnd() < 0.3 else 0))
            picked = picked[i:]
        else:
            data = bytearray(self._encoded[si])
        if rnd() < 0.9:
            data[4:8] = self.rng.randbytes(4)
        for m in picked:
            counts[m] += 1
            if self._kind[m] == 1:
                self._field(self._names[m], data)
            else:
                self._bytes(self._names[m], data)
        if MAX_DATAGRAM < len(data) <= RECEIVE_SLOT:
            del data[MAX_DATAGRAM:]
        if self.avoid_mac is not None and data[28:34] == self.avoid_mac:
            data[33] ^= 0xFF
        self.made += 1
        return seed.channel, bytes(data)

    def batch(self, n: int) -> List[Tuple[str, bytes]]:
        one = self.one
        return [one() for _ in range(n)]

    # --- the mutations

    def _random_option(self) -> Option:
        rnd = self.rng.random
        code = KNOWN_CODES[int(rnd() * len(KNOWN_CODES))] if rnd() < 0.5 else int(rnd() * 256)
        n = OPTION_LENGTHS[int(rnd() * len(OPTION_LENGTHS))]
        if n < 0:
            n = int(rnd() * 256)
        return code, self.rng.randbytes(n)

    def _structural(self, m: str, opts: List[Option]) -> None:
        below = self._below
        if m == "opt-insert":
            opts.insert(below(len(opts) + 1), self._random_option())
        elif m == "opt-delete" and opts:
            del opts[below(len(opts))]
        elif m == "opt-duplicate" and opts:
            o = opts[below(len(opts))]
            opts.insert(below(len(opts) + 1), o)
        elif m == "opt-msgtype":
            t = MESSAGE_TYPES[below(len(MESSAGE_TYPES))]
            value = bytes([t]) if self.rng.random() < 0.9 else self.rng.randbytes(below(4))
            for i, (c, _) in enumerate(opts):
                if c == 53:
                    opts[i] = (53, value)
                    break
            else:
                opts.insert(0, (53, value))
        elif m == "opt-overload":
            # option 52 says `file`/`sname` hold options: they hold zeros or junk
            opts.insert(below(len(opts) + 1), (52, bytes([below(5)])))
        elif m == "opt-oversize":
            # long options: mostly up to an Ethernet frame, now and then past the server's
            # 8192-octet receive slot (then IP fragments, and a datagram counted as truncated)
            count = 40 if self.rng.random() < 0.1 else 1 + below(5)
            for _ in range(count):
                opts.append((1 + below(254), self.rng.randbytes(255)))

    def _field(self, m: str, data: bytearray) -> None:
        rng, below = self.rng, self._below
        if m == "field-op":
            data[0] = (0, 2, 3, 255)[below(4)]
        elif m == "field-hw":
            data[1] = (0, 1, 6, 32, 255)[below(5)]
            data[2] = (0, 1, 6, 16, 17, 255)[below(6)]
        elif m in ("field-giaddr", "field-ciaddr"):
            at = 24 if m == "field-giaddr" else 12
            r = below(4)
            data[at:at + 4] = (b"\0\0\0\0", b"\xff\xff\xff\xff", rng.randbytes(4),
                               bytes(data[at:at + 3]) + rng.randbytes(1))[r]
        elif m == "field-chaddr":
            n = 6 if rng.random() < 0.5 else 16
            data[28:28 + n] = rng.randbytes(n)
        elif m == "field-flags":
            data[10:12] = rng.randbytes(2)
        elif m == "field-cookie":
            data[HEADER_LEN + below(4)] = below(256)

    def _bytes(self, m: str, data: bytearray) -> None:
        rng, below = self.rng, self._below
        n = len(data)
        if m == "bit-flip" and n:
            data[below(n)] ^= 1 << below(8)
        elif m == "byte-set" and n:
            data[below(n)] = INTERESTING[below(len(INTERESTING))] if rng.random() < 0.5 else below(256)
        elif m == "opt-length":
            offsets = option_offsets(data)
            if offsets:
                i = offsets[below(len(offsets))]
                if i + 1 < n:
                    data[i + 1] = (0, 1, 255, below(256), (data[i + 1] + 1) & 0xFF)[below(5)]
        elif m == "truncate" and n:
            # mostly inside the options, sometimes inside the fixed header
            cut = 240 + below(n - 240) if n > 240 and rng.random() < 0.8 else below(n)
            del data[cut:]
        elif m == "extend":
            data += rng.randbytes((1, 4, 64, 1 + below(1200))[below(4)])


def option_offsets(data: bytes) -> List[int]:
    """Where each option (not pad, not end) of the options field starts."""
    out = []
    i, n = HEADER_LEN + 4, len(data)
    while i < n:
        code = data[i]
        if code == 255:
            break
        if code == 0:
            i += 1
            continue
        out.append(i)
        if i + 1 >= n:
            break
        i += 2 + data[i + 1]
    return out
