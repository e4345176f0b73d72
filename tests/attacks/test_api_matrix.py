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
from workflow.models import ApiToken, Person, User
from workflow.records.enums import CaseStage

FILER, OTHER, EXCHANGE = "system.vks", "system.vks.hcm", "exchange.centre"
ACCOUNTS = {FILER: ("VKS-HANOI", "requester"), OTHER: ("VKS-HOCHIMINH", "requester"),
            EXCHANGE: ("TTCSDL", "exchange")}
DECISION = {FILER: 403}  # the filer may see its request, but no token decides

ASK = {"format": "custody-ask/1", "receiver": "TTCSDL", "source": "QP-QL",
       "records": [{"type": "person", "id": 1}], "signed_at": "2026-11-25T00:00:00+00:00",
       "signature": {"key_id": "x", "value": "00"}}
RECEIPT = {"format": "custody-receipt/1", "receiver": "TTCSDL", "source": "QP-QL", "sequence": 1,
           "sha256": "0" * 64, "outcome": "applied", "conflicts": [],
           "signed_at": "2026-11-25T00:00:00+00:00",
           "signature": {"key_id": "x", "value": "00"}}

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
    "api.extend": ("POST", "/api/v1/requests/{id}/extend",
                   {"reason": "Cần xác minh thêm với trại tạm giam"}, DECISION, 404),
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
    "api.sent_packages": ("GET", "/api/v1/exchange/packages/sent?source=QP-QL", None, {}, 403),
    "api.record_receipt": ("POST", "/api/v1/exchange/receipts", RECEIPT, {}, 403),
    # Asking a sender for records again: the receiving exchange account (none marked: 422).
    "api.make_ask": ("POST", "/api/v1/exchange/asks/make", {"source": "QP-QL"},
                     {EXCHANGE: 422}, 403),
    "api.record_ask": ("POST", "/api/v1/exchange/asks", ASK, {}, 403),
    # Documents: the filer sees its request's (none yet); no document has these ids or code.
    "api.documents": ("GET", "/api/v1/requests/{id}/documents", None, {FILER: 200}, 404),
    "api.download": ("GET", "/api/v1/documents/{id}/download", None, {}, 404),
    "api.letter": ("GET", "/api/v1/documents/{id}/letter", None, {}, 404),
    "api.verify": ("GET", "/api/v1/verify/AAAA-BBBB-CCCC-DDDD", None, {}, 404),
    # The releaser's acts on an extract: no token prepares, previews, releases or revokes one
    # (403 with the reason, to the filer that sees the request); who sees no request gets 404,
    # and the preview, named by a document alone, is refused to every token before it is read.
    "api.prepare_extract": ("POST", "/api/v1/requests/{id}/extract", {}, DECISION, 404),
    "api.preview_extract": ("GET", "/api/v1/documents/1/preview", None, {}, 403),
    "api.release_extract": ("POST", "/api/v1/requests/{id}/extract/1/release",
                            {"sha256": "a" * 64}, DECISION, 404),
    "api.revoke_extract": ("POST", "/api/v1/requests/{id}/extract/1/revoke",
                           {"reason": "Cung cấp nhầm người"}, DECISION, 404),
    # An extract read as data: no document has this id (its recipients' own: test_api.py's
    # neighbour tests/web/test_api_integration.py).
    "api.extract_contents": ("GET", "/api/v1/documents/{id}/contents", None, {}, 404),
    # Webhooks: each requesting body's software its own; the exchange account has none.
    "api.webhooks": ("GET", "/api/v1/webhooks", None, {EXCHANGE: 403}, 200),
    "api.register_webhook": ("POST", "/api/v1/webhooks", {"url": "https://hooks.example.vn/c"},
                             {EXCHANGE: 403}, 201),
    "api.disable_webhook": ("POST", "/api/v1/webhooks/999999/disable", None, {EXCHANGE: 403},
                            404),
    "api.webhook_deliveries": ("GET", "/api/v1/webhooks/999999/deliveries", None,
                               {EXCHANGE: 403}, 404),
}


def test_every_api_route_has_a_case(app):
    endpoints = {r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("api.")}
    # Filing and the preview are open to every filer and covered in tests/web/test_api.py.
    assert endpoints - {"api.preview"} == set(CASES)


@pytest.mark.parametrize("account", ACCOUNTS)
def test_each_system_account_over_the_api(app, db, account):
    """Every route called by the account, each on a request of its own (one database for the
    account's calls: a decision on one request leaves the others as they were)."""
    headers = {name: system_token(app, name, *ACCOUNTS[name]) for name in ACCOUNTS}[account]
    got, wanted = {}, {}
    with app.extensions["custody_sessions"]() as session:
        person_id = person_with_stage(World(session), CaseStage.INVESTIGATION).id
    for endpoint, (method, path, body, expected, default) in sorted(CASES.items()):
        if account == EXCHANGE and "exchange" in path:
            continue  # the exchange account's own cases: tests/exchange/test_exchange_api.py
        with app.extensions["custody_sessions"]() as session:
            request_id = ask(World(session), FILER, session.get(Person, person_id)).id
        if isinstance(body, dict) and "/requests/{id}/" in path:
            body = {**body, "version": version_of(db, request_id)}
        response = app.test_client().open(path.format(id=request_id), method=method,
                                          json=body, headers=headers)
        got[endpoint] = response.status_code
        wanted[endpoint] = expected.get(account, default)
    assert len(got) >= 10
    assert got == wanted


def test_no_person_holds_a_token(app, runner, db):
    """No person's account gets a token, and one a person was given before the rule is
    refused."""
    for username in [r for r in ROLES if r != "anonymous"]:
        result = runner.invoke(args=["create-token", "--username", username, "--name", "m"])
        assert result.exit_code != 0 and "only for system accounts" in result.output, username
        user_id = db.scalar(select(User.id).where(User.username == username))
        assert db.scalar(select(func.count()).select_from(ApiToken).where(
            ApiToken.user_id == user_id)) == 0, username
        old = f"cst_issued-before-the-rule-to-{username}"
        db.add(ApiToken(user_id=user_id, name="old", token_hash=hashlib.sha256(
            old.encode()).hexdigest(), expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=9)))
        db.commit()
        response = app.test_client().get("/api/v1/requests",
                                         headers={"Authorization": f"Bearer {old}"})
        assert response.status_code == 401, username
