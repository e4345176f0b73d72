"""Sign-in, sign-out, password change, disabled accounts, redirects and CSRF."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.conftest import Auth, password_of
from workflow.models import User


def test_wrong_password_and_unknown_user_get_the_same_answer(client, auth):
    wrong = auth.login("clerk.hanoi", "not-the-password")
    unknown = auth.login("no.such.user", "not-the-password")
    assert wrong.status_code == unknown.status_code == 422
    assert "tên đăng nhập hoặc mật khẩu không đúng, hoặc tài khoản đã bị khóa" in \
        wrong.data.decode()
    # The pages differ only in the name typed back into the form (and the time-stamped token).
    def masked(page: bytes, name: bytes) -> bytes:
        return re.sub(rb'name="csrf_token" value="[^"]+"', b"", page.replace(name, b""))

    assert masked(wrong.data, b"clerk.hanoi") == masked(unknown.data, b"no.such.user")


def test_pages_need_sign_in_and_sign_out_ends_the_session(client, auth):
    assert client.get("/search").status_code == 302
    assert auth.login("clerk.hanoi").status_code == 302
    assert client.get("/search").status_code == 200
    assert client.get("/logout").status_code == 405
    assert auth.logout().status_code == 302
    assert client.get("/search").status_code == 302


def test_password_change_ends_sessions_elsewhere(app, auth, client):
    other = app.test_client()
    Auth(other).login("clerk.hanoi")
    assert other.get("/search").status_code == 200
    auth.login("clerk.hanoi")
    response = client.post("/password", data={"current": password_of("clerk.hanoi"),
                                              "new": "a new long passphrase",
                                              "confirm": "a new long passphrase"})
    assert response.status_code == 302
    assert client.get("/search").status_code == 200
    assert other.get("/search").status_code == 302
    auth.logout()
    assert auth.login("clerk.hanoi", "a new long passphrase").status_code == 302


@pytest.mark.parametrize(("current", "new", "confirm", "message"), [
    ("wrong-password", "a new long passphrase", "a new long passphrase", "không đúng"),
    (None, "short", "short", "Độ dài phải từ 8 đến 128 ký tự."),
    (None, "a new long passphrase", "another phrase", "Hai mật khẩu không khớp"),
])
def test_bad_password_changes_are_refused(client, auth, current, new, confirm, message):
    auth.login("clerk.hanoi")
    response = client.post("/password", data={
        "current": current or password_of("clerk.hanoi"), "new": new, "confirm": confirm})
    assert response.status_code == 422 and message in response.data.decode()
    auth.logout()
    assert auth.login("clerk.hanoi").status_code == 302


def test_a_disabled_account_cannot_sign_in(client, auth, db):
    auth.login("admin")
    user = db.execute(select(User).where(User.username == "clerk.hcm")).scalar_one()
    response = client.post(f"/admin/users/{user.id}", data={"roles": ["clerk"],
                                                             "clearance": "none"})
    assert response.status_code == 302
    auth.logout()
    assert auth.login("clerk.hcm").status_code == 422


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x",
                                    "/\\evil.example"])
def test_sign_in_never_redirects_off_site(auth, target):
    response = auth.login("clerk.hanoi", next=target)
    assert response.status_code == 302
    assert response.location in ("/", "http://localhost/")


def test_sign_in_returns_to_the_page_asked_for(auth):
    response = auth.login("clerk.hanoi", next="/search")
    assert response.location == "/search"


def test_forms_without_the_csrf_token_are_refused(app, database_url):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    response = client.post("/login", data={"username": "clerk.hanoi",
                                           "password": password_of("clerk.hanoi")})
    assert response.status_code == 400
    page = client.get("/login").data.decode()
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post("/login", data={"username": "clerk.hanoi", "csrf_token": token,
                                           "password": password_of("clerk.hanoi"),
                                           "acknowledge": "y"})
    assert response.status_code == 302 and response.location.endswith("/login/code")


def test_passwords_are_stored_as_argon2id(db):
    user = db.execute(select(User).where(User.username == "clerk.hanoi")).scalar_one()
    assert user.password_hash.startswith("$argon2id$")


def test_an_unknown_username_costs_a_real_argon2id_check():
    """The stand-in hash checked for an unknown username has the hasher's own parameters, so
    the check takes as long as a real one (it is written out, not computed at import)."""
    from argon2 import PasswordHasher

    from workflow.security import passwords

    hasher = PasswordHasher()
    assert hasher.verify(passwords.DUMMY_HASH, "not-a-real-password")
    assert not hasher.check_needs_rehash(passwords.DUMMY_HASH)
