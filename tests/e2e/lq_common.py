"""Helpers shared by the leasequery end-to-end tests (test_leasequery_*.py)."""
from __future__ import annotations

import ipaddress
from typing import Dict


def dhcp_options(bootp_hex: str) -> Dict[int, bytes]:
    """code -> raw value bytes of a BOOTP/DHCP message (fixed header, cookie,
    options; instances of one code concatenated as RFC 3396 says)."""
    b = bytes.fromhex(bootp_hex.replace(":", ""))
    assert b[236:240] == b"\x63\x82\x53\x63", "no DHCP magic cookie"
    i, out = 240, {}
    while i < len(b):
        code = b[i]
        if code == 255:
            break
        if code == 0:
            i += 1
            continue
        n = b[i + 1]
        out[code] = out.get(code, b"") + b[i + 2:i + 2 + n]
        i += 2 + n
    return out


def u32(v: bytes) -> int:
    assert len(v) == 4, v
    return int.from_bytes(v, "big")


def ips(v: bytes) -> list:
    assert len(v) % 4 == 0, v
    return [str(ipaddress.IPv4Address(v[i:i + 4])) for i in range(0, len(v), 4)]


def subopt(code: int, value: bytes) -> bytes:
    return bytes([code, len(value)]) + value


def agent(*subs) -> bytes:
    """Raw option 82 value from (code, value) sub-options, in order."""
    return b"".join(subopt(c, v) for c, v in subs)
