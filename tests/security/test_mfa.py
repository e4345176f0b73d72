"""The second factor: enrolment at the first sign-in, codes accepted once, recovery codes,
failures towards the lockout, the pending step's time limit, and the administrator's reset."""

from __future__ import annotations

import re
import time

import pyotp
from sqlalchemy import select

from tests.conftest import Auth, password_of
from tests.helpers import code_for, demo_secret, last_audit, org
from workflow.context import SYSTEM
from workflow.enums import Role
from workflow.models import User
from workflow.security import accounts


def new_user(app, username: str = "canbo.thu") -> None:
    with app.extensions["custody_sessions"]() as session:
        accounts.create_user(session, SYSTEM, username=username, full_name="Cán bộ Thử",
                             organisation_id=org(session, "TTG-HANOI").id, roles={Role.CLERK},
                             password="một cụm từ đủ dài")
        session.commit()


def password_step(client, username: str, password: str):
    return client.post("/login", data={"username": username, "password": password,
                                       "acknowledge": "y"})


def enrol(client) -> tuple[str, list[str]]:
    page = client.get("/login/enrol").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    assert "<svg" in page and "otpauth" not in page  # the URI travels only inside the QR
    response = client.post("/login/enrol", data={"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 200
    return secret, re.findall(r"<code>([A-Z2-7]{4}-[A-Z2-7]{4})</code>", response.get_data(
        as_text=True))


def test_the_first_sign_in_sets_up_the_authenticator(app, client, db):
    new_user(app)
    response = password_step(client, "canbo.thu", "một cụm từ đủ dài")
    assert response.location.endswith("/login/enrol")
    assert client.get("/search").status_code == 302  # not signed in before the code
    assert client.post("/login/enrol", data={"code": "000000"}).status_code == 422
    secret, codes = enrol(client)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/search").status_code == 200
    user = db.scalars(select(User).where(User.username == "canbo.thu")).one()
    assert user.totp_enrolled_at is not None and secret not in (user.totp_secret or "")
    assert last_audit(db, "auth.mfa_enrol").outcome == "success"


def test_a_code_is_accepted_once_only(app, auth, client, db):
    password_step(client, "clerk.hanoi", password_of("clerk.hanoi"))
    code = code_for(db, "clerk.hanoi")
    assert client.post("/login/code", data={"code": code}).status_code == 302
    auth.logout()
    password_step(client, "clerk.hanoi", password_of("clerk.hanoi"))
    replay = client.post("/login/code", data={"code": code})
    assert replay.status_code == 422
    assert "Mã này vừa được dùng" in replay.get_data(as_text=True)
    wrong = client.post("/login/code", data={"code": "000000" if code != "000000" else "111111"})
    assert "Mã không đúng" in wrong.get_data(as_text=True)
    assert client.post("/login/code", data={"code": code_for(db, "clerk.hanoi")}).status_code \
        == 302


def test_a_recovery_code_signs_in_once(app, client, db):
    new_user(app)
    password_step(client, "canbo.thu", "một cụm từ đủ dài")
    _secret, codes = enrol(client)
    Auth(client).logout()
    password_step(client, "canbo.thu", "một cụm từ đủ dài")
    assert client.post("/login/code", data={"code": codes[3].lower()}).status_code == 302
    assert last_audit(db, "auth.mfa").details == '{"left": 9, "method": "recovery"}'
    Auth(client).logout()
    password_step(client, "canbo.thu", "một cụm từ đủ dài")
    assert client.post("/login/code", data={"code": codes[3]}).status_code == 422


def test_wrong_codes_count_towards_the_lockout(client, db):
    password_step(client, "clerk.hanoi", password_of("clerk.hanoi"))
    for _ in range(4):
        assert client.post("/login/code", data={"code": "123456"}).status_code == 422
    last = client.post("/login/code", data={"code": "123456"})
    assert last.status_code == 302 and last.location.endswith("/login")
    user = db.scalars(select(User).where(User.username == "clerk.hanoi")).one()
    assert user.locked_at is not None
    password_step(client, "clerk.hanoi", password_of("clerk.hanoi"))
    assert client.get("/login/code").status_code == 302  # no second step for a locked account


def test_the_second_step_must_follow_within_5_minutes(client, db):
    password_step(client, "clerk.hanoi", password_of("clerk.hanoi"))
    with client.session_transaction() as session:
        session["mfa_at"] = time.time() - 301
    response = client.post("/login/code", data={"code": code_for(db, "clerk.hanoi")})
    assert response.status_code == 302 and response.location.endswith("/login")
    assert client.get("/search").status_code == 302


def test_an_administrator_resets_a_lost_authenticator(app, client, auth, db):
    victim = app.test_client()
    Auth(victim).login("clerk.hcm")
    user = db.scalars(select(User).where(User.username == "clerk.hcm")).one()
    auth.login("admin")
    assert "Đặt lại xác thực hai lớp" in client.get(f"/admin/users/{user.id}").get_data(
        as_text=True)
    check = client.post(f"/admin/users/{user.id}/reset-mfa")  # checked before it is done
    assert check.status_code == 200 and "Kiểm tra trước khi quyết định" in check.get_data(
        as_text=True)
    assert victim.get("/search").status_code == 200  # nothing done yet
    assert client.post(f"/admin/users/{user.id}/reset-mfa",
                       data={"confirmed": "yes"}).status_code == 302
    assert last_audit(db, "admin.mfa_reset").object_id == str(user.id)
    assert victim.get("/search").status_code == 302  # its sessions ended
    fresh = app.test_client()
    response = password_step(fresh, "clerk.hcm", password_of("clerk.hcm"))
    assert response.location.endswith("/login/enrol")
    # The old authenticator no longer works.
    old = pyotp.TOTP(demo_secret("clerk.hcm")).now()
    assert fresh.post("/login/enrol", data={"code": old}).status_code == 422


def test_a_right_password_does_not_wipe_the_wrong_codes(app, client, db):
    # Issue 12, finding 6: wrong code ×2, right password, wrong code ×2, right password, wrong
    # code: five failed factors within 15 minutes lock the account.
    for wrong_codes in (2, 2, 1):
        assert password_step(client, "clerk.hanoi", password_of("clerk.hanoi")).location \
            .endswith("/login/code")
        for _ in range(wrong_codes):
            client.post("/login/code", data={"code": "123456"})
    user = db.scalars(select(User).where(User.username == "clerk.hanoi")).one()
    assert user.locked_at is not None and user.failed_logins == 5
    assert last_audit(db, "auth.lockout").object_id == str(user.id)
    # Refused afterwards, even with the right password and a right code.
    fresh = app.test_client()
    assert Auth(fresh).login("clerk.hanoi").status_code == 422
    assert fresh.get("/search").status_code == 302


def test_a_full_sign_in_clears_the_failures(client, auth, db):
    password_step(client, "clerk.hanoi", password_of("clerk.hanoi"))
    for _ in range(3):
        client.post("/login/code", data={"code": "123456"})
    assert client.post("/login/code", data={"code": code_for(db, "clerk.hanoi")}) \
        .status_code == 302
    user = db.scalars(select(User).where(User.username == "clerk.hanoi")).one()
    assert user.failed_logins == 0 and user.locked_at is None
