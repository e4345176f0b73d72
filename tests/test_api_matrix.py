"""Every API route × every role, with bearer tokens: who may read and who may act on a request
routed to the Hà Nội police (approval) and investigation agency (consent)."""

from __future__ import annotations

import pytest

from tests.helpers import version_of
from tests.test_access_matrix import ROLES
from tests.test_access_workflow import World, ask, person_with_stage
from workflow.enums import CaseStage

A, RQ, AP, CO, CL, IN, AD, DE, MA = ROLES
ON_ROUTE = {RQ: 200, AP: 200, CO: 200}

# endpoint → (method, path, body, expected status per signed-in role; others get `default`)
CASES = {
    # Lists: each role has its own (filers: theirs; deciders: their queues); others none.
    "api.Requests": ("GET", "/api/v1/requests", None, {IN: 403, AD: 403, MA: 403}, 200),
    "api.get_request": ("GET", "/api/v1/requests/{id}", None, ON_ROUTE, 404),
    "api.timeline": ("GET", "/api/v1/requests/{id}/timeline", None, ON_ROUTE, 404),
    "api.approve": ("POST", "/api/v1/requests/{id}/approve", {}, {RQ: 403, AP: 200, CO: 403},
                    404),
    "api.refuse": ("POST", "/api/v1/requests/{id}/refuse", {"reason_code": "purpose"},
                   {RQ: 403, AP: 200, CO: 403}, 404),
    "api.grant_consent": ("POST", "/api/v1/requests/{id}/consent", {"letter_ref": "CV 1"},
                          {RQ: 403, AP: 403, CO: 200}, 404),
    "api.refuse_consent": ("POST", "/api/v1/requests/{id}/refuse-consent",
                           {"reason_code": "harms_case"}, {RQ: 403, AP: 403, CO: 200}, 404),
    "api.return_for_supplement": ("POST", "/api/v1/requests/{id}/return",
                                  {"reason": "Bổ sung văn bản đề nghị"},
                                  {RQ: 403, AP: 200, CO: 200}, 404),
    # Deciders on the route see the request but may not act as its requester.
    "api.withdraw": ("POST", "/api/v1/requests/{id}/withdraw", {}, {RQ: 200, AP: 403, CO: 403},
                     404),
    "api.submit": ("POST", "/api/v1/requests/{id}/submit", None, {RQ: 409, AP: 403, CO: 403},
                   404),
    # Exchange: the exchange system account only (tests/test_exchange_api.py).
    "api.export_package": ("POST", "/api/v1/exchange/packages/export", {"source": "QP-QL"},
                           {}, 403),
    "api.import_package": ("POST", "/api/v1/exchange/packages", {
        "format": "custody-exchange/1", "source": "QP-QL", "sequence": 1,
        "created_at": "2026-11-25T00:00:00+00:00", "marks": {}, "records": [], "stages": [],
        "signature": {"key_id": "x", "value": "00"}}, {}, 403),
    "api.run_feed": ("POST", "/api/v1/exchange/agreements/1/feed", None, {}, 403),
}


def test_every_api_route_has_a_case(app):
    endpoints = {r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("api.")}
    # Filing and the preview are open to every filer and covered in tests/test_api.py.
    assert endpoints - {"api.preview"} == set(CASES)


@pytest.mark.parametrize("endpoint", sorted(CASES))
@pytest.mark.parametrize("role", [r for r in ROLES if r != A])
def test_each_role_over_the_api(app, db, runner, endpoint, role):
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        request_id = ask(world, "requester.vks",
                         person_with_stage(world, CaseStage.INVESTIGATION)).id
    token = runner.invoke(args=["create-token", "--username", role, "--name", "matrix"]
                          ).output.strip()
    method, path, body, expected, default = CASES[endpoint]
    if isinstance(body, dict) and "/requests/{id}/" in path:
        body = {**body, "version": version_of(db, request_id)}
    response = app.test_client().open(path.format(id=request_id), method=method, json=body,
                                      headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == expected.get(role, default), response.get_json()
