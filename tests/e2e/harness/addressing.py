"""Address plan. Only documentation ranges, only inside test namespaces.

v4: 192.0.2.0/24     client link (relay downstream .1, pool .100-.150)
    198.51.100.0/24  server link (relay upstream .1, server .2)
    203.0.113.0/24   spare: extra client links / servers in later topologies
v6 (Topology6):
    2001:db8:1::/64  client link (relay downstream ::1, address pool ::1000-::1fff)
    2001:db8:2::/64  server link (relay upstream ::1, server ::2)
    2001:db8:100::/48 delegated prefixes (/56 each)
    2001:db8:3::/64  TopologyDirect6: a client on the server's own link (server ::1)
    2001:db8:4::/64  TopologyChain6: the link between the two relays (::1 first, ::2 second)
"""
import ipaddress

CLIENT_NET = ipaddress.ip_network("192.0.2.0/24")
SERVER_NET = ipaddress.ip_network("198.51.100.0/24")
SPARE_NET = ipaddress.ip_network("203.0.113.0/24")

RELAY_DOWN_V4 = "192.0.2.1"
RELAY_UP_V4 = "198.51.100.1"
SERVER_V4 = "198.51.100.2"
POOL_V4 = ("192.0.2.100", "192.0.2.150")

CLIENT_NET6 = ipaddress.ip_network("2001:db8:1::/64")
SERVER_NET6 = ipaddress.ip_network("2001:db8:2::/64")
RELAY_DOWN_V6 = "2001:db8:1::1"
RELAY_UP_V6 = "2001:db8:2::1"
SERVER_V6 = "2001:db8:2::2"
POOL_V6 = ("2001:db8:1::1000", "2001:db8:1::1fff")
PD_POOL_V6 = ipaddress.ip_network("2001:db8:100::/48")
PD_LEN_V6 = 56
DIRECT_NET6 = ipaddress.ip_network("2001:db8:3::/64")
MIDDLE_NET6 = ipaddress.ip_network("2001:db8:4::/64")
RELAY1_UP_V6 = "2001:db8:4::1"
RELAY2_DOWN_V6 = "2001:db8:4::2"

ALLOWED = [ipaddress.ip_network(n) for n in (
    "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "198.18.0.0/15", "2001:db8::/32")]


def check_allowed(addr: str) -> str:
    """Raise if addr (with or without /prefix) is outside the documentation ranges."""
    ip = ipaddress.ip_interface(addr).ip
    if not any(ip in n for n in ALLOWED):
        raise ValueError(f"address {addr} is outside the documentation ranges allowed in tests")
    return addr
