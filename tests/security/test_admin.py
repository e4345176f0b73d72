"""Account administration: an administrator never changes its own account, an account is an
administrator's or an operational one (never both), every role change is audited with before
and after, and reading an account is audited (issue 12, findings 4 and 12)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from tests.helpers import last_audit, org, system_token
from workflow.context import SYSTEM
from workflow.enums import Role, Secrecy
from workflow.errors import InvalidInput
from workflow.models import AuditEntry, User
from workflow.security import accounts


def _user(db, username: str) -> User:
    db.expire_all()
    return db.scalars(select(User).where(User.username == username)).one()


def _second_admin(app) -> int:
    with app.extensions["custody_sessions"]() as session:
        user = accounts.create_user(session, SYSTEM, username="admin.two", full_name="Quản trị 2",
                                    organisation_id=org(session, "TTCSDL").id,
                                    roles={Role.ADMIN}, password="một cụm từ đủ dài")
        session.commit()
        return user.id


def test_an_administrator_cannot_give_itself_record_roles(client, auth, db):
    auth.login("admin")
    me = _user(db, "admin")
    assert "Lưu" not in client.get(f"/admin/users/{me.id}").get_data(as_text=True)
    response = client.post(f"/admin/users/{me.id}", data={
        "roles": ["admin", "clerk", "approver"], "clearance": "toi_mat", "active": "y"})
    assert response.status_code == 403
    me = _user(db, "admin")
    assert me.roles == {Role.ADMIN} and me.clearance is Secrecy.NONE
    assert last_audit(db).action == "access.refused"
    assert client.get("/search").status_code == 403  # still no record to read


def test_an_administrator_cannot_change_its_own_clearance_alone(client, auth, db):
    auth.login("admin")
    me = _user(db, "admin")
    response = client.post(f"/admin/users/{me.id}", data={
        "roles": ["admin"], "clearance": "tuyet_mat", "active": "y"})
    assert response.status_code == 403
    assert _user(db, "admin").clearance is Secrecy.NONE


def test_no_administrator_account_gets_an_operational_role(app, client, auth, db):
    other = _second_admin(app)
    auth.login("admin")
    response = client.post(f"/admin/users/{other}", data={
        "roles": ["admin", "clerk"], "clearance": "toi_mat", "active": "y"})
    assert response.status_code == 422
    assert "không giữ vai trò nào khác" in response.get_data(as_text=True)
    assert _user(db, "admin.two").roles == {Role.ADMIN}
    # Nor by turning it into an operational account.
    response = client.post(f"/admin/users/{other}", data={
        "roles": ["clerk"], "clearance": "none", "active": "y"})
    assert response.status_code == 422 and _user(db, "admin.two").roles == {Role.ADMIN}
    created = client.post("/admin/users/new", data={
        "username": "admin.clerk", "full_name": "Hai vai", "roles": ["admin", "clerk"],
        "organisation_id": org(db, "TTCSDL").id, "clearance": "none",
        "password": "một cụm từ đủ dài"})
    assert created.status_code == 422
    assert db.scalar(select(User.id).where(User.username == "admin.clerk")) is None


def test_the_command_line_creates_no_administrator_with_another_role(runner, db):
    result = runner.invoke(args=["create-user", "--username", "admin.clerk", "--full-name", "X",
                                 "--org", "TTCSDL", "--role", "admin", "--role", "clerk",
                                 "--password", "một cụm từ đủ dài"])
    assert result.exit_code != 0 and "administrator account holds no other role" in result.output
    assert db.scalar(select(User.id).where(User.username == "admin.clerk")) is None


def test_a_role_change_is_audited_with_before_and_after(client, auth, db):
    auth.login("admin")
    clerk = _user(db, "clerk.hcm")
    response = client.post(f"/admin/users/{clerk.id}", data={
        "roles": ["clerk", "requester"], "clearance": "mat", "active": "y"})
    assert response.status_code == 302
    entry = last_audit(db, "admin.user_update")
    assert entry.actor_name == "admin" and entry.object_id == str(clerk.id)
    assert json.loads(entry.details) == {
        "before": {"roles": ["clerk"], "active": True, "clearance": "none"},
        "after": {"roles": ["clerk", "requester"], "active": True, "clearance": "mat"}}


@pytest.mark.parametrize(("actor", "target", "may"), [
    ("admin", "clerk.hcm", True), ("admin", "admin", False), ("clerk.hanoi", "clerk.hcm", False),
    ("inspector", "clerk.hcm", False), (None, "admin", True)])
def test_can_manage_account(db, actor, target, may):
    actor_user = _user(db, actor) if actor else None
    assert accounts.can_manage_account(actor_user, _user(db, target)) is may


@pytest.mark.parametrize("roles", [{Role.ADMIN, Role.CLERK}, {Role.ADMIN, Role.INSPECTOR},
                                   {Role.DETAINEE, Role.CLERK}, {Role.EXCHANGE}, set()])
def test_roles_that_one_person_account_may_not_hold_together(roles):
    with pytest.raises(InvalidInput):
        accounts.check_roles(roles, system=False)


def test_reading_an_account_is_audited(client, auth, db):
    auth.login("admin")
    clerk = _user(db, "clerk.hcm")
    before = db.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1))
    assert client.get(f"/admin/users/{clerk.id}").status_code == 200
    entry = last_audit(db, "admin.user_view")
    assert entry.seq > before and entry.actor_name == "admin"
    assert entry.object_type == "user" and entry.object_id == str(clerk.id)


def test_a_system_account_page_says_it_signs_in_with_tokens_only(app, client, auth, db):
    system_token(app)  # creates the system account "system.vks"
    auth.login("admin")
    page = client.get(f"/admin/users/{_user(db, 'system.vks').id}").get_data(as_text=True)
    assert "chỉ hoạt động qua các mã truy cập API" in page
    assert "lần đăng nhập tới" not in page and "reset-mfa" not in page
