"""The deployment of README's "Deployment" run on loopback (scripts/failover_drill.py): two
`custody serve` nodes behind HAProxy with deploy/haproxy.cfg, a PostgreSQL primary and its
synchronous standby of the drill's own; the primary is stopped while requesters file and approvers
approve through the proxy, the standby is promoted, and the work goes on."""

from __future__ import annotations

import os

import pytest

from scripts import failover_drill as drill

pytestmark = pytest.mark.slow
DETECT = 2.0  # seconds from the primary's stop to the promotion (an operator or a monitor)
GRACE = 5.0  # seconds after the promotion within which the nodes and the proxy must recover


@pytest.fixture(scope="module")
def result() -> drill.Result:
    """One drill for the module's tests (it takes a minute or more)."""
    missing = [what for what, there in (("PostgreSQL server binaries", drill.postgres_bin()),
                                        ("HAProxy", drill.haproxy_available())) if not there]
    if missing:
        if os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail(f"the failover drill needs {' and '.join(missing)} (.ci/run installs them)")
        pytest.skip(f"{' and '.join(missing)} not installed")
    outcome = drill.run(detect=DETECT)
    drill.report(outcome, GRACE)  # the figures, in the test's output
    return outcome


def test_every_confirmed_filing_and_approval_survives_the_failover(result):
    assert result.sync_state == "sync"
    assert len(result.filed) >= 2 and len(result.approved) >= 2
    assert result.missing == {"submit": [], "approve": []}


def test_the_work_goes_on_after_the_promotion_with_errors_only_during_the_outage(result):
    assert result.after_promotion >= 2
    assert result.downtime is not None and result.downtime < DETECT + GRACE
    assert result.outside_outage(GRACE) == []
    # Each of the load's threads waits a quarter of a second after an error: no more errors
    # than that allows over the outage, and work done before it.
    threads = 6
    outage = result.promoted_at + GRACE - result.stopped_at
    assert len(result.errors) <= threads * (outage / 0.25 + 1)
    assert any(a.ok and a.ended < result.stopped_at for a in result.answers)


def test_the_audit_chain_verifies_against_every_witness_log(result):
    assert set(result.chain) == {"setup", "node1", "node2"}
    assert all(line.startswith("intact") for line in result.chain.values()), result.chain


def test_both_nodes_serve_and_count_one_sign_in_limit(result):
    assert set(result.served) == {"node1", "node2"}
    assert min(result.served.values()) > 0
    # Wrong sign-ins sent to node 1, node 2, node 1, node 2 (the form from the other node):
    # one count in Redis goes down by one each time; counts of their own would repeat.
    first = result.remaining[0]
    assert result.remaining == [first, first - 1, first - 2, first - 3]
