"""Two namespaces on one veth: a load generator that is its own relay agent
(`lessor perf sarr`, `lessor perf dora`, Kea's perfdhcp -A 1) and a server.

    gen ns (g0) ------------------------ (s0) srv ns
    2001:db8:1::1/64  (the relay's        2001:db8:2::2/64, route to 2001:db8:1::/64 on s0
    192.0.2.1/24       link-address       198.51.100.2/24,  route to 192.0.2.0/24 on s0
                       and giaddr)

The generator's one address per family is on the client link: it is the relay's
link-address (DHCPv6) and giaddr (DHCPv4), so a server selects the client link's
subnet; perfdhcp -6 takes its source, link- and peer-address from that address.
The server reaches it on-link through s0. IPv6 addresses skip DAD (`nodad`) so
they can be bound at once.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List

from . import addressing
from .netns import Namespace, veth, wait_link_up

GEN_V6 = addressing.RELAY_DOWN_V6           # 2001:db8:1::1
SERVER_V6 = addressing.SERVER_V6            # 2001:db8:2::2
GEN_V4 = addressing.RELAY_DOWN_V4           # 192.0.2.1
SERVER_V4 = addressing.SERVER_V4            # 198.51.100.2


def add_addr6(ns: Namespace, ifname: str, cidr: str) -> None:
    """An IPv6 address usable at once (no duplicate address detection)."""
    addressing.check_allowed(cidr)
    ns.ip("-6", "addr", "add", cidr, "dev", ifname, "nodad")


@dataclass
class GeneratorPair:
    gen: Namespace = field(init=False)
    server: Namespace = field(init=False)
    gen_if: str = "g0"
    server_if: str = "s0"

    def __post_init__(self) -> None:
        made: List[Namespace] = []
        try:
            for role in ("gen", "srv"):
                made.append(Namespace(role))
            self.gen, self.server = made
            for ns in made:
                # The veth's link-local address usable at once too (Kea binds it).
                ns.sysctl("net.ipv6.conf.default.accept_dad", "0")
                ns.sysctl("net.ipv6.conf.all.accept_dad", "0")
            veth(self.gen, self.gen_if, self.server, self.server_if)
            add_addr6(self.gen, self.gen_if, f"{GEN_V6}/64")
            add_addr6(self.server, self.server_if, f"{SERVER_V6}/64")
            self.gen.add_addr(self.gen_if, f"{GEN_V4}/24")
            self.server.add_addr(self.server_if, f"{SERVER_V4}/24")
            self.gen.ip("-6", "route", "add", str(addressing.SERVER_NET6), "dev", self.gen_if)
            self.server.ip("-6", "route", "add", str(addressing.CLIENT_NET6), "dev", self.server_if)
            self.gen.ip("route", "add", str(addressing.SERVER_NET), "dev", self.gen_if)
            self.server.ip("route", "add", str(addressing.CLIENT_NET), "dev", self.server_if)
            for ns, ifn in ((self.gen, self.gen_if), (self.server, self.server_if)):
                wait_link_up(ns, ifn)
        except BaseException:
            for ns in made:
                ns.delete()
            raise

    @property
    def namespaces(self) -> List[Namespace]:
        return [self.gen, self.server]

    def teardown(self) -> None:
        for ns in self.namespaces:
            ns.delete()
