#!/usr/bin/env python3
"""Build DHCPv4/DHCPv6 leasequery test vectors with Scapy and check them.

Writes one .bin per message (raw DHCP payload: v4 from `op`, v6 from `msg-type`,
no IP/UDP headers) and vectors.json (expected decoded fields) into the directory
holding this script.  Deterministic: fixed xids, addresses, DUID times; rerunning
reproduces the same bytes.  Every .bin is re-parsed with Scapy (and with a small
independent TLV walker) and compared against the manifest before anything is
reported; any mismatch aborts with a non-zero exit status.

Usage: python3 crates/wire/tests/vectors/make_vectors.py [--pcap FILE]
  --pcap FILE  also write all vectors wrapped in Ether/IP(v6)/UDP to FILE
               (for a tshark cross-check; not checked in).
"""
import ipaddress
import json
import os
import struct
import sys

import scapy
import scapy.layers.dhcp6
from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.dhcp6 import (
    DHCP6, DHCP6_RelayForward, DHCP6_Solicit, DHCP6_Request, DUID_LLT, DUID_LL,
    DUID_EN, DHCP6OptClientId, DHCP6OptServerId, DHCP6OptIA_NA, DHCP6OptIAAddress,
    DHCP6OptIA_PD, DHCP6OptIAPrefix, DHCP6OptOptReq, DHCP6OptElapsedTime,
    DHCP6OptRelayMsg, DHCP6OptIfaceId, DHCP6OptRemoteID, DHCP6OptLQClientLink,
    DHCP6OptUnknown, dhcp6opts_by_code,
)

OUT = os.path.dirname(os.path.abspath(__file__))
MAGIC = bytes.fromhex("63825363")


def ip4(s):
    return ipaddress.IPv4Address(s).packed


def ip6(s):
    return ipaddress.IPv6Address(s).packed


def mac(s):
    return bytes.fromhex(s.replace(":", ""))


def u32(v):
    return struct.pack("!I", v)


# ---------------------------------------------------------------------------
# DHCPv4
# ---------------------------------------------------------------------------

class V4Opt:
    """One option instance as it will appear on the wire.

    scapy_item: what is handed to Scapy's DHCP(options=[...]).
    value:      the option value we expect on the wire (encoded by us, independently).
    decoded:    decoded fields for the manifest (only for whole options).
    built_by:   "scapy" if Scapy's named option encoder produced it,
                "raw" if we handed Scapy (code, bytes) because it has no encoder.
    """

    def __init__(self, code, scapy_item, value, decoded=None, built_by="scapy", field="options"):
        self.code, self.scapy_item, self.value = code, scapy_item, value
        self.decoded = decoded or {}
        self.built_by, self.field = built_by, field


def o_msgtype(t):
    return V4Opt(53, ("message-type", t), bytes([t]), {"value": t})


def o_server_id(a):
    return V4Opt(54, ("server_id", a), ip4(a), {"address": a})


def o_prl(codes):
    return V4Opt(55, ("param_req_list", codes), bytes(codes), {"codes": list(codes)})


def o_u32(code, v):
    name = {51: "lease_time", 58: "renewal_time", 59: "rebinding_time",
            91: "client-last-transaction-time"}[code]
    return V4Opt(code, (name, v), u32(v), {"u32": v})


def o_client_id(b):
    return V4Opt(61, ("client_id", b), b)


def o_assoc_ip(addrs):
    return V4Opt(92, ("associated-ip", *addrs), b"".join(ip4(a) for a in addrs),
                 {"addresses": list(addrs)})


def o_overload(v):
    return V4Opt(52, ("dhcp-option-overload", v), bytes([v]), {"value": v})


def o_rai(subs):
    """Option 82. Scapy only knows it as an opaque string: sub-options are raw bytes."""
    raw = b"".join(bytes([c, len(v)]) + v for c, v in subs)
    return V4Opt(82, (82, raw), raw,
                 {"suboptions": [{"code": c, "hex": v.hex()} for c, v in subs]},
                 built_by="raw")


def o_raw(code, value, field="options"):
    return V4Opt(code, (code, value), value, built_by="raw", field=field)


def v4_decode_value(code, value):
    """Independent decoding of a (whole / concatenated) option value -> manifest fields."""
    if code in (52, 53):
        return {"value": value[0]}
    if code == 54:
        return {"address": str(ipaddress.IPv4Address(value))}
    if code == 55:
        return {"codes": list(value)}
    if code in (51, 58, 59, 91):
        return {"u32": struct.unpack("!I", value)[0]}
    if code == 92:
        assert len(value) % 4 == 0
        return {"addresses": [str(ipaddress.IPv4Address(value[i:i + 4])) for i in range(0, len(value), 4)]}
    if code == 82:
        subs, i = [], 0
        while i < len(value):
            c, n = value[i], value[i + 1]
            subs.append({"code": c, "hex": value[i + 2:i + 2 + n].hex()})
            i += 2 + n
        assert i == len(value)
        return {"suboptions": subs}
    return {}


def options_area(opts, size=None):
    """Encode an options area with Scapy's DHCP option encoder (plus end, pad to size)."""
    b = bytes(DHCP(options=[o.scapy_item for o in opts] + ["end"]))
    if size is not None:
        assert len(b) <= size
        b += b"\x00" * (size - len(b))
    return b


V4_XID = 0x4C510001  # "LQ" + counter; each vector adds its index
V4_GIADDR = "198.51.100.1"        # the requestor (access concentrator)
V4_SERVER = "203.0.113.1"         # the DHCP server
CLIENT_MAC = "02:00:00:00:00:01"
CLIENT_ID = b"\x01" + mac(CLIENT_MAC)   # type 1 (Ethernet) + MAC
REMOTE_ID = b"subscriber-0001"
CIRCUIT_ID = b"ge-0/0/1.100"
RELAY_ID_DUID = bytes.fromhex("0003" "0001") + mac("02:00:00:00:00:fe")  # DUID-LL of the relay (RFC 6925)
LINK_SELECTION = "192.0.2.0"


def v4_vectors():
    lq_prl = o_prl([51, 58, 59, 82, 91, 92, 61])
    active_opts = [
        o_msgtype(13), o_u32(51, 3600), o_u32(58, 1800), o_u32(59, 3150),
        o_server_id(V4_SERVER), o_client_id(CLIENT_ID),
        o_rai([(1, CIRCUIT_ID), (2, REMOTE_ID), (5, ip4(LINK_SELECTION)), (12, RELAY_ID_DUID)]),
        o_u32(91, 120), o_assoc_ip(["192.0.2.10", "192.0.2.11"]),
    ]
    many = ["198.51.100.%d" % i for i in range(10, 80)]  # 70 addresses = 280 octets
    many_raw = b"".join(ip4(a) for a in many)
    overload_options = [o_msgtype(13), o_server_id(V4_SERVER), o_overload(3)]
    overload_file = [o_u32(51, 3600), o_u32(58, 1800), o_u32(59, 3150), o_u32(91, 120),
                     o_assoc_ip(["192.0.2.10", "192.0.2.11"])]
    overload_sname = [o_client_id(CLIENT_ID), o_rai([(1, CIRCUIT_ID), (2, REMOTE_ID)])]
    for o in overload_file:
        o.field = "file"
    for o in overload_sname:
        o.field = "sname"
    zero = dict(htype=0, hlen=0, chaddr="")
    eth = dict(htype=1, hlen=6, chaddr=CLIENT_MAC)
    return [
        dict(file="v4_lq_by_ip.bin",
             description="DHCPLEASEQUERY by IP address: ciaddr=192.0.2.10, giaddr set, htype/hlen/chaddr zero, PRL 51,58,59,82,91,92,61 (RFC 4388 6.1)",
             op=1, ciaddr="192.0.2.10", **zero, opts=[o_msgtype(10), lq_prl]),
        dict(file="v4_lq_by_mac.bin",
             description="DHCPLEASEQUERY by MAC address: htype=1 hlen=6 chaddr=02:00:00:00:00:01, ciaddr zero",
             op=1, **eth, opts=[o_msgtype(10), lq_prl]),
        dict(file="v4_lq_by_client_id.bin",
             description="DHCPLEASEQUERY by client-identifier: option 61 = 01 + MAC, ciaddr and htype/hlen/chaddr zero",
             op=1, **zero, opts=[o_msgtype(10), o_client_id(CLIENT_ID), lq_prl]),
        dict(file="v4_lq_by_remote_id.bin",
             description="DHCPLEASEQUERY by remote-id (RFC 6148 style): option 82 carrying only sub-option 2",
             op=1, **zero, opts=[o_msgtype(10), o_rai([(2, REMOTE_ID)]), lq_prl]),
        dict(file="v4_lq_by_relay_id.bin",
             description="DHCPLEASEQUERY by relay-id: option 82 carrying only sub-option 12 (RFC 6925, a DUID-LL)",
             op=1, **zero, opts=[o_msgtype(10), o_rai([(12, RELAY_ID_DUID)]), lq_prl]),
        dict(file="v4_lease_active.bin",
             description="DHCPLEASEACTIVE answering v4_lq_by_ip: ciaddr=192.0.2.10, client MAC, options 53,51,58,59,54,61,82(1,2,5,12),91,92(two addresses)",
             op=2, ciaddr="192.0.2.10", **eth, xid_of=0, opts=active_opts),
        dict(file="v4_lease_unassigned.bin",
             description="DHCPLEASEUNASSIGNED: ciaddr=192.0.2.20 only, options 53 and 54 (server identifier) only",
             op=2, ciaddr="192.0.2.20", **zero, opts=[o_msgtype(11), o_server_id(V4_SERVER)]),
        dict(file="v4_lease_unknown.bin",
             description="DHCPLEASEUNKNOWN: all addresses except giaddr zero, options 53 and 54 only",
             op=2, **zero, opts=[o_msgtype(12), o_server_id(V4_SERVER)]),
        dict(file="v4_lease_active_split_option.bin",
             description="DHCPLEASEACTIVE whose associated-ip (92) holds 70 addresses (280 octets), split per RFC 3396 into two instances of 255 + 25 octets (split falls inside an address: concatenate before decoding)",
             op=2, ciaddr="198.51.100.10", **eth,
             opts=[o_msgtype(13), o_server_id(V4_SERVER), o_u32(51, 3600),
                   o_raw(92, many_raw[:255]), o_raw(92, many_raw[255:])],
             merged_decoded={92: {"addresses": many}}),
        dict(file="v4_lease_active_overload.bin",
             description="DHCPLEASEACTIVE using option overload (52 = 3): options field holds 53,54,52; file holds 51,58,59,91,92; sname holds 61,82; each area ends with 255 and is zero padded (RFC 2131 4.1, RFC 2132 9.3)",
             op=2, ciaddr="192.0.2.10", **eth,
             opts=overload_options + overload_file + overload_sname,
             file_opts=overload_file, sname_opts=overload_sname),
    ]


def build_v4(i, v):
    xid = V4_XID + v.get("xid_of", i)
    opts_field = [o for o in v["opts"] if o.field == "options"]
    kw = {}
    if "file_opts" in v:
        kw["file"] = options_area(v["file_opts"], 128)
        kw["sname"] = options_area(v["sname_opts"], 64)
    pkt = BOOTP(op=v["op"], htype=v["htype"], hlen=v["hlen"], hops=0, xid=xid, secs=0, flags=0,
                ciaddr=v.get("ciaddr", "0.0.0.0"), yiaddr="0.0.0.0", siaddr="0.0.0.0",
                giaddr=V4_GIADDR, chaddr=mac(v["chaddr"]) if v["chaddr"] else b"", **kw) \
        / DHCP(options=[o.scapy_item for o in opts_field] + ["end"])
    data = bytes(pkt)

    # merged (RFC 3396) values in order of first appearance; order of areas: options, file, sname
    merged = {}
    for o in v["opts"]:
        merged.setdefault(o.code, b"")
        merged[o.code] += o.value
    counts = {c: sum(1 for o in v["opts"] if o.code == c) for c in merged}
    md = v.get("merged_decoded", {})

    def opt_entry(o):
        e = {"code": o.code, "len": len(o.value), "hex": o.value.hex(), "field": o.field,
             "built_by": o.built_by}
        if counts[o.code] == 1:
            e.update(v4_decode_value(o.code, o.value))
        return e

    man = {
        "file": v["file"], "description": v["description"], "built_by": "scapy",
        "length": len(data),
        "op": v["op"], "htype": v["htype"], "hlen": v["hlen"], "hops": 0, "xid": xid,
        "secs": 0, "flags": 0,
        "ciaddr": v.get("ciaddr", "0.0.0.0"), "yiaddr": "0.0.0.0", "siaddr": "0.0.0.0",
        "giaddr": V4_GIADDR,
        "chaddr": mac(v["chaddr"]).hex() if v["chaddr"] else "",
        "sname_hex": kw["sname"].hex() if "sname" in kw else "",
        "file_hex": kw["file"].hex() if "file" in kw else "",
        "message_type": merged[53][0],
        "options": [opt_entry(o) for o in v["opts"]],
        "merged_options": [dict({"code": c, "len": len(b), "hex": b.hex()},
                                **(md.get(c) or v4_decode_value(c, b))) for c, b in merged.items()],
    }
    return data, man, pkt


def walk_v4_area(area, field, out):
    """Independent TLV walk of one options area; returns True at 'end'."""
    i = 0
    while i < len(area):
        c = area[i]
        if c == 0:
            i += 1
            continue
        if c == 255:
            assert all(b == 0 for b in area[i + 1:]), "non-pad after end in %s" % field
            return
        n = area[i + 1]
        out.append((c, area[i + 2:i + 2 + n], field))
        i += 2 + n
    raise AssertionError("no end option in %s" % field)


def check_v4(data, man):
    # 1. independent walk of the fixed header and options
    assert data[0] == man["op"] and data[1] == man["htype"] and data[2] == man["hlen"]
    assert struct.unpack("!I", data[4:8])[0] == man["xid"]
    for off, k in ((12, "ciaddr"), (16, "yiaddr"), (20, "siaddr"), (24, "giaddr")):
        assert str(ipaddress.IPv4Address(data[off:off + 4])) == man[k], k
    assert data[28:28 + man["hlen"]].hex() == man["chaddr"]
    assert data[28 + man["hlen"]:44] == b"\x00" * (16 - man["hlen"])
    assert data[236:240] == MAGIC
    got = []
    walk_v4_area(data[240:], "options", got)
    if man["file_hex"]:
        walk_v4_area(data[108:236], "file", got)
        walk_v4_area(data[44:108], "sname", got)
    else:
        assert data[44:236] == b"\x00" * 192
    want = [(o["code"], bytes.fromhex(o["hex"]), o["field"]) for o in man["options"]]
    assert got == want, (got, want)

    # 2. Scapy's own parse
    p = BOOTP(data)
    assert p.op == man["op"] and p.htype == man["htype"] and p.hlen == man["hlen"]
    assert p.xid == man["xid"] and p.ciaddr == man["ciaddr"] and p.giaddr == man["giaddr"]
    assert p.chaddr[:man["hlen"]].hex() == man["chaddr"]
    sp = p[DHCP].options
    if isinstance(sp[-1], bytes):
        # Scapy's parser stops at an option it cannot decode (a 255-octet part of a split
        # associated-ip is not a multiple of 4; Scapy has no RFC 3396 concatenation) and
        # returns the rest raw: that rest must be exactly the remaining options + end.
        k = len(sp) - 1
        rest = b"".join(bytes([o["code"], o["len"]]) + bytes.fromhex(o["hex"])
                        for o in man["options"][k:] if o["field"] == "options") + b"\xff"
        assert sp[-1] == rest, (sp[-1], rest)
        sp = sp[:-1] + [(o["code"], bytes.fromhex(o["hex"])) for o in man["options"][k:]] + ["end"]
    assert sp[-1] == "end"
    areas = [sp[:-1]]
    if man["file_hex"]:
        areas.append([x for x in DHCP(p.file).options if x not in ("end", "pad")])
        areas.append([x for x in DHCP(p.sname).options if x not in ("end", "pad")])
    scapy_opts = [x for a in areas for x in a]
    assert len(scapy_opts) == len(man["options"]), scapy_opts
    for so, mo in zip(scapy_opts, man["options"]):
        name, vals = so[0], so[1:]
        if "u32" in mo:
            assert vals == (mo["u32"],), (so, mo)
        elif "addresses" in mo:
            assert list(vals) == mo["addresses"], (so, mo)
        elif "codes" in mo:
            assert list(vals[0]) == mo["codes"], (so, mo)
        elif "address" in mo:
            assert vals == (mo["address"],), (so, mo)
        elif "value" in mo:
            assert vals == (mo["value"],), (so, mo)
        else:  # opaque to Scapy (61, 82, raw split parts): compare bytes
            assert vals[0] == bytes.fromhex(mo["hex"]), (so, mo)
    return p.summary()


# ---------------------------------------------------------------------------
# DHCPv6
# ---------------------------------------------------------------------------

def duid_fields(duid):
    t = struct.unpack("!H", duid[:2])[0]
    if t == 1:
        return {"type": 1, "hw_type": struct.unpack("!H", duid[2:4])[0],
                "time": struct.unpack("!I", duid[4:8])[0], "lladdr": duid[8:].hex()}
    if t == 2:
        return {"type": 2, "enterprise_number": struct.unpack("!I", duid[2:6])[0],
                "identifier": duid[6:].hex()}
    if t == 3:
        return {"type": 3, "hw_type": struct.unpack("!H", duid[2:4])[0], "lladdr": duid[4:].hex()}
    return {"type": t, "hex": duid[2:].hex()}


class N:
    """A DHCPv6 option node: the Scapy object plus its manifest entry."""

    def __init__(self, scapy_obj, entry):
        self.obj, self.entry = scapy_obj, entry


def _entry(code, obj, built_by="scapy", **fields):
    raw = bytes(obj)
    assert struct.unpack("!H", raw[:2])[0] == code
    n = struct.unpack("!H", raw[2:4])[0]
    assert len(raw) == 4 + n
    e = {"code": code, "len": n, "hex": raw[4:].hex(), "built_by": built_by}
    e.update(fields)
    return e


def chain(nodes):
    """Scapy options are chained as payloads: a / b / c."""
    p = None
    for n in nodes:
        p = n.obj if p is None else p / n.obj
    return p


def raw_opts(nodes):
    return b"".join(bytes(n.obj) for n in nodes)


def opt_clientid(duid_obj, server=False):
    cls, code = (DHCP6OptServerId, 2) if server else (DHCP6OptClientId, 1)
    o = cls(duid=duid_obj)
    return N(o, _entry(code, o, duid=duid_fields(bytes(duid_obj))))


def opt_relay_id(duid_obj):
    # OPTION_RELAY_ID (53, RFC 5460) is unknown to Scapy 2.8: DUID encoded by Scapy, option by hand.
    o = DHCP6OptUnknown(optcode=53, data=bytes(duid_obj))
    return N(o, _entry(53, o, built_by="raw", duid=duid_fields(bytes(duid_obj))))


def opt_elapsed(v):
    o = DHCP6OptElapsedTime(elapsedtime=v)
    return N(o, _entry(8, o, elapsed_time=v))


def opt_oro(codes):
    o = DHCP6OptOptReq(reqopts=codes)
    return N(o, _entry(6, o, codes=list(codes)))


def opt_iaaddr(addr, pref, valid, children=()):
    o = DHCP6OptIAAddress(addr=addr, preflft=pref, validlft=valid, iaaddropts=[n.obj for n in children])
    return N(o, _entry(5, o, address=addr, preferred_lifetime=pref, valid_lifetime=valid,
                       options=[n.entry for n in children]))


def opt_ia_na(iaid, t1, t2, children):
    o = DHCP6OptIA_NA(iaid=iaid, T1=t1, T2=t2, ianaopts=[n.obj for n in children])
    return N(o, _entry(3, o, iaid=iaid, t1=t1, t2=t2, options=[n.entry for n in children]))


def opt_iaprefix(prefix, plen, pref, valid):
    o = DHCP6OptIAPrefix(prefix=prefix, plen=plen, preflft=pref, validlft=valid)
    return N(o, _entry(26, o, preferred_lifetime=pref, valid_lifetime=valid, prefix_length=plen,
                       prefix=prefix, options=[]))


def opt_ia_pd(iaid, t1, t2, children):
    o = DHCP6OptIA_PD(iaid=iaid, T1=t1, T2=t2, iapdopt=[n.obj for n in children])
    return N(o, _entry(25, o, iaid=iaid, t1=t1, t2=t2, options=[n.entry for n in children]))


def opt_iface_id(b):
    o = DHCP6OptIfaceId(ifaceid=b)
    return N(o, _entry(18, o, interface_id=b.hex()))


def opt_remote_id(ent, rid):
    o = DHCP6OptRemoteID(enterprisenum=ent, remoteid=rid)
    return N(o, _entry(37, o, enterprise_number=ent, remote_id=rid.hex()))


def opt_relay_msg(msg):
    o = DHCP6OptRelayMsg(message=msg.obj)
    return N(o, _entry(9, o, message=msg.entry))


def opt_lq_query(qtype, link, children):
    # OPTION_LQ_QUERY (44) unknown to Scapy 2.8: header by hand, query-options encoded by Scapy.
    o = DHCP6OptUnknown(optcode=44, data=bytes([qtype]) + ip6(link) + raw_opts(children))
    return N(o, _entry(44, o, built_by="raw", query_type=qtype, link_address=link,
                       options=[n.entry for n in children]))


def opt_client_data(children):
    o = DHCP6OptUnknown(optcode=45, data=raw_opts(children))
    return N(o, _entry(45, o, built_by="raw", options=[n.entry for n in children]))


def opt_clt_time(secs):
    o = DHCP6OptUnknown(optcode=46, data=u32(secs))
    return N(o, _entry(46, o, built_by="raw", seconds=secs))


def opt_lq_relay_data(peer, msg):
    o = DHCP6OptUnknown(optcode=47, data=ip6(peer) + bytes(msg.obj))
    return N(o, _entry(47, o, built_by="raw", peer_address=peer, message=msg.entry))


def opt_lq_client_link(links):
    o = DHCP6OptLQClientLink(linkaddress=links)
    return N(o, _entry(48, o, link_addresses=list(links)))


def msg_client(cls, msgtype, trid, children, built_by="scapy"):
    o = cls(msgtype=msgtype, trid=trid) / chain(children) if children else cls(msgtype=msgtype, trid=trid)
    return N(o, {"msg_type": msgtype, "built_by": built_by, "transaction_id": trid,
                 "options": [n.entry for n in children]})


def msg_relay(hop, link, peer, children):
    o = DHCP6_RelayForward(hopcount=hop, linkaddr=link, peeraddr=peer) / chain(children) \
        if children else DHCP6_RelayForward(hopcount=hop, linkaddr=link, peeraddr=peer)
    return N(o, {"msg_type": 12, "built_by": "scapy", "hop_count": hop, "link_address": link,
                 "peer_address": peer, "options": [n.entry for n in children]})


ENT = 32473  # RFC 5612 documentation enterprise number
CLIENT_DUID = DUID_LLT(hwtype=1, timeval=0x2A3B4C5D, lladdr=CLIENT_MAC)
SERVER_DUID = DUID_EN(enterprisenum=ENT, id=b"lessor-server-1")
REQUESTOR_DUID = DUID_LL(hwtype=1, lladdr="02:00:00:00:00:64")
RELAY1_DUID = DUID_LL(hwtype=1, lladdr="02:00:00:00:00:fe")
RELAY2_DUID = DUID_LL(hwtype=1, lladdr="02:00:00:00:00:fd")
LINK1 = "2001:db8:1::1"
CLIENT_ADDR = "2001:db8:1::10"


def v6_vectors():
    solicit = msg_client(DHCP6_Solicit, 1, 0x0A0B0C, [
        opt_clientid(CLIENT_DUID), opt_elapsed(0),
        opt_ia_na(1, 0, 0, [opt_iaaddr(CLIENT_ADDR, 3600, 7200)]),
        opt_oro([23, 24]),
    ])
    inner = msg_relay(0, LINK1, "2001:db8:1::100", [
        opt_relay_msg(solicit),  # relay message first here, last in the outer relay
        opt_iface_id(b"ge-0/0/1.100"), opt_remote_id(ENT, REMOTE_ID), opt_relay_id(RELAY1_DUID),
    ])
    outer = msg_relay(1, "2001:db8:ffff::1", LINK1, [
        opt_iface_id(b"xe-1/0/0"), opt_remote_id(ENT, b"agg-7"), opt_relay_id(RELAY2_DUID),
        opt_relay_msg(inner),
    ])

    request = msg_client(DHCP6_Request, 3, 0x0D0E0F, [
        opt_clientid(CLIENT_DUID), opt_clientid(SERVER_DUID, server=True), opt_elapsed(0),
        opt_ia_pd(7, 1800, 2880, [opt_iaprefix("2001:db8:100::", 56, 3600, 7200)]),
    ])
    relay_pd = msg_relay(0, "2001:db8:2::1", "2001:db8:2::200", [
        opt_iface_id(b"ge-0/0/2.200"), opt_relay_msg(request),
    ])

    lq_addr = msg_client(DHCP6, 14, 0x4C5101, [
        opt_lq_query(1, LINK1, [opt_iaaddr(CLIENT_ADDR, 0, 0), opt_oro([46, 47])]),
        opt_clientid(REQUESTOR_DUID),
    ], built_by="scapy")  # generic DHCP6 class: Scapy has no LEASEQUERY class, msgtype given as 14

    # what the server keeps as relay data: the relay chain without the client's RELAY_MSG
    kept_relay = msg_relay(0, LINK1, "2001:db8:1::100", [
        opt_iface_id(b"ge-0/0/1.100"), opt_remote_id(ENT, REMOTE_ID), opt_relay_id(RELAY1_DUID),
    ])
    lq_reply = msg_client(DHCP6, 15, 0x4C5101, [
        opt_clientid(SERVER_DUID, server=True), opt_clientid(REQUESTOR_DUID),
        opt_client_data([
            opt_clientid(CLIENT_DUID), opt_iaaddr(CLIENT_ADDR, 3600, 7200), opt_clt_time(120),
            opt_lq_relay_data(LINK1, kept_relay),
        ]),
    ])

    lq_cid = msg_client(DHCP6, 14, 0x4C5102, [
        opt_lq_query(2, "::", [opt_clientid(CLIENT_DUID)]),
        opt_clientid(REQUESTOR_DUID),
    ])
    lq_link_reply = msg_client(DHCP6, 15, 0x4C5102, [
        opt_clientid(SERVER_DUID, server=True), opt_clientid(REQUESTOR_DUID),
        opt_lq_client_link([LINK1, "2001:db8:2::1"]),
    ])

    return [
        ("v6_relay_forw_depth2_solicit.bin",
         "RELAY-FORW (hop 1) -> RELAY-FORW (hop 0) -> SOLICIT (CLIENTID DUID-LLT, ELAPSED_TIME, IA_NA+IAADDR, ORO). Both relays carry INTERFACE_ID, REMOTE_ID (enterprise 32473) and RELAY_ID (DUID-LL); RELAY_MSG is last in the outer relay and first in the inner one",
         outer),
        ("v6_relay_forw_request_pd.bin",
         "RELAY-FORW (hop 0, INTERFACE_ID) around a REQUEST with CLIENTID, SERVERID (DUID-EN), ELAPSED_TIME, IA_PD + IAPREFIX 2001:db8:100::/56",
         relay_pd),
        ("v6_leasequery_by_address.bin",
         "LEASEQUERY (14): LQ_QUERY query-type 1 (by address), link-address 2001:db8:1::1, query-options IAADDR 2001:db8:1::10 and ORO (46 CLT_TIME, 47 LQ_RELAY_DATA); requestor CLIENTID (DUID-LL)",
         lq_addr),
        ("v6_leasequery_reply.bin",
         "LEASEQUERY-REPLY (15) to v6_leasequery_by_address: SERVERID, CLIENTID (requestor), CLIENT_DATA holding CLIENTID (DUID-LLT), IAADDR, CLT_TIME 120, LQ_RELAY_DATA (peer 2001:db8:1::1, a RELAY-FORW without the client's RELAY_MSG)",
         lq_reply),
        ("v6_leasequery_by_clientid.bin",
         "LEASEQUERY (14): LQ_QUERY query-type 2 (by client-id), link-address :: (search all links), query-options CLIENTID (DUID-LLT); requestor CLIENTID",
         lq_cid),
        ("v6_leasequery_reply_client_link.bin",
         "LEASEQUERY-REPLY (15) to v6_leasequery_by_clientid when the client is on two links: SERVERID, CLIENTID, LQ_CLIENT_LINK (2001:db8:1::1, 2001:db8:2::1) and no CLIENT_DATA (RFC 5007 4.4.1)",
         lq_link_reply),
    ]


# --- verification with Scapy's parser -----------------------------------------

def scapy_parse_opts(raw):
    """Parse a run of DHCPv6 options with Scapy's per-code classes."""
    out = []
    while raw:
        code = struct.unpack("!H", raw[:2])[0]
        n = struct.unpack("!H", raw[2:4])[0]
        cls = dhcp6opts_by_code.get(code, DHCP6OptUnknown)
        if isinstance(cls, str):  # Scapy stores class names here
            cls = getattr(scapy.layers.dhcp6, cls)
        o = cls(raw[:4 + n])
        out.append(o)
        raw = raw[4 + n:]
    return out


def scapy_opt_list(pkt):
    """Options chained as payloads after a Scapy DHCPv6 message/option."""
    out, p = [], pkt.payload
    while p and p.__class__.__name__ not in ("NoPayload",):
        out.append(p)
        p = p.payload
    return out


def check_v6_opt(o, e):
    assert o.optcode == e["code"], (o.optcode, e["code"])
    assert o.optlen == e["len"], (o.optlen, e)
    c = e["code"]
    if c in (1, 2):
        d = e["duid"]
        assert o.duid.type == d["type"]
        if d["type"] == 1:
            assert (o.duid.hwtype, o.duid.timeval) == (d["hw_type"], d["time"])
            assert mac(o.duid.lladdr).hex() == d["lladdr"]
        elif d["type"] == 2:
            assert o.duid.enterprisenum == d["enterprise_number"] and o.duid.id.hex() == d["identifier"]
        elif d["type"] == 3:
            assert o.duid.hwtype == d["hw_type"] and mac(o.duid.lladdr).hex() == d["lladdr"]
    elif c == 3 or c == 25:
        assert (o.iaid, o.T1, o.T2) == (e["iaid"], e["t1"], e["t2"])
        kids = o.ianaopts if c == 3 else o.iapdopt
        assert len(kids) == len(e["options"])
        for k, ke in zip(kids, e["options"]):
            check_v6_opt(k, ke)
    elif c == 5:
        assert (o.addr, o.preflft, o.validlft) == (e["address"], e["preferred_lifetime"], e["valid_lifetime"])
        assert len(o.iaaddropts) == len(e["options"])
    elif c == 26:
        assert (o.prefix, o.plen, o.preflft, o.validlft) == (
            e["prefix"], e["prefix_length"], e["preferred_lifetime"], e["valid_lifetime"])
    elif c == 6:
        assert list(o.reqopts) == e["codes"]
    elif c == 8:
        assert o.elapsedtime == e["elapsed_time"]
    elif c == 9:
        check_v6_msg(bytes(o.message), e["message"])
    elif c == 18:
        assert o.ifaceid.hex() == e["interface_id"]
    elif c == 37:
        assert o.enterprisenum == e["enterprise_number"] and o.remoteid.hex() == e["remote_id"]
    elif c == 48:
        assert list(o.linkaddress) == e["link_addresses"]
    else:
        # options Scapy 2.8 does not know: it must see them as unknown, we decode the body with Scapy
        assert isinstance(o, DHCP6OptUnknown), o
        data = o.data
        if c == 53:
            assert scapy_parse_opts(b"\x00\x01" + struct.pack("!H", len(data)) + data)[0].duid.type \
                == e["duid"]["type"]
            assert duid_fields(data) == e["duid"]
        elif c == 44:
            assert data[0] == e["query_type"]
            assert str(ipaddress.IPv6Address(data[1:17])) == e["link_address"]
            kids = scapy_parse_opts(data[17:])
            assert len(kids) == len(e["options"])
            for k, ke in zip(kids, e["options"]):
                check_v6_opt(k, ke)
        elif c == 45:
            kids = scapy_parse_opts(data)
            assert len(kids) == len(e["options"])
            for k, ke in zip(kids, e["options"]):
                check_v6_opt(k, ke)
        elif c == 46:
            assert struct.unpack("!I", data)[0] == e["seconds"]
        elif c == 47:
            assert str(ipaddress.IPv6Address(data[:16])) == e["peer_address"]
            check_v6_msg(data[16:], e["message"])
        else:
            raise AssertionError("no check for option %d" % c)


def check_v6_msg(raw, m):
    assert raw[0] == m["msg_type"]
    if m["msg_type"] in (12, 13):
        p = DHCP6_RelayForward(raw)
        assert p.hopcount == m["hop_count"]
        assert p.linkaddr == m["link_address"] and p.peeraddr == m["peer_address"]
        body = raw[34:]
    else:
        p = DHCP6(raw)
        # Scapy dispatches known types to their classes; 14/15 stay generic DHCP6
        assert p.msgtype == m["msg_type"] and p.trid == m["transaction_id"]
        body = raw[4:]
    opts = scapy_opt_list(p)
    assert len(opts) == len(m["options"]), (opts, m["options"])
    for o, e in zip(opts, m["options"]):
        check_v6_opt(o, e)
    # the option hex in the manifest must match the bytes, in order
    i = 0
    for e in m["options"]:
        assert struct.unpack("!HH", body[i:i + 4]) == (e["code"], e["len"])
        assert body[i + 4:i + 4 + e["len"]].hex() == e["hex"]
        i += 4 + e["len"]
    assert i == len(body)


# ---------------------------------------------------------------------------

def main():
    pcap = None
    if "--pcap" in sys.argv:
        pcap = sys.argv[sys.argv.index("--pcap") + 1]
    manifest = {
        "generator": "make_vectors.py",
        "scapy_version": scapy.VERSION,
        "v4": [], "v6": [],
    }
    frames = []
    for i, v in enumerate(v4_vectors()):
        data, man, pkt = build_v4(i, v)
        summary = check_v4(data, man)
        with open(os.path.join(OUT, v["file"]), "wb") as f:
            f.write(data)
        manifest["v4"].append(man)
        frames.append(("v4", data))
        print("wrote %-40s %4d octets  %s" % (v["file"], len(data), summary))
    for fname, desc, msg in v6_vectors():
        data = bytes(msg.obj)
        m = dict({"file": fname, "description": desc, "length": len(data)}, **msg.entry)
        check_v6_msg(data, m)
        with open(os.path.join(OUT, fname), "wb") as f:
            f.write(data)
        manifest["v6"].append(m)
        frames.append(("v6", data))
        print("wrote %-40s %4d octets  %s" % (fname, len(data),
              (DHCP6_RelayForward if data[0] == 12 else DHCP6)(data).summary()))
    with open(os.path.join(OUT, "vectors.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    print("wrote vectors.json (%d v4, %d v6 vectors), Scapy %s" % (
        len(manifest["v4"]), len(manifest["v6"]), scapy.VERSION))
    if pcap:
        from scapy.layers.l2 import Ether
        from scapy.layers.inet import IP, UDP
        from scapy.layers.inet6 import IPv6
        from scapy.packet import Raw
        from scapy.utils import wrpcap
        pkts = []
        for fam, data in frames:
            if fam == "v4":
                p = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / \
                    IP(src=V4_GIADDR, dst=V4_SERVER) / UDP(sport=67, dport=67) / Raw(data)
            else:
                p = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / \
                    IPv6(src="2001:db8:1::1", dst="2001:db8::547") / UDP(sport=547, dport=547) / Raw(data)
            p.time = 0
            pkts.append(p)
        wrpcap(pcap, pkts)
        print("wrote", pcap)


if __name__ == "__main__":
    main()
