"""The attack suite: every state-changing route of the pages × every actor who must not succeed
(another province, another branch, an outside body, another role, the kiosk, the administrator,
a locked account). Each attempt is refused (403/404), changes nothing in the database, and
leaves exactly one audit entry of the refusal. The routes come from the URL map: a new one
without an entry here fails."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from tests.conftest import Auth
from tests.helpers import db_state, version_of
from workflow.context import SYSTEM
from workflow.enums import Role
from workflow.models import AuditEntry, Organisation, User
from workflow.security import accounts

PROVINCE, BRANCH, OUTSIDE, ROLE, KIOSK, ADMIN, LOCKED, LAWYER = (
    "clerk.hcm", "clerk.army", "requester.vks", "manager.hanoi", "detainee.demo", "admin",
    "locked", "lawyer.demo")
ATTACKERS = [PROVINCE, BRANCH, OUTSIDE, ROLE, KIOSK, ADMIN, LOCKED, LAWYER]
CLERKS = {PROVINCE, BRANCH}
CHANGE = {"reason": "thử tấn công quyền hạn"}

# endpoint → (url, form data, attackers for whom the act is legitimate and so not an attack).
# The objects are Hà Nội's: its camp's person, episode, case, report, a request routed to its
# police, a clerk account.
ATTACKS = {
    "records.new_person": ("/persons/new", {
        "full_name": "X Y Z", "birth_date": "1990-01-01", "sex": "male",
        "nationality": "Việt Nam", "measure": "custody", "start_date": "2026-11-01",
        "legal_basis": "QĐ 1"}, CLERKS),
    "records.correct_person": ("/persons/{person}/correct", {
        "full_name": "Đổi Tên", "birth_date": "1990-01-01", "sex": "male",
        "nationality": "Việt Nam", "version": "1", **CHANGE}, set()),
    "records.new_identifier": ("/persons/{person}/identifiers/new", {
        "kind": "passport", "value": "C7654321", "issuing_country": "Lào"}, set()),
    "records.new_episode": ("/persons/{person}/episodes/new", {
        "measure": "custody", "start_date": "2026-11-20", "legal_basis": "QĐ 2"}, set()),
    "records.new_document": ("/persons/{person}/documents/new", {
        "category": "a_orders", "title": "Lệnh", "number": "1/L", "issued_on": "2026-11-20",
        "issuer": "CQĐT", "secrecy": "none"}, set()),
    "records.correct_episode": ("/episodes/{episode}/correct", {
        "start_date": "2026-01-01", "version": "1", **CHANGE}, set()),
    "records.new_event": ("/episodes/{episode}/events/new", {
        "kind": "visit", "occurred_on": "2026-11-20"}, set()),
    "records.new_case": ("/cases/new", {
        "number": "1/X", "title": "t", "charges": "c", "opened_on": "2026-01-01",
        "stage": "closed"}, CLERKS),
    "records.case": ("/cases/{case}", {"stage": "closed", "since": "2026-11-20"}, set()),
    "records.import_persons": ("/persons/import", {}, CLERKS),
    # Stating a purpose changes no row, but it opens the record: nobody out of scope states one.
    "records.read_purpose": ("/persons/{person}/purpose", {"purpose": "keeping"}, set()),
    "reports.new": ("/reports/new", {
        "kind": "incident", "period_start": "2026-11-01", "period_end": "2026-11-01",
        "title": "Sự việc", "body": "Mô tả"}, CLERKS),
    "reports.show": ("/reports/{report}", {"action": "accept"}, {ROLE}),
    "reports.edit": ("/reports/{report}/edit", {
        "title": "Sửa", "period_start": "2026-11-01", "period_end": "2026-11-01"}, set()),
    # Clerks and managers file for their body (Art. 12 §2a–b): filing is theirs too.
    "requests.new": ("/requests/new", {"action": "preview"},
                     CLERKS | {OUTSIDE, ROLE, LAWYER}),
    # A body's work queue: only its deciders take or act on its requests.
    "requests.claim": ("/requests/queue/claim", {"claim": "{request}", "view": "approval"},
                       set()),
    "requests.bulk": ("/requests/queue/bulk", {
        "ids": "{request}", "action": "extend", "view": "approval", "confirmed": "yes",
        "reason": "Gia hạn đồng loạt theo chỉ đạo"}, set()),
    "requests.show": ("/requests/{request}", {
        "action": "approve", "approve-categories": ["a_orders"]}, set()),
    "admin.new_user": ("/admin/users/new", {
        "username": "intruder", "full_name": "I", "roles": ["clerk"], "organisation_id": "1",
        "clearance": "tuyet_mat", "password": "intruder-password"}, {ADMIN}),
    "admin.edit_user": ("/admin/users/{user}", {
        "roles": ["clerk"], "clearance": "tuyet_mat", "active": "y"}, {ADMIN}),
    "admin.unlock_user": ("/admin/users/{user}/unlock", {}, {ADMIN}),
    "admin.reset_mfa": ("/admin/users/{user}/reset-mfa", {}, {ADMIN}),
    "admin.revoke_token": ("/admin/users/{user}/tokens/1/revoke", {"confirm": "y"}, {ADMIN}),
    "audit_trail.verify": ("/audit/verify", {}, set()),
    # An error in an extract: its recipient (the procuracy) reports it; only Hà Nội's camp,
    # which keeps the record, closes the report.
    "error_reports.report": ("/documents/{extract}/report-error", {
        "description": "Ngày bắt đầu tạm giam ghi sai"}, {OUTSIDE}),
    # Only the consent officers of the body handling the case disclose its withheld reads.
    "reads.disclose": ("/handled-cases/{handled_case}/disclose-reads", {}, set()),
    "error_reports.show": ("/error-reports/{error_report}", {
        "action": "no_error", "no_error-note": "Dữ liệu đúng với hồ sơ gốc"}, set()),
    # A conflict of Hà Nội camp's records: only a records officer whose scope holds it settles.
    "conflicts.show": ("/exchange/conflicts/{conflict}", {
        "decision": "theirs", "reason": "Lấy theo bên gửi", "confirm": "y"}, set()),
    # The kiosk: a clerk registers a device at their own facility (legitimate); Hà Nội's device
    # and persons are Hà Nội's clerks' alone; the request form is the kiosk session's.
    "kiosk.devices": ("/kiosk/devices", {"name": "Máy lạ"}, CLERKS),
    "kiosk.start": ("/kiosk/devices/{device}/start", {}, set()),
    "kiosk.end": ("/kiosk/devices/{device}/end", {}, set()),
    "kiosk.issue_pin": ("/persons/{person}/kiosk-pin", {}, set()),
    "kiosk.new_request": ("/kiosk/requests/new", {"parts": ["episodes"], "delivery": "pdf"},
                          {KIOSK}),
    # Requesters outside the state: any clerk of a body keeping the database registers one
    # (legitimate); the lawyer Hà Nội's camp vouched for, and whom they act for, are its
    # clerks' (and those above) alone.
    "requesters.new": ("/requesters/new", {
        "kind": "other", "full_name": "Kẻ Mạo Danh", "identity_document": "CCCD 001",
        "username": "intruder.outside", "password": "intruder-password"}, CLERKS),
    "requesters.add_mandate": ("/requesters/{requester}/mandates", {
        "identity_number": "001099999999", "ground": "authorisation", "reference": "Giấy",
        "valid_from": "24/11/2026"}, set()),
    # Any clerk records a mandate about a person of their own scope (legitimate: another's
    # person is refused as input); only a clerk whose scope holds the person ends one.
    "requesters.mandates": ("/mandates", {
        "username": "lawyer.demo", "identity_number": "001099999999", "ground": "defence",
        "reference": "Thông báo", "valid_from": "24/11/2026"}, CLERKS),
    "requesters.end_mandate": ("/mandates/{mandate}/end", {}, set()),
    "requesters.withdraw": ("/requesters/{requester}/withdraw", {}, set()),
}
# POST routes that are not an act on the records: signing in and out, the language, a search
# (a read, in tests/records/test_scope.py), the audit trail's filter (a read, in
# tests/audit/test_trail.py), marking one's own notifications read and choosing how one's own
# mail comes (nobody else's can be reached: tests/requests/test_mail.py); the API's routes are
# attacked with tokens in tests/attacks/test_api_matrix.py and tests/exchange/test_exchange_api.py.
NOT_ACTS = {"auth.login", "auth.login_code", "auth.login_enrol", "auth.logout",
            "auth.language", "auth.change_password", "auth.reauthenticate",
            "records.search_persons", "audit_trail.index", "requests.inbox", "kiosk.sign_in",
            "kiosk.end_here", "kiosk.sign_out", "account.notifications"}


def test_every_state_changing_route_is_attacked(app):
    posts = {r.endpoint for r in app.url_map.iter_rules()
             if "POST" in r.methods and not r.endpoint.startswith("api.")}
    assert posts - NOT_ACTS == set(ATTACKS), "add the new route to ATTACKS"


def _army_clerk(app) -> None:
    with app.extensions["custody_sessions"]() as session:
        camp = session.scalars(select(Organisation).where(Organisation.code == "QP-TTG")).one()
        accounts.create_user(session, SYSTEM, username=BRANCH, full_name="Cán bộ quân đội",
                             organisation_id=camp.id, roles={Role.CLERK},
                             password="clerk.army#2026")
        session.commit()


def _signed_in(app, db, attacker: str):
    client = app.test_client()
    if attacker == BRANCH:
        from tests.helpers import enrol_everyone

        _army_clerk(app)
        with app.extensions["custody_sessions"]() as session:
            enrol_everyone(session, "test-secret")
            session.commit()
    username = "clerk.hanoi" if attacker == LOCKED else attacker
    response = Auth(client).login(username, f"{username}#2026")
    assert response.status_code == 302, username
    if attacker == LOCKED:
        # The account is locked while its session is open (five wrong passwords elsewhere).
        locked = db.execute(select(User).where(User.username == username)).scalar_one()
        locked.locked_at = dt.datetime.now(dt.UTC)
        db.flush()
    return client


@pytest.mark.parametrize("attacker", ATTACKERS)
def test_no_attacker_gets_through(app, db, objects, attacker):  # noqa: F811
    client = _signed_in(app, db, attacker)
    for endpoint, (url, data, legitimate) in ATTACKS.items():
        if attacker in legitimate:
            continue
        if endpoint == "requests.show":
            data = data | {"version": str(version_of(db, objects["request"]))}
        data = {key: value.format(**objects) if isinstance(value, str) else value
                for key, value in data.items()}
        before = db_state(db)
        audit_before = db.scalar(select(func.max(AuditEntry.seq)))
        response = client.post(url.format(**objects), data=data)
        if attacker == LOCKED:
            assert response.status_code == 302 and "/login" in response.location, endpoint
        else:
            assert response.status_code in (403, 404), (endpoint, response.status_code)
        assert db_state(db) == before, endpoint
        written = db.scalars(select(AuditEntry.action).where(
            AuditEntry.seq > audit_before)).all()
        expected = [] if attacker == LOCKED else ["access.refused"]
        assert written == expected, (endpoint, written)
