"""DHCPv6 messages from a pcap, decoded from the UDP payload bytes (RFC 8415 §8, §9, §21):
relay hops with their options, the client's message, its DUIDs and IAs. Independent of the
server under test, so the checks compare what went over the wire with what a store holds.

tshark still judges the decode (`capture.check_decode`); this module only needs the bytes."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from . import capture

MSG = {1: "SOLICIT", 2: "ADVERTISE", 3: "REQUEST", 4: "CONFIRM", 5: "RENEW", 6: "REBIND", 7: "REPLY",
       8: "RELEASE", 9: "DECLINE", 10: "RECONFIGURE", 11: "INFORMATION-REQUEST", 12: "RELAY-FORW",
       13: "RELAY-REPL"}
CLIENTID, SERVERID, IA_NA, IA_TA, IAADDR, STATUS_CODE, RELAY_MSG = 1, 2, 3, 4, 5, 13, 9
INTERFACE_ID, RAPID_COMMIT, IA_PD, IAPREFIX = 18, 14, 25, 26


def options(b: bytes) -> List[Tuple[int, bytes]]:
    """(code, value) in wire order; a truncated option ends the list."""
    out, i = [], 0
    while i + 4 <= len(b):
        code, n = int.from_bytes(b[i:i + 2], "big"), int.from_bytes(b[i + 2:i + 4], "big")
        if i + 4 + n > len(b):
            break
        out.append((code, b[i + 4:i + 4 + n]))
        i += 4 + n
    return out


def first(opts: List[Tuple[int, bytes]], code: int) -> Optional[bytes]:
    return next((v for c, v in opts if c == code), None)


@dataclass
class Lease:
    """One address (prefix_len 128) or prefix of an IA in a message."""
    ia_type: str                   # "ia-na" / "ia-pd"
    iaid: int
    address: str
    prefix_len: int
    preferred: int
    valid: int
    t1: int
    t2: int

    @property
    def key(self) -> str:
        return self.address if self.prefix_len == 128 else f"{self.address}/{self.prefix_len}"


@dataclass
class Hop:
    """One RELAY-FORW / RELAY-REPL level."""
    msg_type: str
    hop_count: int
    link_address: str
    peer_address: str
    options: List[Tuple[int, bytes]]
    raw: bytes


@dataclass
class Message:
    src: str
    dst: str
    time: float
    raw: bytes
    sport: int = 0
    dport: int = 0
    hops: List[Hop] = field(default_factory=list)     # outermost first
    msg_type: str = "?"                               # the client's / server's message
    xid: int = 0
    options: List[Tuple[int, bytes]] = field(default_factory=list)

    @property
    def outer_type(self) -> str:
        return self.hops[0].msg_type if self.hops else self.msg_type

    @property
    def client_duid(self) -> Optional[bytes]:
        return first(self.options, CLIENTID)

    @property
    def server_duid(self) -> Optional[bytes]:
        return first(self.options, SERVERID)

    def interface_id(self) -> Optional[bytes]:
        """Option 18 of the hop nearest the client that has one."""
        for h in reversed(self.hops):
            v = first(h.options, INTERFACE_ID)
            if v is not None:
                return v
        return None

    def status(self) -> Optional[int]:
        v = first(self.options, STATUS_CODE)
        return int.from_bytes(v[:2], "big") if v and len(v) >= 2 else None

    def leases(self) -> List[Lease]:
        """Every IAADDR of every IA_NA and IAPREFIX of every IA_PD."""
        out = []
        for code, v in self.options:
            if code not in (IA_NA, IA_PD) or len(v) < 12:
                continue
            iaid, t1, t2 = (int.from_bytes(v[i:i + 4], "big") for i in (0, 4, 8))
            for sc, sv in options(v[12:]):
                if code == IA_NA and sc == IAADDR and len(sv) >= 24:
                    out.append(Lease("ia-na", iaid, str(ipaddress.IPv6Address(sv[:16])), 128,
                                     int.from_bytes(sv[16:20], "big"), int.from_bytes(sv[20:24], "big"), t1, t2))
                elif code == IA_PD and sc == IAPREFIX and len(sv) >= 25:
                    out.append(Lease("ia-pd", iaid, str(ipaddress.IPv6Address(sv[9:25])), sv[8],
                                     int.from_bytes(sv[0:4], "big"), int.from_bytes(sv[4:8], "big"), t1, t2))
        return out

    def ia_status(self) -> Dict[Tuple[str, int], Optional[int]]:
        """(ia type, iaid) -> the status code inside that IA (None when absent = Success)."""
        out = {}
        for code, v in self.options:
            if code in (IA_NA, IA_PD) and len(v) >= 12:
                st = first(options(v[12:]), STATUS_CODE)
                out[("ia-na" if code == IA_NA else "ia-pd", int.from_bytes(v[:4], "big"))] = \
                    int.from_bytes(st[:2], "big") if st and len(st) >= 2 else None
        return out


def decode(payload: bytes, src: str = "", dst: str = "", time: float = 0.0, sport: int = 0,
           dport: int = 0) -> Message:
    m = Message(src, dst, time, payload, sport, dport)
    b = payload
    for _ in range(34):                  # RFC 8415 HOP_COUNT_LIMIT 32, bounded
        if len(b) < 4:
            return m
        t = b[0]
        if t in (12, 13):
            if len(b) < 34:
                return m
            opts = options(b[34:])
            m.hops.append(Hop(MSG[t], b[1], str(ipaddress.IPv6Address(b[2:18])),
                              str(ipaddress.IPv6Address(b[18:34])), opts, b))
            inner = first(opts, RELAY_MSG)
            if inner is None:
                return m
            b = inner
            continue
        m.msg_type = MSG.get(t, str(t))
        m.xid = int.from_bytes(b[1:4], "big")
        m.options = options(b[4:])
        return m
    return m


def messages(pcap: Path, display_filter: str = "dhcpv6") -> List[Message]:
    """Every DHCPv6 datagram of pcap, decoded, in capture order."""
    rows = capture.fields(pcap, ["frame.time_epoch", "ipv6.src", "ipv6.dst", "udp.srcport", "udp.dstport",
                                 "udp.payload"], display_filter)
    out = []
    for r in rows:
        if len(r) < 6 or not r[5]:
            continue
        out.append(decode(bytes.fromhex(r[5].replace(":", "")), r[1], r[2], float(r[0]), int(r[3]), int(r[4])))
    return out


def without_client_message(hop0_raw: bytes) -> bytes:
    """The outermost relay message re-encoded with the innermost RELAY_MSG option removed, as
    docs/protocol.md has the store keep a relay chain (every hop's header and other options
    kept in order)."""
    def strip(b: bytes) -> bytes:
        out = bytearray(b[:34])
        for code, v in options(b[34:]):
            if code == RELAY_MSG:
                if v and v[0] in (12, 13):
                    v = strip(v)
                else:
                    continue
            out += code.to_bytes(2, "big") + len(v).to_bytes(2, "big") + v
        return bytes(out)
    return strip(hop0_raw)
