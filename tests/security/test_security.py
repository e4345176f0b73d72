"""The web surface: security headers, no caching of personal pages and files, the system-use
notice before sign-in, and passwords that are not on the common and breached list."""

from __future__ import annotations

import datetime as dt
import json
import os

import pytest
from sqlalchemy import select

from tests.conftest import Auth, password_of
from tests.helpers import code_for, last_audit, system_token
from web import create_app
from workflow.context import Actor
from workflow.errors import InvalidInput
from workflow.models import AuditEntry, User
from workflow.security import accounts
from workflow.security import passwords as hashing


def test_every_page_carries_the_security_headers(client, auth):
    for response in (client.get("/login"), client.get("/verify"), client.get("/nowhere")):
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert "Strict-Transport-Security" not in response.headers  # plain HTTP here
    secure = client.get("/login", base_url="https://custody.example.vn")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_personal_pages_and_files_are_never_cached(client, auth):
    auth.login("clerk.hanoi")
    for path in ("/", "/search", "/requests/form.pdf", "/nowhere"):
        response = client.get(path)
        assert response.headers["Cache-Control"] == "no-store", path
    assert "no-store" not in client.get("/static/app.css").headers.get("Cache-Control", "")


def test_the_system_use_notice_must_be_acknowledged_before_sign_in(client, db):
    page = client.get("/login").get_data(as_text=True)
    assert "Hệ thống nhà nước hạn chế truy cập" in page and "có thể bị thanh tra" in page
    response = client.post("/login", data={"username": "clerk.hanoi",
                                           "password": password_of("clerk.hanoi")})
    assert response.status_code == 422
    assert "Xác nhận đã đọc thông báo để đăng nhập." in response.get_data(as_text=True)
    assert client.get("/search").status_code == 302
    assert db.scalar(select(AuditEntry.seq).where(AuditEntry.action == "auth.login")) is None
    response = client.post("/login", data={"username": "clerk.hanoi", "acknowledge": "y",
                                           "password": password_of("clerk.hanoi")})
    assert response.status_code == 302
    assert last_audit(db, "auth.login").details == '{"notice": "acknowledged"}'


@pytest.mark.parametrize("password", ["password123", "Qwertyuiop", "iloveyou1", "12345678"])
def test_common_and_breached_passwords_are_refused(password):
    with pytest.raises(InvalidInput):
        accounts.check_password_policy(password)


@pytest.mark.skipif(not hasattr(os, "getpriority"), reason="thread priorities are Linux's")
def test_password_checks_run_below_the_pages_priority_and_still_decide_rightly():
    # A sign-in rush (argon2id: ~0.2 s of CPU a check) must queue behind pages, not before them.
    assert hashing.in_background(os.getpriority, os.PRIO_PROCESS, 0) >= hashing.NICENESS
    assert os.getpriority(os.PRIO_PROCESS, 0) < hashing.NICENESS  # the caller's is untouched
    stored = hashing.hash_password("một cụm từ dài để nhớ")
    assert stored.startswith("$argon2id$")
    assert hashing.verify(stored, "một cụm từ dài để nhớ")
    assert not hashing.verify(stored, "một cụm từ dài để quên")
    assert not hashing.verify("not a hash", "một cụm từ dài để nhớ")


def test_long_passphrases_are_welcome():
    accounts.check_password_policy("một cụm từ dài để nhớ " * 3)  # 66 characters
    with pytest.raises(InvalidInput):
        accounts.check_password_policy("x" * 129)


def test_a_common_password_is_refused_on_change_and_nothing_changes(client, auth):
    auth.login("clerk.hanoi")
    response = client.post("/password", data={"current": password_of("clerk.hanoi"),
                                              "new": "password1", "confirm": "password1"})
    assert response.status_code == 422
    assert "danh sách mật khẩu phổ biến" in response.get_data(as_text=True)
    auth.logout()
    assert auth.login("clerk.hanoi").status_code == 302


def test_five_failures_lock_the_account_until_an_administrator_unlocks_it(app, client, auth,
                                                                          db):
    for _ in range(5):
        assert auth.login("clerk.hanoi", "not-the-password").status_code == 422
    locked = auth.login("clerk.hanoi")  # the right password, but the account is locked now
    unknown = auth.login("no.such.user", "whatever-it-is")
    assert locked.status_code == unknown.status_code == 422
    assert "tài khoản đã bị khóa" in locked.get_data(as_text=True)
    assert client.get("/search").status_code == 302
    lockout = last_audit(db, "auth.lockout")
    assert lockout.actor_name == "clerk.hanoi" and lockout.outcome == "denied"
    user = db.scalars(select(User).where(User.username == "clerk.hanoi")).one()
    admin = app.test_client()
    Auth(admin).login("admin")
    page = admin.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "Mở khóa tài khoản" in page
    assert admin.post(f"/admin/users/{user.id}/unlock").status_code == 302
    assert last_audit(db, "admin.unlock").object_id == str(user.id)
    assert auth.login("clerk.hanoi").status_code == 302


def test_failures_spread_over_more_than_15_minutes_do_not_lock(app, db):
    with app.extensions["custody_sessions"]() as session:
        start = dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)
        for minute in (0, 5, 10, 16, 21, 26):
            accounts.authenticate(session, Actor(None, "10.0.0.1", start + dt.timedelta(
                minutes=minute)), "clerk.hanoi", "not-the-password")
        session.commit()
        user = session.scalars(select(User).where(User.username == "clerk.hanoi")).one()
        assert user.locked_at is None and user.failed_logins == 3


def test_sign_in_is_rate_limited_per_address(app, client):
    app.config["RATELIMIT_SIGN_IN"] = "4 per minute"
    answers = [client.post("/login", data={"username": f"user{i}", "password": "x" * 8,
                                           "acknowledge": "y"}).status_code
               for i in range(6)]
    assert answers == [422, 422, 422, 422, 429, 429]
    response = client.post("/login", data={"username": "clerk.hanoi", "acknowledge": "y",
                                           "password": password_of("clerk.hanoi")})
    assert response.status_code == 429 and "Retry-After" in response.headers


def test_rate_limits_are_shared_through_redis_when_configured(database_url):
    import redis

    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/15").ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    redis.Redis.from_url("redis://127.0.0.1:6379/15").flushdb()
    config = {"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "test-secret",
              "WTF_CSRF_ENABLED": False, "RATELIMIT_SIGN_IN": "3 per minute",
              "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/15"}
    # Two application instances (two workers) count the same address together.
    first, second = create_app(config).test_client(), create_app(config).test_client()
    data = {"username": "nobody", "password": "x" * 8, "acknowledge": "y"}
    answers = [c.post("/login", data=data).status_code for c in (first, second, first, second)]
    assert answers == [422, 422, 422, 429]


def test_behind_a_trusted_proxy_each_client_has_its_own_sign_in_limit(database_url, db,
                                                                      tmp_path):
    client = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "test-secret",
                         "WTF_CSRF_ENABLED": False, "RATELIMIT_SIGN_IN": "2 per minute",
                         "AUDIT_SIGNING_KEY": str(tmp_path / "audit-key.pem"),
                         "AUDIT_WITNESS_LOG": str(tmp_path / "witness.log"),
                         "PROXIES": 1}).test_client()

    def attempt(chain: str) -> int:
        return client.post("/login", data={"username": "nobody", "password": "x" * 8,
                                           "acknowledge": "y"},
                           headers={"X-Forwarded-For": chain}).status_code

    # The proxy appends the address it saw; what a client wrote before it is not believed.
    assert [attempt("203.0.113.5"), attempt("10.9.9.9, 203.0.113.5")] == [422, 422]
    assert attempt("203.0.113.5") == 429
    assert attempt("203.0.113.9") == 422
    assert last_audit(db, "auth.login").ip == "203.0.113.9"


def test_without_a_trusted_proxy_a_forwarded_address_is_not_believed(app, client):
    app.config["RATELIMIT_SIGN_IN"] = "2 per minute"
    answers = [client.post("/login", data={"username": "nobody", "password": "x" * 8,
                                           "acknowledge": "y"},
                           headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code
               for i in range(3)]
    assert answers == [422, 422, 429]


def _age(db, **fields) -> None:
    """Move every open session's clock back."""
    from workflow.models import UserSession

    for row in db.scalars(select(UserSession).where(UserSession.ended_at.is_(None))):
        for name, delta in fields.items():
            setattr(row, name, getattr(row, name) - delta)
    db.flush()


def test_an_idle_session_ends_after_30_minutes(client, auth, db):
    auth.login("clerk.hanoi")
    assert client.get("/search").status_code == 200
    _age(db, last_seen_at=dt.timedelta(minutes=31))
    response = client.get("/search")
    assert response.status_code == 302 and "/login" in response.location
    assert "30 phút" in client.get("/login").get_data(as_text=True)
    assert client.get("/search").status_code == 302  # the session stays ended
    assert json.loads(last_audit(db, "auth.session_end").details) == {"reason": "idle"}


def test_a_session_ends_after_12_hours_however_busy(client, auth, db):
    auth.login("clerk.hanoi")
    _age(db, created_at=dt.timedelta(hours=12, minutes=1))
    assert client.get("/search").status_code == 302


def test_sign_out_password_change_and_disablement_end_sessions_everywhere(app, client, auth,
                                                                          db):
    def signed_in(username: str):
        other = app.test_client()
        Auth(other).login(username)
        assert other.get("/").status_code == 200
        return other

    # Three sign-ins of one account would wait for a third authenticator step (~30 s): the
    # laptop is another account's.
    laptop = signed_in("approver.hanoi")
    cookie = laptop.get_cookie("session")
    assert laptop.post("/logout").status_code == 302
    replay = app.test_client()  # the old cookie, replayed, opens nothing
    replay.set_cookie("session", cookie.value)
    assert replay.get("/search").status_code == 302

    desk, phone = signed_in("clerk.hanoi"), signed_in("clerk.hanoi")
    response = desk.post("/password", data={"current": password_of("clerk.hanoi"),
                                            "new": "một cụm từ mới dài", "confirm":
                                            "một cụm từ mới dài"})
    assert response.status_code == 302
    assert desk.get("/search").status_code == 200 and phone.get("/search").status_code == 302

    victim = signed_in("clerk.hcm")
    admin = signed_in("admin")
    user = db.scalars(select(User).where(User.username == "clerk.hcm")).one()
    admin.post(f"/admin/users/{user.id}", data={"roles": ["clerk"], "clearance": "none"})
    assert victim.get("/search").status_code == 302


def test_decisions_need_a_fresh_sign_in_that_keeps_what_was_typed(app, client, auth, db):
    from workflow.models import AccessRequest

    request_id = db.scalars(select(AccessRequest.id).where(
        AccessRequest.state == "awaiting_approval").order_by(AccessRequest.id)).first()
    url = f"/requests/{request_id}"
    auth.login("approver.hanoi")
    app.config["FRESH_SIGN_IN_MINUTES"] = 20  # the page states the window configured
    _age(db, authenticated_at=dt.timedelta(minutes=21), last_seen_at=dt.timedelta(minutes=1))
    before = db.get(AccessRequest, request_id).version
    typed = "Mục đích nêu chung chung, không gắn với vụ việc nào"
    data = {"action": "refuse", "refuse-reason_code": "purpose", "refuse-text": typed,
            "version": str(before)}
    asked = client.post(url, data=data)
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "20 phút" in page and "30 phút" not in page
    assert f'value="{typed}"' in page and 'name="reauth-password"' in page
    db.expire_all()
    assert db.get(AccessRequest, request_id).version == before
    assert client.get(url).status_code == 200  # reading is fine
    wrong = client.post(url, data=data | {"reauth-password": "not-my-password"})
    assert wrong.status_code == 422 and f'value="{typed}"' in wrong.get_data(as_text=True)
    db.expire_all()
    assert db.get(AccessRequest, request_id).version == before
    # Confirmed: the decision goes on where it was, to its check page, with what was typed.
    back = client.post(url, data=data | {"reauth-password": password_of("approver.hanoi"),
                                         "reauth-code": code_for(db, "approver.hanoi")})
    page = back.get_data(as_text=True)
    assert back.status_code == 200 and "Kiểm tra trước khi quyết định" in page and typed in page
    # The check page carries the decision on, never the password and code just typed.
    assert password_of("approver.hanoi") not in page and 'name="reauth-' not in page
    assert client.post(url, data=data | {"confirmed": "yes"}).status_code == 302
    db.expire_all()
    refused = db.get(AccessRequest, request_id)
    assert refused.state.value == "refused" and typed in refused.steps[-1].reason_text


def test_an_oversized_body_is_refused_before_it_is_read(client, auth):
    auth.login("clerk.hanoi")
    response = client.post("/requests/new", data={"purpose": "x" * (13 * 1024 * 1024)})
    assert response.status_code == 413


@pytest.mark.parametrize("path", ["/login", "/search", "/requests/new"])
def test_a_nul_character_in_a_field_is_refused_not_a_server_error(client, auth, path):
    # Found by the form fuzzer on PostgreSQL, which cannot even compare text holding one.
    if path != "/login":
        auth.login("clerk.hanoi")
    response = client.post(path, data={"username": "\x00", "password": "0", "q": "a\x00b",
                                       "purpose": "\x00", "acknowledge": "y"})
    assert response.status_code == 400
    assert client.get(f"{path}?next=%00").status_code == 400


def test_a_nul_character_in_a_json_body_is_refused_not_a_server_error(client, app):
    # Found by the API fuzzer on PostgreSQL: {"source": "\u0000"} reached a query.
    headers = system_token(app)
    for body in ({"source": "\x00"}, {"source": "QP-QL", "again": 1, "x": ["a\x00"]}):
        response = client.post("/api/v1/exchange/asks/make", json=body, headers=headers)
        assert response.status_code == 400, body
    # A backslash written as text before "u0000" is no NUL: the body goes through.
    kept = client.post("/api/v1/exchange/asks/make", json={"source": "\\u0000"},
                       headers=headers)
    assert kept.status_code != 400 and kept.status_code < 500


def test_a_nul_character_in_the_path_is_refused_not_a_server_error(client):
    # Found by the API fuzzer on PostgreSQL: the verification code of the path reached a query.
    assert client.get("/api/v1/verify/AB%00CD").status_code == 400
    assert client.get("/verify/AB%00CD").status_code == 400
