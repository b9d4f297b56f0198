"""Migration of DHCPv6 leases from Kea (docs/operator-guide.md, "Migrating DHCPv6 leases").

Real Kea 2.2 `kea-dhcp6` with the memfile backend and `store-extended-info` leases an address
(IA_NA) and a prefix (IA_PD) to a real `dhclient -6 -N -P` behind ISC `dhcrelay -6 -I` (which adds
an interface-id), and writes them to its kea-leases6.csv with the relay in the user context
(Kea 2.2: `{"ISC": {"relays": [...]}}`).
`lessor leases import --kea6` reads that file: each binding must carry the client's DUID and
IAIDs as dhclient recorded them, the lifetimes Kea granted, the configured link, the relay's
interface-id, and a relay chain whose hop is the relay (link-address on the client link,
peer-address the client's link-local address).

client ns --(c6|r6d)-- relay ns --(r6u|k6)-- server ns: client link 2001:db8:1::/64 (relay ::1),
server link 2001:db8:2::/64 (relay ::1, Kea ::2), DAD off."""
from __future__ import annotations

import json
import os
import re
import signal
from dataclasses import dataclass

import pytest

from harness.dhcp6_clients import (ClientRecord, client_record, namespace6, sbin,
                                   start_dhclient6, wait_link_local)
from harness.lessor import lessor_bin
from harness.netns import veth, wait_link_up
from harness.util import run, wait_for

LINK = "2001:db8:1::/64"
RELAY_DOWN, RELAY_UP, SERVER = "2001:db8:1::1", "2001:db8:2::1", "2001:db8:2::2"
POOL = ("2001:db8:1::1000", "2001:db8:1::10ff")
PREFERRED, VALID = 300, 600

LESSOR_CONF = f"""\
[server]
store = "lessor.db"

[dhcp6]
listen = ["{SERVER}"]

[[dhcp6.link]]
prefix = "{LINK}"
pools = ["{POOL[0]}-{POOL[1]}"]
prefix-pools = [{{ prefix = "2001:db8:100::/48", delegated-length = 56 }}]
"""


def kea_conf(leases: str) -> dict:
    return {"Dhcp6": {
        "interfaces-config": {"interfaces": [f"k6/{SERVER}"]},
        "lease-database": {"type": "memfile", "name": leases, "lfc-interval": 0},
        "server-id": {"type": "LLT", "persist": False},
        "store-extended-info": True,
        "preferred-lifetime": PREFERRED, "valid-lifetime": VALID,
        "renew-timer": 150, "rebind-timer": 240,
        "subnet6": [{
            "id": 1, "subnet": LINK,
            "pools": [{"pool": f"{POOL[0]}-{POOL[1]}"}],
            "pd-pools": [{"prefix": "2001:db8:100::", "prefix-len": 48, "delegated-len": 56}],
        }],
        "loggers": [{"name": "kea-dhcp6", "output_options": [{"output": "stdout"}],
                     "severity": "INFO"}],
    }}


@dataclass
class Migration:
    client: ClientRecord
    csv: str
    client_link_local: str
    import_out: str
    import_rc: int
    shown: dict               # address or prefix -> `lessor leases show --json`
    shown_text: dict          # address or prefix -> `lessor leases show`


@pytest.fixture
def mig(procs, artifacts) -> Migration:
    made = []
    try:
        for role in ("c6", "r6", "k6"):
            made.append(namespace6(role))
        client, relay, server = made
        veth(client, "c6", relay, "r6d")
        veth(relay, "r6u", server, "k6")
        relay.ip("-6", "addr", "add", f"{RELAY_DOWN}/64", "dev", "r6d", "nodad")
        relay.ip("-6", "addr", "add", f"{RELAY_UP}/64", "dev", "r6u", "nodad")
        server.ip("-6", "addr", "add", f"{SERVER}/64", "dev", "k6", "nodad")
        for ns, ifn in ((client, "c6"), (relay, "r6d"), (relay, "r6u"), (server, "k6")):
            wait_link_up(ns, ifn)
        for ns, ifn in ((client, "c6"), (relay, "r6d"), (relay, "r6u"), (server, "k6")):
            wait_link_local(ns, ifn)
        ll = client.ip("-6", "-o", "addr", "show", "dev", "c6", "scope", "link").stdout.split()[3]
        client_ll = ll.split("/")[0]

        # 1. Kea leases through the relay to dhclient -6 -N -P
        k = artifacts / "kea"
        k.mkdir()
        csv = k / "kea-leases6.csv"
        conf = k / "kea-dhcp6.json"
        conf.write_text(json.dumps(kea_conf(str(csv)), indent=2))
        env = dict(os.environ, KEA_PIDFILE_DIR=str(k), KEA_LOCKFILE_DIR=str(k))
        procs.run(server, "kea-check", [sbin("kea-dhcp6"), "-t", str(conf)], env=env)
        kea = procs.start(server, "kea-dhcp6", [sbin("kea-dhcp6"), "-c", str(conf)], env=env)
        kea.wait_output("DHCP6_STARTED", timeout=10)
        rl = procs.start(relay, "dhcrelay6", [sbin("dhcrelay"), "-6", "-d", "-I",
                                              "-pf", str(artifacts / "dhcrelay6.pid"),
                                              "-l", "r6d", "-u", f"{SERVER}%r6u"])
        rl.wait_output("Sending on", timeout=10)
        dhclient = start_dhclient6(procs, client, "c6", artifacts / "dhclient6")
        try:
            wait_for(lambda: dhclient.leasefile.exists() and
                     "iaprefix" in dhclient.leasefile.read_text() and
                     "iaaddr" in dhclient.leasefile.read_text(),
                     timeout=20, what="dhclient's address and prefix")
        except Exception as e:
            raise AssertionError(f"{e}\n--- dhclient ---\n{dhclient.proc.output()[-3000:]}\n"
                                 f"--- dhcrelay ---\n{rl.output()[-3000:]}\n"
                                 f"--- kea ---\n{kea.output()[-3000:]}") from None
        dhclient.proc.stop(signal.SIGKILL)     # no Release: the leases stay active
        rl.stop()
        kea.stop()
        text = csv.read_text()
        copy = artifacts / "kea-leases6-copy.csv"
        copy.write_text(text)

        # 2. lessor leases import --kea6 into a fresh store
        ldir = artifacts / "lessor"
        ldir.mkdir()
        lconf = ldir / "lessor.toml"
        lconf.write_text(LESSOR_CONF)
        imp = run([str(lessor_bin()), "leases", "import", "--kea6", str(copy),
                   "--config", str(lconf)], check=False)
        (artifacts / "import.out").write_text(imp.stdout + imp.stderr)

        # 3. what the store holds, for what the client got
        record = client_record(dhclient.leasefile.read_text())
        shown, shown_text = {}, {}
        for _, what in record.leased:
            base = [str(lessor_bin()), "leases", "show", what, "--config", str(lconf)]
            s = run(base + ["--json"], check=False)
            shown[what] = json.loads(s.stdout) if s.returncode == 0 else None
            shown_text[what] = run(base, check=False).stdout
        return Migration(record, text, client_ll, imp.stdout, imp.returncode, shown, shown_text)
    finally:
        procs.stop_all()
        for ns in made:
            ns.delete()


def test_kea_writes_the_relay_in_the_user_context(mig):
    header = mig.csv.splitlines()[0]
    assert header.startswith("address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,"
                             "lease_type,iaid,prefix_len,"), header
    assert "&#x2c" in mig.csv and '"ISC"' in mig.csv, mig.csv


def test_migration_keeps_client_relay_lifetimes_and_link(mig):
    assert mig.import_rc == 0, mig.import_out
    assert "imported 2: 2 active" in mig.import_out, mig.import_out
    assert "skipped 0" in mig.import_out, mig.import_out
    c = mig.client
    assert sorted(k for k, _ in c.leased) == ["na", "pd"], c
    for ia, what in c.leased:
        b = mig.shown.get(what)
        assert b is not None, (what, mig.shown, mig.import_out)
        assert b["ia_type"] == f"ia-{ia}", b
        assert b["state"] == "active", b
        assert bytes.fromhex(b["duid"]) == c.duid, (b, c.duid.hex())
        assert b["iaid"] == c.iaids[ia], (b, c.iaids)
        assert b["link"] == LINK, b
        assert b["valid_end"] - b["start"] == VALID, b
        assert b["preferred_end"] - b["start"] == PREFERRED, b
        # dhcrelay -I sends an interface-id (its interface index); the binding has the value Kea
        # recorded among the relay's options
        m = re.search(r'"options": "0x0012([0-9A-Fa-f]{4})([0-9A-Fa-f]*)"', mig.csv)
        assert m, mig.csv
        assert b["interface_id"] == m.group(2)[:2 * int(m.group(1), 16)].lower(), (b, m.group(0))
        assert b["relay_chain"] and b["relay_peer"] is None, b
        hop = [line for line in mig.shown_text[what].splitlines() if line.startswith("  hop 0")]
        assert hop and f"link-address {RELAY_DOWN}, peer-address {mig.client_link_local}" in hop[0], \
            mig.shown_text[what]
        assert "18 interface-id" in hop[0], hop
