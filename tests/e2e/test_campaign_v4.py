"""Issue 12 ("Hardening"), the live-server campaign: 1,000,000 mutated DHCP and leasequery
datagrams (from valid seeds) at `lessor serve` while ISC dhclient renews through ISC dhcrelay
and `lessor query` asks about the client's address (harness/campaign.py has the scenario and
the account, harness/mutate4.py the seeds and mutations, harness/flood4.py the sender).

The campaign runs once (module fixture); each check is its own test: the server stays up and
stops cleanly, the valid traffic is served during the flood, and every datagram is accounted
for, from the senders through the kernel to the server's counters.

LESSOR_CAMPAIGN_COUNT / _RATE / _SEED change the run (e.g. a quick local try with 50000)."""
from __future__ import annotations

import os

import pytest

from harness import campaign
from harness.shared import shared_setup

COUNT = int(os.environ.get("LESSOR_CAMPAIGN_COUNT", "1000000"))
RATE = float(os.environ.get("LESSOR_CAMPAIGN_RATE", "20000"))
SEED = int(os.environ.get("LESSOR_CAMPAIGN_SEED", "1"))


@pytest.fixture(scope="module")
def result(request, tmp_path_factory) -> campaign.Result:
    # the campaign builds (and tears down) its own namespaces; shared_setup gives the
    # artifacts directory that a failing test points at
    with shared_setup(request, tmp_path_factory, topology=None) as s:
        result = campaign.run_campaign(s.artifacts / "campaign", count=COUNT, rate=RATE, seed=SEED)
        print(result.summary())
        yield result


def check(result: campaign.Result, name: str) -> None:
    ok, seen = result.checks()[name]
    assert ok, f"{name}: {seen}"


def test_server_stays_up(result):
    check(result, campaign.ALIVE)


def test_server_stops_cleanly(result):
    check(result, campaign.STOPPED)


def test_every_datagram_was_sent(result):
    check(result, campaign.WHOLE)


def test_dhclient_renewals_are_acked_during_the_flood(result):
    check(result, campaign.RENEWED)


def test_dhclient_never_loses_its_lease(result):
    check(result, campaign.KEPT)


def test_every_leasequery_of_the_requester_is_answered_active(result):
    check(result, campaign.ANSWERED)


def test_the_capture_of_the_valid_traffic_is_complete(result):
    check(result, campaign.CAPTURED)


@pytest.mark.parametrize("equation", campaign.EQUATIONS)
def test_every_datagram_is_accounted_for(result, equation):
    check(result, equation)
