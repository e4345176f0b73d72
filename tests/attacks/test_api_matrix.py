"""Every API route × every kind of account that may hold a token (system accounts: an outside
body's software that files requests, the exchange account), on a request routed to the Hà Nội
police (approval) and investigation agency (consent); and every person's account, which gets no
token: a person signs in with two factors, and decisions need a fresh sign-in."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import func, select

from tests.attacks.test_access_matrix import ROLES
from tests.helpers import system_token, version_of
from tests.worlds import World, ask, person_with_stage
from workflow.models import ApiToken, User
from workflow.records.enums import CaseStage

FILER, OTHER, EXCHANGE = "system.vks", "system.vks.hcm", "exchange.centre"
ACCOUNTS = {FILER: ("VKS-HANOI", "requester"), OTHER: ("VKS-HOCHIMINH", "requester"),
            EXCHANGE: ("TTCSDL", "exchange")}
DECISION = {FILER: 403}  # the filer may see its request, but no token decides

# endpoint → (method, path, body, expected status per account; others get `default`)
CASES = {
    # Lists: a filer has its own; the exchange account has none.
    "api.Requests": ("GET", "/api/v1/requests", None, {EXCHANGE: 403}, 200),
    "api.get_request": ("GET", "/api/v1/requests/{id}", None, {FILER: 200}, 404),
    "api.timeline": ("GET", "/api/v1/requests/{id}/timeline", None, {FILER: 200}, 404),
    "api.approve": ("POST", "/api/v1/requests/{id}/approve", {}, DECISION, 404),
    "api.refuse": ("POST", "/api/v1/requests/{id}/refuse", {"reason_code": "purpose"},
                   DECISION, 404),
    "api.grant_consent": ("POST", "/api/v1/requests/{id}/consent", {"letter_ref": "CV 1"},
                          DECISION, 404),
    "api.refuse_consent": ("POST", "/api/v1/requests/{id}/refuse-consent",
                           {"reason_code": "harms_case"}, DECISION, 404),
    "api.return_for_supplement": ("POST", "/api/v1/requests/{id}/return",
                                  {"reason": "Bổ sung văn bản đề nghị"}, DECISION, 404),
    "api.withdraw": ("POST", "/api/v1/requests/{id}/withdraw", {}, {FILER: 200}, 404),
    "api.submit": ("POST", "/api/v1/requests/{id}/submit", None, {FILER: 409}, 404),
    # Exchange: the exchange account's own cases are in tests/exchange/test_exchange_api.py.
    "api.export_package": ("POST", "/api/v1/exchange/packages/export", {"source": "QP-QL"},
                           {}, 403),
    "api.import_package": ("POST", "/api/v1/exchange/packages", {
        "format": "custody-exchange/1", "source": "QP-QL", "sequence": 1,
        "created_at": "2026-11-25T00:00:00+00:00", "marks": {}, "records": [], "stages": [],
        "signature": {"key_id": "x", "value": "00"}}, {}, 403),
    "api.run_feed": ("POST", "/api/v1/exchange/agreements/1/feed", None, {}, 403),
}
PAIRS = [(endpoint, account) for endpoint in sorted(CASES) for account in ACCOUNTS
         if not (account == EXCHANGE and "exchange" in CASES[endpoint][1])]


def test_every_api_route_has_a_case(app):
    endpoints = {r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("api.")}
    # Filing and the preview are open to every filer and covered in tests/web/test_api.py.
    assert endpoints - {"api.preview"} == set(CASES)


@pytest.mark.parametrize(("endpoint", "account"), PAIRS)
def test_each_system_account_over_the_api(app, db, endpoint, account):
    headers = {name: system_token(app, name, *ACCOUNTS[name]) for name in ACCOUNTS}
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        request_id = ask(world, FILER, person_with_stage(world, CaseStage.INVESTIGATION)).id
    method, path, body, expected, default = CASES[endpoint]
    if isinstance(body, dict) and "/requests/{id}/" in path:
        body = {**body, "version": version_of(db, request_id)}
    response = app.test_client().open(path.format(id=request_id), method=method, json=body,
                                      headers=headers[account])
    assert response.status_code == expected.get(account, default), response.get_json()


@pytest.mark.parametrize("username", [r for r in ROLES if r != "anonymous"])
def test_no_person_holds_a_token(app, runner, db, username):
    result = runner.invoke(args=["create-token", "--username", username, "--name", "matrix"])
    assert result.exit_code != 0 and "only for system accounts" in result.output
    assert db.scalar(select(func.count()).select_from(ApiToken)) == 0
    # A token a person was given before this rule acts no more.
    user_id = db.scalar(select(User.id).where(User.username == username))
    old = "cst_issued-before-the-rule"
    db.add(ApiToken(user_id=user_id, name="old", token_hash=hashlib.sha256(old.encode())
                    .hexdigest(), expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=9)))
    db.commit()
    response = app.test_client().get("/api/v1/requests", headers={"Authorization":
                                                                  f"Bearer {old}"})
    assert response.status_code == 401
