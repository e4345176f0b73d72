"""API tokens (issue 12, finding 8): only for system accounts, with an expiry, revoked from the
command line or the account's page, refused once the account is disabled or locked, and each use
audited with the token's id and name."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from tests.conftest import Auth
from tests.helpers import last_audit, org, system_token
from workflow.context import SYSTEM
from workflow.enums import Role
from workflow.errors import InvalidInput
from workflow.models import ApiToken, AuditEntry, User
from workflow.security import accounts, tokens


def _token_row(db, username: str = "system.vks") -> ApiToken:
    db.expire_all()
    return db.scalars(select(ApiToken).join(User).where(User.username == username)
                      .order_by(ApiToken.id.desc())).first()


def _get(client, headers):
    return client.get("/api/v1/requests", headers=headers)


def test_a_person_gets_no_token(runner, db):
    result = runner.invoke(args=["create-token", "--username", "requester.vks", "--name", "x"])
    assert result.exit_code != 0
    assert "only for system accounts" in result.output
    assert db.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_a_system_account_holds_no_deciding_role_and_never_signs_in(app, client, db):
    with app.extensions["custody_sessions"]() as session, pytest.raises(InvalidInput):
        accounts.create_user(session, SYSTEM, username="robot.approver", full_name="R",
                             organisation_id=org(session, "CA-HANOI").id,
                             roles={Role.APPROVER}, password="một cụm từ đủ dài", system=True)
    system_token(app)
    response = Auth(client).login("system.vks", "hệ thống không đăng nhập")
    assert response.status_code == 422
    assert json.loads(last_audit(db, "auth.login").details) == {"reason": "system account"}


def test_tokens_expire_after_the_configured_days(app, runner, client, db):
    headers = system_token(app)  # creates the account
    app.config["API_TOKEN_DAYS"] = 30
    out = runner.invoke(args=["create-token", "--username", "system.vks", "--name", "feed"])
    assert out.exit_code == 0, out.output
    row = _token_row(db)
    assert row.expires_at - row.created_at == dt.timedelta(days=30)
    out = runner.invoke(args=["create-token", "--username", "system.vks", "--name", "week",
                              "--days", "7"])
    row = _token_row(db)
    assert row.name == "week" and row.expires_at - row.created_at == dt.timedelta(days=7)
    assert _get(client, headers).status_code == 200
    first = db.scalars(select(ApiToken).order_by(ApiToken.id)).first()
    first.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    db.commit()
    assert _get(client, headers).status_code == 401
    entry = last_audit(db, "api.token")
    assert entry.outcome == "failure" and entry.object_id == str(first.id)
    assert json.loads(entry.details)["reason"] == "expired"


def test_the_command_line_revokes_a_token(app, runner, client, db):
    headers = system_token(app)
    row = _token_row(db)
    listing = runner.invoke(args=["list-tokens", "--username", "system.vks"])
    assert listing.output.startswith(f"{row.id}\ttest\t")
    assert _get(client, headers).status_code == 200
    result = runner.invoke(args=["revoke-token", str(row.id)])
    assert result.exit_code == 0, result.output
    assert _get(client, headers).status_code == 401
    assert last_audit(db, "admin.token_revoke").object_id == str(row.id)
    again = runner.invoke(args=["revoke-token", str(row.id)])
    assert again.exit_code != 0 and "already revoked" in again.output


def test_an_administrator_revokes_a_token_on_the_account_page(app, client, auth, db):
    headers = system_token(app)
    row = _token_row(db)
    user_id = row.user_id
    auth.login("admin")
    app.config["WTF_CSRF_ENABLED"] = True
    page = client.get(f"/admin/users/{user_id}").get_data(as_text=True)
    assert "Mã truy cập API" in page and "test" in page
    url = f"/admin/users/{user_id}/tokens/{row.id}/revoke"
    assert client.post(url, data={"confirm": "y"}).status_code == 400  # no CSRF token
    app.config["WTF_CSRF_ENABLED"] = False
    client.post(url, data={})  # not confirmed
    assert _token_row(db).revoked_at is None and _get(client, headers).status_code == 200
    other = db.scalar(select(User.id).where(User.username == "clerk.hcm"))
    assert client.post(f"/admin/users/{other}/tokens/{row.id}/revoke",
                       data={"confirm": "y"}).status_code == 404  # not that account's
    assert client.post(url, data={"confirm": "y"}).status_code == 302
    assert _token_row(db).revoked_at is not None
    assert _get(client, headers).status_code == 401
    entry = last_audit(db, "admin.token_revoke")
    assert entry.actor_name == "admin" and json.loads(entry.details)["name"] == "test"


@pytest.mark.parametrize("change", ["disable", "lock"])
def test_a_disabled_or_locked_account_token_stops_working(app, client, db, change):
    headers = system_token(app)
    assert _get(client, headers).status_code == 200
    user = db.scalars(select(User).where(User.username == "system.vks")).one()
    if change == "disable":
        user.active = False
    else:
        user.locked_at = dt.datetime.now(dt.UTC)
    db.commit()
    assert _get(client, headers).status_code == 401
    reason = json.loads(last_audit(db, "api.token").details)["reason"]
    assert reason == {"disable": "account disabled", "lock": "account locked"}[change]
    with app.extensions["custody_sessions"]() as session:
        user = session.get(User, user.id)
        with pytest.raises(Exception, match="disabled or locked"):
            tokens.issue(session, SYSTEM, user, "new")


def test_each_use_is_audited_once_with_the_token(app, client, db):
    headers = system_token(app)
    row = _token_row(db)
    start = db.scalar(select(func.max(AuditEntry.seq)))
    assert _get(client, headers).status_code == 200
    assert client.get("/api/v1/requests/999999", headers=headers).status_code == 404
    entries = db.scalars(select(AuditEntry).where(AuditEntry.seq > start)
                         .order_by(AuditEntry.seq)).all()
    # One entry of the token's use per request, besides what the operation itself records; a
    # refused request has one entry, its refusal, naming the token.
    assert [(e.action, e.outcome) for e in entries] == [
        ("request.list", "success"), ("api.token", "success"), ("access.refused", "denied")]
    used, refused = entries[1:]
    assert used.actor_name == "system.vks" and used.object_type == "token"
    assert used.object_id == str(row.id) and json.loads(used.details)["name"] == "test"
    assert refused.actor_name == "system.vks" and refused.object_id == "api.get_request"
    assert json.loads(refused.details) | {"reason": "-"} == {
        "status": 404, "reason": "-", "method": "GET", "token": row.id, "token_name": "test"}
    assert _token_row(db).last_used_at is not None


def test_a_call_without_a_token_is_audited_once(client, db):
    start = db.scalar(select(func.max(AuditEntry.seq)))
    assert client.get("/api/v1/requests").status_code == 401
    [entry] = db.scalars(select(AuditEntry).where(AuditEntry.seq > start)).all()
    assert (entry.action, entry.outcome, entry.actor_name) == ("api.token", "failure", None)
    assert json.loads(entry.details)["reason"] == "missing"
