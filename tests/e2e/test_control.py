"""The control API end to end (issue 16, item 2; docs/operator-guide.md, "Control"): `lessor
serve` in the server namespace of a direct link with `[control]` socket, http-listen and
token-file; a real ISC dhclient in the client namespace gets a lease. Then, against the running
server: `lessor ctl lease-get` finds the binding by the client's MAC and by the address dhclient
wrote in its lease file, `lessor ctl leasequery` says it is active, the HTTP API answers 401
without the token and with a wrong one and 200 with it, `lessor ctl reload` after the lease time
was edited applies it (a second dhclient, another client identifier, gets the new lease time),
and `lessor ctl shutdown` stops the server.

One scenario, run once by a module-scoped fixture (its namespaces and processes torn down at the
end, whatever failed); each check over what it saw is its own test."""
from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pytest

from harness.isc import make_dhclient
from harness.lessor import LessorServer, Subnet4, lessor_bin, write_config
from harness.netns import TopologyDirect4
from harness.shared import shared_setup
from harness.util import wait_for

PORT = 9421
TOKEN = "e2e-control-token"


def mac_of(ns, ifname: str) -> str:
    return ns.ip("link", "show", ifname).stdout.split("link/ether ")[1].split()[0]


def lease_file_address(path) -> str:
    """The fixed-address of the last lease dhclient wrote."""
    found = re.findall(r"fixed-address\s+([0-9.]+);", path.read_text())
    assert found, path.read_text()
    return found[-1]


@pytest.fixture(scope="module")
def scenario(request, tmp_path_factory):
    with shared_setup(request, tmp_path_factory, TopologyDirect4) as s:
        t, procs, artifacts = s.topo, s.procs, s.artifacts
        work = artifacts / "lessor"
        work.mkdir()
        store, socket, token = work / "lessor.db", work / "control.sock", work / "control.token"
        token.write_text(TOKEN + "\n")
        token.chmod(0o600)
        config = write_config(work / "lessor.toml", identifier=t.server_addr, store=store,
                              listen=[t.server_addr], interfaces=[t.server_if], lease_time="10m",
                              subnets=[Subnet4(t.net, t.pool, routers=t.server_addr)])
        config.write_text(config.read_text() + "\n[control]\n"
                          f"socket = {json.dumps(str(socket))}\n"
                          f'http-listen = "{t.server_addr}:{PORT}"\n'
                          f"token-file = {json.dumps(str(token))}\n")
        srv = LessorServer(procs, t.server, config, store)
        srv.check()
        srv.start()
        srv.proc.wait_output("control: HTTP API on", timeout=10)

        def ctl(*args: str, check: bool = True):
            return t.server.run(str(lessor_bin()), "ctl", "--socket", str(socket), *args,
                                timeout=20, check=check)

        def ctl_json(*args: str) -> dict:
            return json.loads(ctl("--json", *args).stdout)

        def http(path: str, auth=None, body: str = "{}") -> tuple:
            argv = ["curl", "-sS", "--max-time", "10", "-o", "-", "-w", "\n%{http_code}",
                    "-X", "POST", "-d", body]
            if auth is not None:
                argv += ["-H", f"Authorization: Bearer {auth}"]
            out = t.server.run(*argv, f"http://{t.server_addr}:{PORT}{path}", timeout=20).stdout
            text, code = out.rsplit("\n", 1)
            return int(code), text

        mac = mac_of(t.client, t.client_if)
        c1 = make_dhclient(t.client, t.client_if, artifacts / "dhclient1", name="dhclient1")
        ev1 = c1.acquire(procs)
        leased = lease_file_address(c1.leasefile)
        by_mac = ctl_json("lease-get", "--mac", mac)
        by_address = ctl_json("lease-get", "--address", leased)
        query = ctl_json("leasequery", "--address", leased)
        no_token = http("/v1/statistics")
        wrong_token = http("/v1/statistics", auth="not-" + TOKEN)
        with_token = http("/v1/lease-get", auth=TOKEN, body=json.dumps({"mac": mac}))

        # reload: a shorter lease time, applied to a new client
        c1.stop()
        config.write_text(config.read_text().replace('lease-time = "10m"', 'lease-time = "7m"'))
        reload = ctl("reload", check=False)
        wait_for(lambda: "reload: applied" in srv.output() or None, timeout=10,
                 what="reload: applied in the server's log")
        c2 = make_dhclient(t.client, t.client_if, artifacts / "dhclient2", name="dhclient2",
                           extra_conf='send dhcp-client-identifier "lessor-e2e-second";\n')
        ev2 = c2.acquire(procs)
        c2.stop()

        shutdown = ctl_json("shutdown")
        rc = srv.proc.wait(20)
        yield SimpleNamespace(mac=mac, ev1=ev1, leased=leased, by_mac=by_mac,
                              by_address=by_address, query=query, no_token=no_token,
                              wrong_token=wrong_token, with_token=with_token, reload=reload,
                              ev2=ev2, shutdown=shutdown, rc=rc, log=srv.output(),
                              socket_left=socket.exists())


def test_dhclient_is_bound_with_the_configured_lease_time(scenario):
    assert scenario.ev1["reason"] == "BOUND", scenario.ev1
    assert scenario.ev1["new_ip_address"] == scenario.leased
    assert scenario.ev1["new_dhcp_lease_time"] == "600", scenario.ev1


def test_lease_get_by_mac_finds_the_lease(scenario):
    leases = scenario.by_mac["leases"]
    assert [l["address"] for l in leases] == [scenario.leased], scenario.by_mac
    assert leases[0]["state"] == "active", leases


def test_lease_get_by_the_address_in_dhclients_lease_file(scenario):
    leases = scenario.by_address["leases"]
    assert [l["mac"] for l in leases] == [scenario.mac], scenario.by_address


def test_leasequery_says_active(scenario):
    assert scenario.query["answer"] == "active", scenario.query
    assert scenario.query["binding"]["mac"] == scenario.mac, scenario.query


def test_http_refuses_without_the_token_and_with_a_wrong_one(scenario):
    for code, body in (scenario.no_token, scenario.wrong_token):
        assert code == 401, body
        assert json.loads(body)["ok"] is False, body


def test_http_answers_with_the_token(scenario):
    code, body = scenario.with_token
    assert code == 200, body
    answer = json.loads(body)
    assert answer["ok"] is True, answer
    assert [l["address"] for l in answer["leases"]] == [scenario.leased], answer


def test_reload_applies_the_new_lease_time(scenario):
    assert scenario.reload.returncode == 0, scenario.reload.stderr
    assert "applied" in scenario.reload.stdout, scenario.reload.stdout
    assert scenario.ev2["reason"] == "BOUND", scenario.ev2
    assert scenario.ev2["new_dhcp_lease_time"] == "420", scenario.ev2


def test_shutdown_stops_the_server(scenario):
    assert scenario.shutdown["ok"] is True, scenario.shutdown
    assert scenario.rc == 0, scenario.log[-3000:]
    assert "stopping: asked by the control API" in scenario.log, scenario.log[-3000:]
    assert not scenario.socket_left
