"""Schemathesis over the OpenAPI document: generated requests to every operation, on both
back-ends, never get a 5xx nor raise. EXAMPLES per operation and back-end: with the API's
operations that is 3,600 generated inputs in `make test` and 24,000 in `make fuzz`. And
Hypothesis over the ids of the requests operations: other bodies' requests answer exactly as
ones that do not exist."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.attacks.test_api_attacks import ACCOUNTS, EXCHANGE, FILER, OTHER, ROUTES
from tests.helpers import db_state, system_token
from tests.worlds import World, ask, person_with_stage
from workflow.models import AccessRequest, AuditEntry
from workflow.records.enums import CaseStage

# Inputs per operation and back-end: 150 in `make test` (3,600 requests a run, so that the suite
# fits in 8 minutes); `make fuzz` runs 1,000 (24,000 requests) and 200 inputs per form.
EXAMPLES = int(os.environ.get("CUSTODY_FUZZ_EXAMPLES", "150"))
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = pytest.mark.fuzz


SHARDS = 4  # the operations in four parts, so that the two test processes share them


@pytest.mark.parametrize("shard", range(SHARDS))
def test_no_generated_request_gets_a_server_error(app, backend, shard):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = system_token(app)  # an outside body's software: files, follows, withdraws
    every = sorted((result.ok() for result in schema.get_all_operations()),
                   key=lambda o: (o.path, o.method))
    assert len(every) >= 12
    operations = every[shard::SHARDS]
    seen: dict[str, int] = {}

    def fuzz(operation) -> None:
        label = f"{operation.method.upper()} {operation.path}"

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            response = case.call(headers=headers)
            seen[label] = seen.get(label, 0) + 1
            assert response.status_code < 500, (label, case.formatted_path,
                                                 response.text[:500])

        run()

    for operation in operations:
        fuzz(operation)
    assert sum(seen.values()) >= len(operations) * min(EXAMPLES, 50)
    ARTIFACTS.mkdir(exist_ok=True)  # how many inputs each operation got, for people to read
    (ARTIFACTS / f"fuzz-api-{backend}-{shard}.json").write_text(json.dumps(
        {"total": sum(seen.values()), "per_operation": seen}, indent=1))


OTHERS_EXAMPLES = 60


def test_other_bodies_requests_answer_as_ones_that_do_not_exist(app, db):
    """Every `/requests/{request_id}…` operation (from the URL map), called by system accounts
    that see no request (another province's procuracy, the exchange account) with the ids of
    requests that exist, all of other bodies, and with any other number: always 404 (never a
    200 or a 403 that tells the request exists, never a 5xx), one audit entry of the refusal,
    and nothing changed. OTHERS_EXAMPLES per operation and back-end."""
    headers = {name: system_token(app, name, *ACCOUNTS[name]) for name in ACCOUNTS}
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        ask(world, FILER, person_with_stage(world, CaseStage.INVESTIGATION))
    existing = sorted(db.scalars(select(AccessRequest.id)))
    assert len(existing) >= 2
    operations = sorted((method, rule.endpoint) for rule in app.url_map.iter_rules()
                        if rule.rule.startswith("/api/v1/requests/<int:request_id>")
                        for method in rule.methods - {"HEAD", "OPTIONS"})
    assert len(operations) >= 9
    client = app.test_client()
    # Ids outside 1..2**31-1 match no route at all (web.IdConverter): 404 before any token is
    # read, so nothing is written either.
    routed = st.integers(min_value=1, max_value=2 ** 31 - 1)
    ids = st.one_of(st.sampled_from(existing), routed, st.integers(min_value=0, max_value=2 ** 70))

    def attack(method: str, endpoint: str) -> None:
        path, body, _statuses = ROUTES[(method, endpoint)]

        @given(request_id=ids, caller=st.sampled_from([OTHER, EXCHANGE]),
               version=st.integers(min_value=0, max_value=2 ** 40))
        @settings(max_examples=OTHERS_EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(request_id, caller, version):
            start = db.scalar(select(func.max(AuditEntry.seq)))
            sent = None if body is None else {**body, "version": version}
            response = client.open("/api/v1" + path.format(id=request_id), method=method,
                                   json=sent, headers=headers[caller])
            assert response.status_code == 404, (endpoint, request_id, response.get_json())
            written = db.execute(select(AuditEntry.action, AuditEntry.actor_name).where(
                AuditEntry.seq > start)).all()
            refusal = [("access.refused", caller)] if 1 <= request_id < 2 ** 31 else []
            assert written == refusal, (endpoint, request_id, written)

        run()

    for method, endpoint in operations:
        before = db_state(db)
        attack(method, endpoint)
        assert db_state(db) == before, endpoint
