#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/corpus/ (run from anywhere; output is deterministic).

Seeds are a few valid messages, hand-built from the RFC layouts so that they do not depend on
the codecs under test: DHCPv4 leasequeries (RFC 4388, RFC 6926), DHCPv6 leasequeries (RFC 5007,
RFC 5460), and for `framing` those messages framed in each dialect behind the target's 4-octet
control prefix (max message size, chunking seed).
"""
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus")


def v4(op, msgtype, ciaddr=b"\0\0\0\0", chaddr=b"", giaddr=bytes([192, 0, 2, 1]), options=b""):
    chaddr = chaddr.ljust(16, b"\0")
    hdr = struct.pack("!BBBBIHH", op, 1, 6 if chaddr.strip(b"\0") else 0, 0, 0x12345678, 0, 0)
    hdr += ciaddr + b"\0" * 4 + b"\0" * 4 + giaddr + chaddr + b"\0" * 64 + b"\0" * 128
    assert len(hdr) == 236
    return hdr + bytes([99, 130, 83, 99]) + bytes([53, 1, msgtype]) + options + b"\xff"


def v6_opt(code, data):
    return struct.pack("!HH", code, len(data)) + data


def v6(msgtype, options):
    return bytes([msgtype]) + b"\x00\x12\x34" + options


DUID = bytes.fromhex("0001000100000001020304050607")
ADDR6 = bytes.fromhex("20010db8000000000000000000000001")
LINK6 = bytes.fromhex("20010db8000000000000000000000000")
MAC = bytes.fromhex("020000000001")

v4_seeds = {
    # RFC 4388 query by IP address.
    "lq_by_ip": v4(1, 10, ciaddr=bytes([192, 0, 2, 10])),
    # RFC 4388 query by MAC, asking for options 82 and 91 (parameter request list).
    "lq_by_mac": v4(1, 10, chaddr=MAC, options=bytes([55, 2, 82, 91])),
    # RFC 6926 bulk query by relay-id (option 82 with only sub-option 12).
    "bulk_by_relay_id": v4(1, 14, options=bytes([82, 6, 12, 4, 1, 2, 3, 4])),
    # A reply: DHCPLEASEACTIVE with lease time, client-last-transaction-time, option 82 and dhcp-state ACTIVE.
    "lease_active": v4(
        2, 13, ciaddr=bytes([192, 0, 2, 10]), chaddr=MAC,
        options=bytes([51, 4, 0, 0, 14, 16, 91, 4, 0, 0, 0, 30,
                       82, 8, 1, 2, 0, 1, 2, 2, 0, 2, 156, 1, 2]),
    ),
}

v6_seeds = {
    # RFC 5007 QUERY_BY_ADDRESS: LQ_QUERY(query-type 1, link-address, IAADDR) + CLIENTID.
    "lq_by_address": v6(14, v6_opt(1, DUID) + v6_opt(
        44, bytes([1]) + LINK6 + v6_opt(5, ADDR6 + b"\0" * 8))),
    # RFC 5007 QUERY_BY_CLIENTID.
    "lq_by_clientid": v6(14, v6_opt(1, DUID) + v6_opt(
        44, bytes([2]) + b"\0" * 16 + v6_opt(1, DUID))),
    # RFC 5460 QUERY_BY_RELAY_ID.
    "bulk_by_relay_id": v6(14, v6_opt(1, DUID) + v6_opt(
        44, bytes([3]) + b"\0" * 16 + v6_opt(53, DUID))),
    # LEASEQUERY-DONE with status Success.
    "lq_done": v6(16, v6_opt(13, b"\0\0")),
}


def frame(dialect, msg):
    size = struct.pack("!H", len(msg))
    return size + (b"\0\0" if dialect == "draft" else b"") + msg


framing_seeds = {}
for ctl_name, ctl in {"max1500_bytewise": b"\x05\xdc\x00\x00", "max65535_mixed": b"\xff\xff\x12\x34"}.items():
    framing_seeds[f"draft_{ctl_name}"] = ctl + b"".join(
        frame("draft", m) for m in (v4_seeds["lq_by_ip"], v4_seeds["lease_active"]))
    framing_seeds[f"rfc6926_{ctl_name}"] = ctl + b"".join(
        frame("rfc6926", m) for m in (v4_seeds["bulk_by_relay_id"], v4_seeds["lease_active"]))
    framing_seeds[f"v6_{ctl_name}"] = ctl + b"".join(
        frame("v6", m) for m in v6_seeds.values())
# Short frames and a truncated one.
framing_seeds["tiny_frames"] = b"\x00\x10\x00\x01" + b"\x00\x01\x01\x00\x02\x01\x02\x00\x05\x01"

for target, seeds in {"v4_parse": v4_seeds, "v6_parse": v6_seeds, "framing": framing_seeds}.items():
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
