#!/usr/bin/env python3
"""Writes N relayed IA_NA leases for `lessor leases import`: a Kea kea-leases6.csv (Kea 2.2's
CSVLeaseFile6 columns) for `--kea6`, or with --json the same leases as `lessor leases export`
JSON lines for `--json`.

Usage: gen_kea6_leases.py [--json] N FILE [PER_RELAY_ID] [FIRST]

- addresses FIRST, FIRST+1, ... (default 2001:db8:1::1:0, on the link 2001:db8:1::/64; all inside
  2001:db8::/32, the documentation range: nothing is ever sent to them);
- client DUID-LL 00:03:00:01:02:42:xx:xx:xx:xx (the index), IAID 1, cltt now, valid 30 days,
  preferred 15 days;
- one relay per lease, hop 0, link-address 2001:db8:1::1, peer-address fe80::1 (the client), its
  options OPTION_RELAY_ID (53) with its relay-id: a DUID-EN (enterprise 43793) shared by
  PER_RELAY_ID leases (default N: every lease through one relay), relay k = 00020000ab11 + k as 8
  hex digits, so relay 0 is 00020000ab1100000000.

Kea keeps the relay in the user context (store-extended-info; commas escaped as Kea writes them,
`&#x2c`) but not the address the relay's message came from, so `--kea6` gives bindings without a
relay peer, for which Lessor's leasequery has no LQ_RELAY_DATA to send (docs/leasequery.md). The
JSON form carries what Lessor stores for a relayed client: the relay chain and the relay peer
(2001:db8:1::1), so the bindings are those of clients Lessor served through that relay.

1,000,000 leases take about 290 MB (CSV) or 500 MB (JSON) and 10 to 30 s.
"""
import ipaddress
import json
import sys
import time

args = sys.argv[1:]
as_json = "--json" in args
args = [a for a in args if a != "--json"]
if len(args) < 2:
    sys.exit(__doc__)
n = int(args[0])
path = args[1]
per_relay = int(args[2]) if len(args) > 2 else max(n, 1)
first = int(ipaddress.IPv6Address(args[3] if len(args) > 3 else "2001:db8:1::1:0"))
if (first + n - 1) >> 64 != first >> 64:
    sys.exit("the leases do not fit in FIRST's /64")
now = int(time.time())
valid, pref = 30 * 86400, 15 * 86400
expire = now + valid
LINK = ipaddress.IPv6Address("2001:db8:1::1")
PEER = ipaddress.IPv6Address("fe80::1")


def relay_id(k):
    return f"00020000ab11{k:08x}"


def relay_options(k):
    rid = relay_id(k)
    return f"0035{len(rid) // 2:04x}{rid}"


def kea_context(k):
    return (
        '{ "ISC": { "relay-info": [ { "hop": 0&#x2c "link": "2001:db8:1::1"&#x2c '
        f'"options": "0x{relay_options(k)}"&#x2c "peer": "fe80::1"&#x2c '
        f'"relay-id": "{relay_id(k)}" }} ] }} }}'
    )


def chain(k):
    """The RELAY-FORW header and options, without RELAY_MSG: what the store keeps."""
    return "0c00" + LINK.packed.hex() + PEER.packed.hex() + relay_options(k)


def json_row(i, addr, duid, k):
    return json.dumps({
        "sequence": i + 1,
        "address": addr, "prefix_len": 128, "ia_type": "ia-na", "iaid": 1, "state": "active",
        "link": "2001:db8:1::/64", "start": now, "preferred_end": now + pref,
        "valid_end": expire, "t1": now + pref // 2, "t2": now + pref * 4 // 5, "cltt": now,
        "duid": duid.replace(":", ""), "relay_chain": chain(k), "interface_id": None,
        "remote_id": None, "relay_id": relay_id(k), "relay_peer": str(LINK),
    }, separators=(",", ":"))


with open(path, "w", buffering=1 << 20) as f:
    if not as_json:
        f.write(
            "address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,"
            "prefix_len,fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context,hwtype,hwaddr_source\n"
        )
    ctx_k, ctx = None, None
    for i in range(n):
        k = i // per_relay
        addr = ipaddress.IPv6Address(first + i).compressed
        duid = "00:03:00:01:02:42:" + ":".join(f"{b:02x}" for b in i.to_bytes(4, "big"))
        if as_json:
            f.write(json_row(i, addr, duid, k) + "\n")
            continue
        if k != ctx_k:
            ctx_k, ctx = k, kea_context(k)
        f.write(f"{addr},{duid},{valid},{expire},1,{pref},0,1,128,0,0,,,0,{ctx},0,0\n")
