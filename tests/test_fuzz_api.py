"""Schemathesis over the OpenAPI document: generated requests to every operation, on both
back-ends, never get a 5xx nor raise. EXAMPLES per operation and back-end: with the API's
operations that is over 10,000 generated inputs per run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.helpers import system_token

EXAMPLES = 470
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
pytestmark = pytest.mark.fuzz


def test_no_generated_request_gets_a_server_error(app, backend):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = system_token(app)  # an outside body's software: files, follows, withdraws
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
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
    (ARTIFACTS / f"fuzz-api-{backend}.json").write_text(json.dumps(
        {"total": sum(seen.values()), "per_operation": seen}, indent=1))
