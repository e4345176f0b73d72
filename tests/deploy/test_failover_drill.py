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
# Seconds after the promotion within which the nodes and the proxy must serve again: about two
# here when the machine is idle; the bound leaves room for a machine shared with other work.
GRACE = 10.0
THREADS = 6  # the drill's default 2 requesters and 4 approvers
PAUSE = 0.25  # each thread's wait after an error (drill.Load)


def test_a_failover_under_load_keeps_every_confirmed_write_and_a_sound_chain():
    """One drill (a minute or more), checked as an operator would check it."""
    missing = [what for what, there in (("PostgreSQL server binaries", drill.postgres_bin()),
                                        ("HAProxy", drill.haproxy_available())) if not there]
    if missing:
        if os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail(f"the failover drill needs {' and '.join(missing)} (.ci/run installs them)")
        pytest.skip(f"{' and '.join(missing)} not installed")
    result = drill.run(detect=DETECT)
    drill.report(result, GRACE)  # the figures, in the test's output

    # Every filing and approval the pages confirmed is in the promoted standby, audited.
    assert result.sync_state == "sync"
    assert len(result.filed) >= 2 and len(result.approved) >= 2
    assert result.missing == {"submit": [], "approve": []}
    # The audit chain verifies, against the witness log of each node and of the setup.
    assert set(result.chain) == {"setup", "node1", "node2"}
    assert all(line.startswith("intact") for line in result.chain.values()), result.chain

    # Work was done before the stop and goes on after the promotion; errors only in between,
    # and no more than the threads' pauses allow over that window.
    assert any(a.ok and a.ended < result.stopped_at for a in result.answers)
    assert result.after_promotion >= 2
    outage = result.promoted_at + GRACE - result.stopped_at
    assert result.downtime is not None and result.downtime < outage
    assert result.outside_outage(GRACE) == []
    assert len(result.errors) <= THREADS * (outage / PAUSE + 1)

    # Both nodes served, and they count one sign-in limit: wrong sign-ins sent to node 1,
    # node 2, node 1, node 2 (the form from the other node) count down one count in Redis;
    # counts of their own would repeat.
    assert set(result.served) == {"node1", "node2"} and min(result.served.values()) > 0
    first = result.remaining[0]
    assert result.remaining == [first, first - 1, first - 2, first - 3]
