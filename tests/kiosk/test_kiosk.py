"""The detainee kiosk: a clerk registers a device and issues a PIN; the person signs in there
only, with their number and the PIN, asks in plain words and reads dated plain steps."""

from __future__ import annotations

import datetime as dt
import json
import re

from sqlalchemy import select, update

from tests.conftest import Auth
from tests.helpers import kiosk_person, last_audit, register_kiosk
from web.kiosk.device import COOKIE
from workflow.models import (
    AccessRequest,
    AuditEntry,
    CustodyEpisode,
    KioskDevice,
    KioskPin,
    Person,
    User,
    UserSession,
)
from workflow.requests.filing import OWN_RECORDS_BASIS

PLAIN_FORM = {"parts": ["episodes", "a_orders"], "delivery": "pdf", "purpose": ""}


def _pin_from(page: str) -> str:
    return re.search(r'id="kiosk-pin"><code>(\d{6})</code>', page).group(1)


def _issue_pin(app, person_id: int) -> str:
    client = app.test_client()
    Auth(client).login("clerk.hanoi")
    response = client.post(f"/persons/{person_id}/kiosk-pin")
    assert response.status_code == 200
    return _pin_from(response.get_data(as_text=True))


def _kiosk_client(app, secret: str):
    client = app.test_client()
    client.set_cookie(COOKIE, secret)
    return client


def _signed_in(app, db):
    """A kiosk client with the demo detainee signed in."""
    client = app.test_client()
    assert Auth(client).login("detainee.demo").status_code == 302
    return client


def test_a_clerk_registers_a_device_and_issues_a_pin(client, auth, db):
    auth.login("clerk.hanoi")
    response = client.post("/kiosk/devices", data={"name": "Máy phòng thăm gặp"})
    assert response.status_code == 302
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Max-Age=" in cookie
    device = db.execute(select(KioskDevice)).scalar_one()
    assert device.facility.code == "TTG-HANOI" and device.secret_hash not in cookie
    assert "Máy phòng thăm gặp" in client.get("/kiosk/devices").get_data(as_text=True)
    person = kiosk_person(db)
    page = client.post(f"/persons/{person}/kiosk-pin").get_data(as_text=True)
    pin = _pin_from(page)
    stored = db.execute(select(KioskPin).join(User, User.id == KioskPin.user_id).where(
        User.person_id == person)).scalar_one()
    assert stored.pin_hash.startswith("$argon2id$") and pin not in stored.pin_hash
    issued = last_audit(db, "kiosk.pin_issue")
    assert issued.person_id == person and issued.actor_name == "clerk.hanoi"


def test_a_clerk_of_another_facility_issues_no_pin_here(client, auth, db):
    auth.login("clerk.hcm")
    assert client.post(f"/persons/{kiosk_person(db)}/kiosk-pin").status_code == 404
    assert last_audit(db).action == "access.refused"


def test_the_person_signs_in_at_the_device_with_number_and_pin_and_no_authenticator(app, db):
    pin = _issue_pin(app, kiosk_person(db))
    clerk = app.test_client()
    Auth(clerk).login("clerk.hanoi")
    clerk.post("/kiosk/devices", data={"name": "Máy tra cứu"})
    device = db.execute(select(KioskDevice)).scalar_one()
    started = clerk.post(f"/kiosk/devices/{device.id}/start")
    assert started.status_code == 302 and started.location.endswith("/kiosk/")
    # The device now shows only the kiosk's sign-in page; the clerk was signed out.
    assert clerk.get("/search").location.endswith("/kiosk/")
    assert clerk.get("/login").location.endswith("/kiosk/")
    response = clerk.post("/kiosk/", data={"number": str(kiosk_person(db)), "pin": pin})
    assert response.status_code == 302 and response.location.endswith("/kiosk/me")
    assert "/login/code" not in response.location
    home = clerk.get("/kiosk/me").get_data(as_text=True)
    assert "Xin chào" in home and "đồng chí" not in home
    signed_in = last_audit(db, "kiosk.sign_in")
    assert signed_in.outcome == "success" and signed_in.person_id == kiosk_person(db)
    assert json.loads(signed_in.details)["kiosk_device"] == device.id
    record = clerk.get("/kiosk/record")
    assert record.status_code == 200
    read = last_audit(db, "record.view")
    assert json.loads(read.details)["kiosk_device"] == device.id
    assert read.person_id == kiosk_person(db)


def test_the_identity_number_works_too(app, db):
    _device, secret = register_kiosk(app)
    client = _kiosk_client(app, secret)
    person = db.get(Person, kiosk_person(db))
    response = Auth(client).kiosk(number=person.identifiers[-1].value)
    assert response.status_code == 302 and response.location.endswith("/kiosk/me")


def test_a_password_sign_in_is_refused_for_a_kiosk_account(client, db):
    response = client.post("/login", data={"username": "detainee.demo", "acknowledge": "y",
                                           "password": "detainee.demo#2026"})
    assert response.status_code == 422
    assert json.loads(last_audit(db, "auth.login").details)["reason"] == "kiosk account"


def test_the_same_pin_on_another_browser_fails(app, db):
    pin = _issue_pin(app, kiosk_person(db))
    register_kiosk(app)
    elsewhere = app.test_client()  # no device cookie
    response = elsewhere.post("/kiosk/", data={"number": str(kiosk_person(db)), "pin": pin})
    assert response.status_code == 404
    assert "/login" in elsewhere.get("/kiosk/me").location
    # A device registered but not in kiosk mode is no kiosk either.
    _device, idle = register_kiosk(app, start=False)
    response = _kiosk_client(app, idle).post("/kiosk/", data={
        "number": str(kiosk_person(db)), "pin": pin})
    assert response.status_code == 404


def test_a_person_held_elsewhere_cannot_sign_in_at_this_kiosk(app, db):
    pin = _issue_pin(app, kiosk_person(db))
    _device, secret = register_kiosk(app, "clerk.hcm")
    client = _kiosk_client(app, secret)
    response = client.post("/kiosk/", data={"number": str(kiosk_person(db)), "pin": pin})
    assert response.status_code == 422
    assert json.loads(last_audit(db, "kiosk.sign_in").details)["reason"] == "elsewhere"


def test_a_moved_person_is_signed_out_of_the_old_facility_kiosk(app, db):
    client = _signed_in(app, db)
    db.execute(update(CustodyEpisode).where(
        CustodyEpisode.person_id == kiosk_person(db), CustodyEpisode.end_date.is_(None))
        .values(end_date=dt.date(2026, 11, 30)))
    response = client.get("/kiosk/me")
    assert response.status_code == 302 and "/login" in response.location
    assert client.get("/kiosk/me").location.endswith("/kiosk/")  # still a kiosk device
    assert json.loads(last_audit(db, "auth.session_end").details)["reason"] == "moved"


def test_five_wrong_pins_lock(app, db):
    pin = _issue_pin(app, kiosk_person(db))
    _device, secret = register_kiosk(app)
    client = _kiosk_client(app, secret)
    wrong = "000000" if pin != "000000" else "111111"
    number = str(kiosk_person(db))
    for _ in range(5):
        assert client.post("/kiosk/", data={"number": number, "pin": wrong}).status_code == 422
    assert last_audit(db, "kiosk.pin_lockout").person_id == kiosk_person(db)
    assert client.post("/kiosk/", data={"number": number, "pin": pin}).status_code == 422
    assert json.loads(last_audit(db, "kiosk.sign_in").details)["reason"] == "locked"
    fresh = _issue_pin(app, kiosk_person(db))  # a new PIN lifts the lock
    assert client.post("/kiosk/", data={"number": number, "pin": fresh}).status_code == 302


def test_wrong_pins_across_persons_stop_the_device(app, db):
    # Four wrong PINs on each of many co-detainees would lock no PIN: the device counts them.
    app.config["RATELIMIT_KIOSK_FAILURES"] = "6 per hour"
    pin = _issue_pin(app, kiosk_person(db))
    _device, secret = register_kiosk(app)
    client = _kiosk_client(app, secret)
    wrong = "000000" if pin != "000000" else "111111"
    for other in range(6):  # numbers of nobody, or of others: all failures of this device
        assert client.post("/kiosk/", data={"number": str(900000 + other),
                                            "pin": wrong}).status_code == 422
    stopped = client.post("/kiosk/", data={"number": str(kiosk_person(db)), "pin": pin})
    assert stopped.status_code == 429
    # another kiosk of the facility is not stopped by this one's failures
    _other, second = register_kiosk(app)
    assert _kiosk_client(app, second).post("/kiosk/", data={
        "number": str(kiosk_person(db)), "pin": pin}).status_code == 302


def test_the_kiosk_session_cannot_open_an_officials_page(app, db, objects):
    client = _signed_in(app, db)
    for url in ["/search", "/requests/{request}", "/persons/{person}", "/audit/",
                "/requests/new", "/requests/", "/kiosk/devices", "/password",
                "/persons/{person}/correct", "/reports/"]:
        assert client.get(url.format(**objects)).status_code in (403, 404), url


def test_the_kiosk_session_reads_no_one_elses_request(app, db, objects):
    client = _signed_in(app, db)
    assert client.get(f"/kiosk/requests/{objects['request']}").status_code == 404
    assert client.get("/").location.endswith("/kiosk/me")


def test_the_kiosk_form_files_a_request_whose_legal_basis_the_domain_filled(app, db):
    client = _signed_in(app, db)
    page = client.get("/kiosk/requests/new").get_data(as_text=True)
    for name in ("legal_basis", "on_behalf_of_id", "scan", "statistical_question",
                 "identity_number", "channel", "urgency"):
        assert f'name="{name}"' not in page, name
    assert "Căn cứ pháp lý" not in page
    response = client.post("/kiosk/requests/new", data=PLAIN_FORM)
    assert response.status_code == 302
    request = db.execute(select(AccessRequest).order_by(AccessRequest.id.desc())
                         .limit(1)).scalar_one()
    assert request.legal_basis == OWN_RECORDS_BASIS
    assert request.subject_person_id == kiosk_person(db) and request.purpose
    assert request.state.value == "awaiting_approval" and request.scan_ref is None
    assert request.requester.username == "detainee.demo"
    assert response.location.endswith(f"/kiosk/requests/{request.id}")


def test_the_status_page_shows_dated_plain_steps(app, db):
    client = _signed_in(app, db)
    location = client.post("/kiosk/requests/new", data=PLAIN_FORM).location
    page = client.get(location).get_data(as_text=True)
    request = db.execute(select(AccessRequest).order_by(AccessRequest.id.desc())
                         .limit(1)).scalar_one()
    sent = request.submitted_at.astimezone(dt.timezone(dt.timedelta(hours=7)))
    assert f"Đã gửi ngày {sent:%d/%m/%Y}" in page
    assert "Đang chờ cơ quan quản lý xem xét" in page
    assert "Bản trích lục sẵn sàng — hỏi cán bộ để nhận" in page
    assert "đồng chí" not in page.lower()
    assert request.rule_version and request.rule_version not in page
    assert "<svg" not in page and "state-diagram" not in page


def test_the_kiosk_session_ends_after_ten_idle_minutes(app, db):
    client = _signed_in(app, db)
    db.execute(update(UserSession).where(UserSession.kiosk_device_id.is_not(None))
               .values(last_seen_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=11)))
    response = client.get("/kiosk/me")
    assert response.status_code == 302
    assert client.get("/kiosk/me").location.endswith("/kiosk/")


def test_a_clerk_ends_kiosk_mode_and_the_session_with_it(app, db, auth, client):
    kiosk = _signed_in(app, db)
    device = db.execute(select(KioskDevice)).scalar_one()
    auth.login("clerk.hanoi")
    assert client.post(f"/kiosk/devices/{device.id}/end").status_code == 302
    assert kiosk.get("/kiosk/me").status_code == 302
    assert kiosk.get("/kiosk/").status_code == 404  # no longer a kiosk: the sign-in page is gone
    assert db.scalar(select(AuditEntry.action).where(AuditEntry.action == "kiosk.mode_end"))


def test_while_the_clock_waits_for_a_consent_the_kiosk_gives_no_date():
    from web.kiosk.status import plain_steps
    from workflow.requests.enums import RequestState

    sent = dt.datetime(2026, 11, 24, 3, 0, tzinfo=dt.UTC)
    request = AccessRequest(state=RequestState.AWAITING_CONSENT, submitted_at=sent,
                            created_at=sent, due_on=dt.date(2026, 12, 8))
    running = plain_steps(request)
    assert running[1].on == dt.date(2026, 12, 8) and "due by" in running[1].text
    request.paused_at = sent
    paused = plain_steps(request)
    assert paused[1].on is None and "body handling your case to agree" in paused[1].text
    assert [s.state for s in paused] == ["done", "now", "later", "later"]
