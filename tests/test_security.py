"""The web surface: security headers, no caching of personal pages and files, the system-use
notice before sign-in, and passwords that are not on the common and breached list."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import password_of
from tests.helpers import last_audit
from workflow import accounts
from workflow.errors import InvalidInput
from workflow.models import AuditEntry


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
