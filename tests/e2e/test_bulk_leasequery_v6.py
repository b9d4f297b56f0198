"""DHCPv6 bulk leasequery (RFC 5460) end to end: ISC dhclient -6 (IA_NA and IA_PD) behind ISC
dhcrelay -6 -I, and a second relay hop (harness/bulk6_tools.py) that adds RELAY_ID and
REMOTE_ID, which dhcrelay cannot; `lessor serve` makes the bindings; a Python TCP requestor in
the relay's namespace streams them by relay-id, link-address and remote-id; tshark decodes the
TCP stream (its DHCPv6 bulk leasequery dissector, port 547) without a malformed packet or an
expert error. Addresses: 2001:db8:1::/64 client link, 2001:db8:2::/64 server link, prefixes from
2001:db8:100::/48; only inside the test's namespaces."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from harness import addressing, capture
from harness.isc import _bin
from harness.util import run, wait_for

# The ISC dhclient -6 / dhcrelay -6 topology helpers of the DHCPv6 server's first e2e test.

import signal
import sqlite3
from typing import Dict, List

import pytest

from harness.lessor import lessor_bin
from harness.netns import NETNS_ETC, Namespace, veth, wait_link_up
from harness.procs import ProcessManager
from harness.util import HarnessError

DHCLIENT6_SCRIPT = r"""#!/bin/sh
# Test dhclient-script (-6): logs every call, configures only the namespace's interface.
echo "reason=$reason interface=$interface new_ip6_address=$new_ip6_address new_ip6_prefix=$new_ip6_prefix new_max_life=$new_max_life new_dhcp6_name_servers=$new_dhcp6_name_servers" >> '{log}'
case "$reason" in
  PREINIT6) ip link set dev "$interface" up ;;
  BOUND6|RENEW6|REBIND6|REBOOT6)
    [ -n "$new_ip6_address" ] && ip -6 addr replace "$new_ip6_address/128" dev "$interface" nodad ;;
  EXPIRE6|RELEASE6|STOP6)
    [ -n "$old_ip6_address" ] && ip -6 addr del "$old_ip6_address/128" dev "$interface" ;;
esac
exit 0
"""


def namespace(role: str) -> Namespace:
    ns = Namespace(role)
    # No duplicate address detection: addresses (link-local ones too) are usable at once.
    ns.sysctl("net.ipv6.conf.all.accept_dad", "0")
    ns.sysctl("net.ipv6.conf.default.accept_dad", "0")
    return ns


def add6(ns: Namespace, ifname: str, cidr: str) -> None:
    addressing.check_allowed(cidr)
    ns.ip("-6", "addr", "add", cidr, "dev", ifname, "nodad")


def wait_link_local(ns: Namespace, ifname: str) -> None:
    wait_for(lambda: "fe80::" in ns.ip("-6", "addr", "show", "dev", ifname).stdout
             and "tentative" not in ns.ip("-6", "addr", "show", "dev", ifname).stdout,
             timeout=10, what=f"{ns.name}/{ifname} link-local address")


class Dhclient6:
    def __init__(self, ns: Namespace, ifname: str, workdir: Path, *, prefix: bool = False):
        if not (NETNS_ETC / ns.name / "resolv.conf").exists():
            raise HarnessError(f"/etc/netns/{ns.name}/resolv.conf missing")
        workdir.mkdir(parents=True, exist_ok=True)
        self.ns, self.ifname, self.workdir = ns, ifname, workdir
        self.conf = workdir / "dhclient6.conf"
        self.leases = workdir / "dhclient6.leases"
        self.pidfile = workdir / "dhclient6.pid"
        self.script = workdir / "dhclient6-script.sh"
        self.log = workdir / "dhclient6-script.log"
        self.conf.write_text("timeout 20;\nretry 1;\nrequest dhcp6.name-servers;\n")
        self.script.write_text(DHCLIENT6_SCRIPT.format(log=self.log))
        self.script.chmod(0o755)
        self.modes = ["-N", "-P"] if prefix else ["-N"]
        self.proc = None

    def common(self) -> List[str]:
        return ["-6", "-v", "-cf", str(self.conf), "-lf", str(self.leases), "-pf", str(self.pidfile),
                "-sf", str(self.script)] + self.modes

    def events(self) -> List[Dict[str, str]]:
        try:
            lines = self.log.read_text().splitlines()
        except FileNotFoundError:
            return []
        return [dict(kv.split("=", 1) for kv in line.split() if "=" in kv) for line in lines]

    def wait(self, reasons, after: int = 0, timeout: float = 30.0, pred=lambda ev: True):
        def find():
            for ev in self.events()[after:]:
                if ev.get("reason") in reasons and pred(ev):
                    return ev
            return None
        try:
            return wait_for(find, timeout=timeout, what=f"dhclient -6 script reason in {reasons}")
        except HarnessError as e:
            out = self.proc.output()[-3000:] if self.proc else ""
            raise HarnessError(f"{e}\nevents: {self.events()}\n--- dhclient output ---\n{out}") from None

    def start(self, pm: ProcessManager):
        self.proc = pm.start(self.ns, "dhclient6", [_bin("dhclient")] + self.common() + ["-d", "-1", self.ifname])
        return self.proc

    def release(self, pm: ProcessManager):
        n = len(self.events())
        pm.run(self.ns, "dhclient6-release", [_bin("dhclient")] + self.common() + ["-r", self.ifname],
               timeout=20)
        return self.wait(("RELEASE6",), after=n, timeout=20)


def write_config(path: Path, store: Path, body: str) -> Path:
    path.write_text(f'[server]\nstore = "{store}"\nstats-interval = "0s"\n\n' + body)
    return path


def start_lessor(pm: ProcessManager, ns: Namespace, config: Path):
    cp = run([str(lessor_bin()), "check", str(config)], check=False)
    if cp.returncode != 0:
        raise HarnessError(f"lessor check failed:\n{cp.stdout}{cp.stderr}")
    p = pm.start(ns, "lessor", [str(lessor_bin()), "serve", "--config", str(config)])
    p.wait_output("dhcp6: listening on", timeout=15)
    return p


def leases6(store: Path) -> List[tuple]:
    """(address hex, prefix length, ia type, state, interface-id hex) of every lease6 row."""
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
        return db.execute("SELECT lower(hex(address)), prefix_len, ia_type, state, "
                          "lower(hex(interface_id)) FROM lease6 ORDER BY address").fetchall()


def stop(p) -> str:
    p.send_signal(signal.SIGTERM)
    p.wait(10)
    return p.output()


@pytest.fixture
def relayed(procs):
    made = []
    try:
        client, relay, server = namespace("c6"), namespace("r6"), namespace("s6")
        made = [client, relay, server]
        veth(client, "c0", relay, "r0")
        veth(relay, "r1", server, "s0")
        for ns, i in ((client, "c0"), (relay, "r0"), (relay, "r1"), (server, "s0")):
            wait_link_up(ns, i)
        add6(relay, "r0", f"{addressing.RELAY_DOWN_V6}/64")
        add6(relay, "r1", f"{addressing.RELAY_UP_V6}/64")
        add6(server, "s0", f"{addressing.SERVER_V6}/64")
        for ns, i in ((client, "c0"), (relay, "r0"), (relay, "r1"), (server, "s0")):
            wait_link_local(ns, i)
        yield client, relay, server
    finally:
        for ns in made:
            ns.delete()



TOOLS = Path(__file__).parent / "harness" / "bulk6_tools.py"
HOP2 = "2001:db8:2::3"
RELAY_ID = "0003000102000000aa01"
REMOTE_ID = "72656d6f74652d31"  # "remote-1"
LQ_REPLY, LQ_DONE, LQ_DATA = 15, 16, 17


def of(res: dict, xid: int) -> list:
    return [m for m in res["messages"] if m["xid"] == xid]


def resources(msgs: list) -> set:
    out = set()
    for m in msgs:
        for o in m["options"]:
            for i in o.get("inner", []):
                out.add(i.get("address") or i.get("prefix"))
    out.discard(None)
    return out


def codes(m: dict) -> list:
    return [o["code"] for o in m["options"]]


def inner(m: dict) -> list:
    """The option codes inside the message's CLIENT_DATA."""
    return [i["code"] for o in m["options"] if o["code"] == 45 for i in o["inner"]]


def test_bulk_by_relay_id_link_and_remote_id_of_real_clients(relayed, procs, artifacts):
    client, relay, server = relayed
    add6(server, "s0", f"{HOP2}/64")
    store = artifacts / "lessor.db"
    config = write_config(artifacts / "lessor.toml", store, f"""
[dhcp6]
listen = ["{addressing.SERVER_V6}"]

[[dhcp6.link]]
prefix = "2001:db8:1::/64"
pools = ["2001:db8:1::1000-2001:db8:1::10ff"]
prefix-pools = [{{ prefix = "2001:db8:100::/48", delegated-length = 56 }}]

[leasequery6]
requesters = ["2001:db8:2::/64"]

[leasequery6.bulk]
listen = ["{addressing.SERVER_V6}"]
""")
    lessor = start_lessor(procs, server, config)
    lessor.wait_output(f"DHCPv6 bulk leasequery: listening on tcp [{addressing.SERVER_V6}]:547", timeout=5)
    hop = procs.start(server, "relay-hop2", [sys.executable, str(TOOLS), "relay", "--listen", HOP2,
                                             "--server", addressing.SERVER_V6, "--relay-id", RELAY_ID,
                                             "--remote-id", REMOTE_ID, "--seconds", "90"])
    hop.wait_output("relay ready", timeout=10)
    cap = capture.start_capture(procs, server, "s0", artifacts / "bulk6.pcap",
                                capture_filter="tcp port 547", name="tshark-bulk6")
    procs.start(relay, "dhcrelay6", [_bin("dhcrelay"), "-6", "-d", "-I",
                                     "-pf", str(artifacts / "dhcrelay6.pid"),
                                     "-l", "r0", "-u", f"{HOP2}%r1"])
    time.sleep(1.0)
    dh = Dhclient6(client, "c0", artifacts / "dhclient6", prefix=True)
    dh.start(procs)
    bound = dh.wait(("BOUND6",), pred=lambda ev: ev.get("new_ip6_address"))
    address = bound["new_ip6_address"]
    wait_for(lambda: [r[3] for r in leases6(store)] == ["active", "active"], timeout=20,
             what="an address and a prefix active in the store")
    # dhclient may report the prefix in a later script call than the address.
    prefix = wait_for(lambda: next((ev["new_ip6_prefix"] for ev in dh.events() if ev.get("new_ip6_prefix")),
                                   None), timeout=20, what="the delegated prefix reported by dhclient")

    queries = [
        {"xid": 1, "type": 3, "options": f"0035{len(RELAY_ID) // 2:04x}{RELAY_ID}"},
        {"xid": 2, "type": 4, "link": "2001:db8:1::1"},
        {"xid": 3, "type": 5, "options": f"0025{4 + len(REMOTE_ID) // 2:04x}0000118b{REMOTE_ID}",
         "oro": [47]},
        {"xid": 4, "type": 3, "options": "0035000a0003000102000000dead"},
        {"xid": 5, "type": 4, "link": "::"},
        {"xid": 6, "type": 4, "link": "2001:db8:9::1"},
    ]
    cp = run(relay.exec_prefix + [sys.executable, str(TOOLS), "query", "--server", addressing.SERVER_V6,
                                  "--queries", json.dumps(queries)], timeout=30, check=False)
    (artifacts / "query.json").write_text(cp.stdout + cp.stderr)
    assert cp.returncode == 0, cp.stderr
    res = json.loads(cp.stdout.strip().splitlines()[-1])
    assert res["unfinished"] == [], res
    pcap = capture.stop_captures({"bulk6": cap})["bulk6"]
    out = stop(lessor)

    want = {address, prefix}
    for xid in (1, 2, 3, 5):
        msgs = of(res, xid)
        assert [m["type"] for m in msgs] == [LQ_REPLY, LQ_DATA, LQ_DONE], (xid, msgs)
        assert resources(msgs) == want, (xid, msgs)
        assert codes(msgs[0])[:2] == [2, 1], "SERVERID, then the requestor's CLIENTID"
    # LQ_RELAY_DATA only where the ORO asked for it, last inside each CLIENT_DATA.
    assert all(47 not in inner(m) for x in (1, 2, 5) for m in of(res, x))
    assert [inner(m)[-1] for m in of(res, 3)[:2]] == [47, 47], of(res, 3)
    assert [codes(m)[-1] for m in of(res, 3)[:2]] == [45, 45], of(res, 3)
    # Nothing known: one REPLY without CLIENT_DATA; a link not configured: NotConfigured.
    assert [(m["type"], codes(m)) for m in of(res, 4)] == [(LQ_REPLY, [2, 1])], of(res, 4)
    (refusal,) = of(res, 6)
    assert refusal["type"] == LQ_REPLY and [o.get("status") for o in refusal["options"]][-1] == 9
    assert "stats bulk6:" in out and "bindings=8" in out, out

    # tshark decodes every message of the stream, without malformed packets or expert errors.
    types = capture._tshark_read(pcap, "-T", "fields", "-e", "dhcpv6.bulk_leasequery.msgtype",
                                  "-Y", "dhcpv6.bulk_leasequery")
    decoded = [t for line in types.split() for t in line.split(",") if t]
    assert len(decoded) == len(queries) + len(res["messages"]), (types, len(res["messages"]))
    bad = capture._tshark_read(pcap, "-Y", "_ws.malformed || _ws.expert.severity >= error")
    assert bad.strip() == "", bad


# Bulk while bindings are being assigned (Kea's checklist): `lessor perf sarr` (the generator is
# its own relay, with a RELAY_ID) makes a first set of bindings, then goes on adding more while
# bulk queries by relay-id and by link-address run. Each stream must end with DONE, carry every
# binding made before it started, and every message must be well-formed; once the load is over a
# last query finds exactly what the generator was granted.


def sarr(procs, ns, name: str, bound: Path, *args, background: bool = False):
    from harness.pair import GEN_V6, SERVER_V6
    argv = [str(lessor_bin()), "perf", "sarr", "--server", SERVER_V6, "--bind", f"[{GEN_V6}]:0",
            "--link-address", GEN_V6, "--relay-id", RELAY_ID, "--timeout", "500ms",
            "--bound-out", str(bound), "--json", *args]
    return procs.start(ns, name, argv) if background else procs.run(ns, name, argv, timeout=90)


def granted(bound: Path) -> set:
    """Every address and prefix `--bound-out` lists."""
    return {r for line in bound.read_text().splitlines() for r in line.split()[1:]}


def well_formed(res: dict, xid: int) -> set:
    """The resources of query `xid`'s stream, after checking its shape: REPLY (SERVERID, the
    requestor's CLIENTID, one CLIENT_DATA), DATA (one CLIENT_DATA), ..., DONE (Success); each
    CLIENT_DATA one CLIENTID, one IAADDR or IAPREFIX with a valid lifetime left, one CLT_TIME;
    no resource twice."""
    msgs = of(res, xid)
    assert msgs and msgs[0]["type"] == LQ_REPLY and msgs[-1]["type"] == LQ_DONE, (xid, msgs[:3])
    assert all(m["type"] == LQ_DATA for m in msgs[1:-1]), xid
    assert codes(msgs[0]) == [2, 1, 45], msgs[0]
    assert [o.get("status") for o in msgs[-1]["options"]] in ([], [0]), msgs[-1]
    seen = []
    for m in msgs[:-1]:
        assert codes(m)[-1] == 45 and codes(m).count(45) == 1, m
        data = next(o for o in m["options"] if o["code"] == 45)["inner"]
        kinds = sorted(i["code"] for i in data)
        assert kinds in ([1, 5, 46], [1, 26, 46]), m
        res_opt = next(i for i in data if i["code"] in (5, 26))
        body = bytes.fromhex(res_opt["hex"])
        valid = int.from_bytes(body[20:24] if res_opt["code"] == 5 else body[4:8], "big")
        assert valid > 0, m
        seen.append(res_opt.get("address") or res_opt.get("prefix"))
    assert len(seen) == len(set(seen)), f"a resource sent twice in query {xid}"
    return set(seen)


def test_bulk_while_bindings_are_being_assigned(generator_pair, procs, artifacts):
    from harness.lessor import LessorServer, Link6, write_config6
    from harness.pair import SERVER_V6
    pair = generator_pair
    store = artifacts / "lessor.db"
    conf = write_config6(artifacts / "lessor.toml", store=store, listen=[SERVER_V6],
                         server_lines=['stats-interval = "0s"'],
                         links=[Link6("2001:db8:1::/64", pools=["2001:db8:1::1000-2001:db8:1::ffff"],
                                      prefix_pools=[("2001:db8:100::/48", 56)])])
    conf.write_text(conf.read_text() + f"""
[leasequery6]
requesters = ["{addressing.CLIENT_NET6}"]

[leasequery6.bulk]
listen = ["{SERVER_V6}"]
""")
    srv = LessorServer(procs, pair.server, conf, store, ready="dhcp6: listening on")
    srv.check()
    srv.start()
    srv.proc.wait_output(f"DHCPv6 bulk leasequery: listening on tcp [{SERVER_V6}]:547", timeout=10)

    first, more = artifacts / "bound-first.txt", artifacts / "bound-more.txt"
    p = sarr(procs, pair.gen, "sarr-first", first, "--ia", "both", "--clients", "120",
             "--in-flight", "16", "--seed", "1")
    assert json.loads(p.stdout_path.read_text())["completed"] == 120, p.output()[-2000:]
    before = granted(first)
    assert len(before) == 240

    # More clients, IA_NA only (the /48 has 256 /56s), at a rate that keeps the load going for
    # some 6 s; the queries start once it is under way.
    load = sarr(procs, pair.gen, "sarr-more", more, "--ia", "na", "--clients", "900", "--rate",
                "150", "--in-flight", "64", "--seed", str(1 << 40), background=True)
    wait_for(lambda: more.exists() and len(more.read_text().splitlines()) >= 50, timeout=20,
             what="the second load under way")
    queries = [
        {"xid": 1, "type": 3, "options": f"0035{len(RELAY_ID) // 2:04x}{RELAY_ID}"},
        {"xid": 2, "type": 4, "link": "2001:db8:1::1"},
    ]
    cp = run(pair.gen.exec_prefix + [sys.executable, str(TOOLS), "query", "--server", SERVER_V6,
                                     "--queries", json.dumps(queries), "--timeout", "30"],
             timeout=60, check=False)
    during = len(more.read_text().splitlines())
    still_loading = load.alive()
    (artifacts / "query-during.json").write_text(cp.stdout + cp.stderr)
    assert cp.returncode == 0, cp.stderr
    res = json.loads(cp.stdout.strip().splitlines()[-1])
    assert res["unfinished"] == [], res["unfinished"]
    assert still_loading and during < 900, "the queries ran after the load: nothing was shown"
    for xid in (1, 2):
        got = well_formed(res, xid)
        assert before <= got, (xid, sorted(before - got)[:5])
        assert got <= before | granted(more), (xid, sorted(got - before - granted(more))[:5])
        assert len(got) > len(before), "no binding of the second load yet: not run under load"

    assert load.wait(60) == 0, load.output()[-2000:]
    done = json.loads(load.stdout_path.read_text())
    assert done["completed"] == 900, done
    cp = run(pair.gen.exec_prefix + [sys.executable, str(TOOLS), "query", "--server", SERVER_V6,
                                     "--queries", json.dumps(queries[:1])], timeout=60, check=False)
    res = json.loads(cp.stdout.strip().splitlines()[-1])
    assert well_formed(res, 1) == before | granted(more)
    assert srv.stop() == 0
    assert "closed-panic" not in srv.output()
