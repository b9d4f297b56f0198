#!/usr/bin/env python3
"""Writes a Kea kea-leases6.csv (Kea 2.2's CSVLeaseFile6 columns) with N relayed IA_NA leases, for
`lessor leases import --kea6`.

Usage: gen_kea6_leases.py N FILE [PER_RELAY_ID] [FIRST]

- addresses FIRST, FIRST+1, ... (default 2001:db8:1::1:0, on the link 2001:db8:1::/64; all inside
  2001:db8::/32, the documentation range: nothing is ever sent to them);
- client DUID-LL 00:03:00:01:02:42:xx:xx:xx:xx (the index), IAID 1, cltt now, valid 30 days,
  preferred 15 days;
- the relay data Kea keeps with store-extended-info, in the user context (commas escaped as Kea
  writes them, `&#x2c`): one relay, hop 0, link-address 2001:db8:1::1, peer fe80::1, its options
  OPTION_RELAY_ID (53) and its `relay-id`: a DUID-EN (enterprise 43793) shared by PER_RELAY_ID
  leases (default N: every lease through one relay), relay k = 00020000ab11 + k as 8 hex digits,
  so relay 0 is 00020000ab1100000000.

1,000,000 leases take about 290 MB and about 15 s.
"""
import ipaddress
import sys
import time

n = int(sys.argv[1])
path = sys.argv[2]
per_relay = int(sys.argv[3]) if len(sys.argv) > 3 else max(n, 1)
first = int(ipaddress.IPv6Address(sys.argv[4] if len(sys.argv) > 4 else "2001:db8:1::1:0"))
if (first + n - 1) >> 64 != first >> 64:
    sys.exit("the leases do not fit in FIRST's /64")
now = int(time.time())
valid, pref = 30 * 86400, 15 * 86400
expire = now + valid


def relay_id(k):
    return f"00020000ab11{k:08x}"


def context(k):
    rid = relay_id(k)
    options = f"0x0035{len(rid) // 2:04x}{rid}"
    return (
        '{ "ISC": { "relay-info": [ { "hop": 0&#x2c "link": "2001:db8:1::1"&#x2c '
        f'"options": "{options}"&#x2c "peer": "fe80::1"&#x2c "relay-id": "{rid}" }} ] }} }}'
    )


with open(path, "w", buffering=1 << 20) as f:
    f.write(
        "address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,"
        "fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context,hwtype,hwaddr_source\n"
    )
    ctx_k, ctx = None, None
    for i in range(n):
        k = i // per_relay
        if k != ctx_k:
            ctx_k, ctx = k, context(k)
        addr = ipaddress.IPv6Address(first + i).compressed
        m = i.to_bytes(4, "big")
        duid = "00:03:00:01:02:42:" + ":".join(f"{b:02x}" for b in m)
        f.write(f"{addr},{duid},{valid},{expire},1,{pref},0,1,128,0,0,,,0,{ctx},0,0\n")
