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


# Server targets (fuzz/src/lib.rs): records of [control][length u16][payload]. Control bits 0-1:
# 0 through the relay 198.51.100.1, 1 a client on the served link, 2 unicast from a client with
# an address, 3 a requester that is not a relay.
def record(control, payload):
    return bytes([control]) + struct.pack("!H", len(payload)) + payload


RELAY = bytes([198, 51, 100, 1])
SERVER = bytes([192, 0, 2, 1])
POOL0 = bytes([198, 51, 100, 100])
RAI = bytes([82, 14, 1, 3]) + b"c01" + bytes([2, 3]) + b"m01" + bytes([12, 2]) + b"r0"


def client(msgtype, giaddr=RELAY, ciaddr=b"\0\0\0\0", options=b""):
    return v4(1, msgtype, ciaddr=ciaddr, chaddr=MAC, giaddr=giaddr, options=options)


def lq(options=b"", ciaddr=b"\0\0\0\0", chaddr=b""):
    return v4(1, 10, ciaddr=ciaddr, chaddr=chaddr, giaddr=RELAY, options=options)


discover = client(1, options=bytes([55, 3, 1, 3, 6]) + RAI)
request = client(3, options=bytes([54, 4]) + SERVER + bytes([50, 4]) + POOL0 + RAI)
udp4_seeds = {
    # Relayed DORA, then a leasequery by IP, by MAC and by relay-id for it.
    "relayed_dora_then_queries": b"".join([
        record(0, discover), record(0, request),
        record(0, lq(ciaddr=POOL0, options=bytes([55, 2, 82, 91]))),
        record(0, lq(chaddr=MAC)),
        record(0, lq(options=bytes([82, 4, 12, 2]) + b"r0")),
    ]),
    # A direct client: DISCOVER, REQUEST, then a unicast RELEASE after a minute.
    "direct_dora_release": b"".join([
        record(1, client(1, giaddr=b"\0\0\0\0")),
        record(1, client(3, giaddr=b"\0\0\0\0",
                         options=bytes([54, 4]) + SERVER + bytes([50, 4, 192, 0, 2, 100]))),
        record(2 | 4 << 2, client(7, giaddr=b"\0\0\0\0", ciaddr=bytes([192, 0, 2, 100]),
                                  options=bytes([54, 4]) + SERVER)),
    ]),
    # An offer that lapses (the clock moves 61 s, the timer runs), a DECLINE, an INFORM.
    "lapse_decline_inform": b"".join([
        record(0, discover), record(0 | 4 << 2 | 0x20, discover), record(0, request),
        record(0, client(4, options=bytes([54, 4]) + SERVER + bytes([50, 4]) + POOL0)),
        record(2, client(8, giaddr=b"\0\0\0\0", ciaddr=bytes([203, 0, 113, 7]))),
    ]),
}
leasequery4_seeds = {
    "by_ip": b"\0" + lq(ciaddr=bytes([198, 51, 100, 101]), options=bytes([55, 3, 51, 82, 91])),
    "by_mac": b"\0" + lq(chaddr=bytes([2, 0, 0, 0, 0, 1])),
    "by_client_id": b"\0" + lq(options=bytes([61, 7, 1, 2, 0, 0, 0, 0, 2])),
    "by_remote_id": b"\0" + lq(options=bytes([82, 4, 2, 2]) + b"m1"),
    "by_relay_id": b"\0" + lq(options=bytes([82, 4, 12, 2]) + b"r1" + bytes([55, 2, 82, 92])),
}


def no_hardware(msg):
    """A query without a MAC has htype 0 too (RFC 6926 refuses a stray htype)."""
    return msg[:1] + b"\0" + msg[2:]


bulk_by_relay = no_hardware(v4(1, 14, giaddr=RELAY, options=bytes([82, 4, 12, 2]) + b"r1"))
bulk_by_remote = no_hardware(v4(1, 14, giaddr=RELAY, options=bytes([82, 4, 2, 2]) + b"m2"))
bulk_by_mac = v4(1, 14, chaddr=bytes([2, 0, 0, 0, 0, 3]), giaddr=RELAY, options=bytes([55, 3, 82, 91, 153]))
bulk_by_ip = no_hardware(v4(1, 10, ciaddr=bytes([198, 51, 100, 103]), giaddr=RELAY))
bulk4_seeds = {
    # RFC 6926: two queries in one segment, then writes, a tick, and the peer's close.
    "rfc6926_two_queries": b"".join([
        record(0, frame("rfc6926", bulk_by_relay) + frame("rfc6926", bulk_by_remote)),
        record(2 | 7 << 2, b""), record(3, b""), record(2 | 7 << 2, b""), record(0x80 | 2, b""),
    ]),
    "rfc6926_by_mac": record(0, frame("rfc6926", bulk_by_mac)) + record(2 | 7 << 2, b"") * 4,
    # The draft: a query by IP cut into small reads, small writes.
    "draft_by_ip_trickled": b"".join(
        [record(0, frame("draft", bulk_by_ip)[i:i + 3]) for i in range(0, len(frame("draft", bulk_by_ip)), 3)]
        + [record(2, b"")] * 8 + [record(0x80 | 3 | 6 << 2, b"")]),
}


# udp6: control bits 0-1: 0 through the relay 2001:db8::2, 1 a client multicasting on the served
# eth1, 2 a client unicasting, 3 multicast on an interface not served.
CLIENT_DUID = bytes.fromhex("00030001020000000001")
SERVER_DUID = bytes.fromhex("00020000ab1101020304")
IA_NA = v6_opt(3, struct.pack("!III", 1, 0, 0))
IA_PD = v6_opt(25, struct.pack("!III", 2, 0, 0))
ORO = v6_opt(6, struct.pack("!HHH", 23, 7, 32))


def relay_forw(inner, link=bytes.fromhex("20010db8000100000000000000000001"), hop=0):
    return (bytes([12, hop]) + link + bytes.fromhex("fe8000000000000000000000000000c1")
            + v6_opt(18, b"ge-0/0/1") + v6_opt(9, inner))


def c6(msgtype, *options):
    return v6(msgtype, v6_opt(1, CLIENT_DUID) + b"".join(options))


def leased_ia_na(addr):
    return v6_opt(3, struct.pack("!III", 1, 0, 0) + v6_opt(5, addr + struct.pack("!II", 0, 0)))


POOL6 = bytes.fromhex("20010db8000100000000000000001000")
SID = v6_opt(2, SERVER_DUID)
udp6_seeds = {
    # Relayed through two hops: SOLICIT, REQUEST, RENEW, RELEASE.
    "relayed_sarr_renew_release": b"".join([
        record(0, relay_forw(relay_forw(c6(1, IA_NA, IA_PD, ORO)), link=bytes(16), hop=1)),
        record(0, relay_forw(c6(3, SID, leased_ia_na(POOL6), IA_PD, ORO))),
        record(0 | 6 << 2, relay_forw(c6(5, SID, leased_ia_na(POOL6)))),
        record(0, relay_forw(c6(8, SID, leased_ia_na(POOL6)))),
    ]),
    # A direct client: Rapid Commit SOLICIT, CONFIRM, DECLINE, INFORMATION-REQUEST, a unicast
    # REQUEST (UseMulticast) and an advertisement that lapses.
    "direct_rapid_confirm_decline": b"".join([
        record(1, c6(1, IA_NA, v6_opt(14, b""))),
        record(1, c6(4, leased_ia_na(bytes.fromhex("20010db8000200000000000000000010")))),
        record(1, c6(9, SID, leased_ia_na(bytes.fromhex("20010db8000200000000000000000010")))),
        record(1, v6(11, ORO)),
        record(2, c6(3, SID, IA_NA)),
        record(0, relay_forw(c6(1, IA_NA))), record(0 | 4 << 2 | 0x20, relay_forw(c6(6, IA_NA))),
    ]),
}


# leasequery6: one control octet (bits 0-1 where from: 0 the relay 2001:db8:ff::1, 1-2 an allowed
# requester, 3 one not allowed; bit 2 NotAllowed replies), then one LEASEQUERY.
def lq6(query_type, link, *query_options, extra=b""):
    lq_query = v6_opt(44, bytes([query_type]) + link + b"".join(query_options))
    return v6(14, v6_opt(1, bytes.fromhex("00030001020000000099")) + lq_query + extra)


def iaaddr(addr):
    return v6_opt(5, addr + struct.pack("!II", 0, 0))


LINK1 = bytes.fromhex("20010db8000100000000000000000001")
leasequery6_seeds = {
    "by_address": bytes([1]) + lq6(1, bytes(16), iaaddr(bytes.fromhex("20010db8000100000000000000001001")),
                                   v6_opt(6, struct.pack("!HHH", 23, 24, 47))),
    "in_prefix_on_link": bytes([2]) + lq6(1, LINK1, iaaddr(bytes.fromhex("20010db8010002000001000000000007"))),
    "by_client_id_relayed": bytes([0]) + relay_forw(lq6(2, bytes(16), v6_opt(1, CLIENT_DUID),
                                                        v6_opt(6, struct.pack("!H", 47)), extra=SID)),
    "not_allowed_unknown_type": bytes([3 | 4]) + lq6(9, bytes(16)),
}

# relay6: control bits 0-1: 0 a client on eth1, 1 a relay below on eth2, 2 the server, 3 a
# stranger upstream; bit 5 wraps the payload in the server's RELAY-REPL to eth1 (bit 6: eth2).
def leased_ia_pd(prefix, length, valid):
    return v6_opt(25, struct.pack("!III", 2, 0, 0)
                  + v6_opt(26, struct.pack("!IIB", valid, valid, length) + prefix))


def ia_na_valid(addr, valid):
    return v6_opt(3, struct.pack("!III", 1, 0, 0) + v6_opt(5, addr + struct.pack("!II", valid, valid)))


PREFIX6 = bytes.fromhex("20010db8010000000000000000000000")
relay6_seeds = {
    # SOLICIT, REQUEST up; ADVERTISE, REPLY (IA_NA and IA_PD) down; RELEASE up and its REPLY.
    "sarr_release": b"".join([
        record(0, c6(1, IA_NA, IA_PD, ORO)),
        record(2 | 0x20, v6(2, v6_opt(1, CLIENT_DUID) + SID)),
        record(0, c6(3, SID, IA_NA, IA_PD)),
        record(2 | 0x20, v6(7, v6_opt(1, CLIENT_DUID) + SID + ia_na_valid(POOL6, 3600)
                           + leased_ia_pd(PREFIX6, 56, 7200))),
        record(0, v6(8, v6_opt(1, CLIENT_DUID) + SID + ia_na_valid(POOL6, 0))),
        record(2 | 0x20, v6(7, v6_opt(1, CLIENT_DUID) + SID + v6_opt(13, b"\0\0"))),
    ]),
    # A relay below on eth2, its RELAY-FORW and the server's two-level answer.
    "nested": b"".join([
        record(1, relay_forw(c6(5, SID, leased_ia_na(POOL6)))),
        record(2 | 0x20 | 0x40, bytes([13, 0]) + bytes(16) + bytes.fromhex("20010db8000900000000000000000001")
               + v6_opt(18, b"ge-0/0/1") + v6_opt(9, v6(7, v6_opt(1, CLIENT_DUID) + ia_na_valid(POOL6, 60)))),


# relay4 (fuzz_targets/relay4.rs): control bits 0-1: 0 a client on eth1 (untrusted), 2 on eth2
# (trusted), 1 or 3 the server 192.0.2.1 upstream. The relay's option 82 as the engine builds it
# for eth1 (circuit-id "eth1", remote-id "bng1", relay-id 00:04:01:02:03).
OURS = bytes([82, 19, 1, 4]) + b"eth1" + bytes([2, 4]) + b"bng1" + bytes([12, 5, 0, 4, 1, 2, 3])
GIADDR1 = bytes([198, 51, 100, 1])
BOUND = bytes([198, 51, 100, 7])


def reply(msgtype, options=b"", yiaddr=BOUND):
    m = bytearray(v4(2, msgtype, chaddr=MAC, giaddr=GIADDR1, options=options))
    m[16:20] = yiaddr
    return bytes(m)


relay4_seeds = {
    # DISCOVER, OFFER, REQUEST, ACK (gleaned), then the client's RELEASE.
    "dora_release": b"".join([
        record(0, v4(1, 1, chaddr=MAC, giaddr=b"\0\0\0\0")),
        record(1, reply(2, OURS)),
        record(0, v4(1, 3, chaddr=MAC, giaddr=b"\0\0\0\0", options=bytes([50, 4]) + BOUND)),
        record(1, reply(5, bytes([51, 4, 0, 0, 14, 16]) + OURS)),
        record(0 | 6 << 2, v4(1, 7, ciaddr=BOUND, chaddr=MAC, giaddr=b"\0\0\0\0")),
    ]),
    # A trusted bridge's option 82, a NAK, an expiry, a request of another relay.
    "trusted_nak_expiry": b"".join([
        record(2, v4(1, 1, chaddr=MAC, giaddr=b"\0\0\0\0", options=bytes([82, 3, 1, 1, 0x62]))),
        record(1, reply(5, bytes([51, 4, 0, 0, 0, 60]) + OURS)),
        record(1 | 4 << 2 | 0x20, reply(6, OURS, yiaddr=b"\0\0\0\0")),
        record(0, v4(1, 1, chaddr=MAC, giaddr=bytes([198, 18, 0, 1]))),
    ]),
}

for target, seeds in {"v4_parse": v4_seeds, "v6_parse": v6_seeds, "framing": framing_seeds,
                      "udp4": udp4_seeds, "leasequery4": leasequery4_seeds, "bulk4": bulk4_seeds,
                      "v4_index": v4_seeds, "udp6": udp6_seeds,
                      "leasequery6": leasequery6_seeds, "relay6": relay6_seeds,
                      "relay4": relay4_seeds}.items():
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
