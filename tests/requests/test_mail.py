"""Mail about requests, delivered to a real SMTP server on loopback (aiosmtpd): what a mail says
(the request's number and link, Vietnamese first, no personal data), nothing sent for a
transaction rolled back, a refused mail tried again later, the daily digest, and preferences."""

from __future__ import annotations

import datetime as dt
import email
import socket
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from tests.worlds import FLOW, World, ask, fresh_person
from web.cli.mail import mail_settings
from workflow.context import Actor
from workflow.db import utcnow
from workflow.enums import Role
from workflow.models import MailAttempt, MailOutbox, Notification
from workflow.notifications import sending
from workflow.notifications.enums import MailDelivery
from workflow.records.enums import CaseStage
from workflow.requests import deadlines, decisions, filing
from workflow.requests.enums import Channel, ProvisionForm, SubjectKind
from workflow.requests.filing import RequestInput

BASE = "https://csdl.example.vn"


class Mailbox:
    """What the server received; it refuses the next `refuse` mails with a temporary error."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], email.message.EmailMessage]] = []
        self.refuse = 0

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.refuse:
            self.refuse -= 1
            return "451 4.3.0 Mailbox busy, try again later"
        self.received.append((list(envelope.rcpt_tos),
                              email.message_from_bytes(envelope.content, policy=default_policy)))
        return "250 OK"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        """The mails received for one address."""
        return [message for rcpt, message in self.received if address in rcpt]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp():
    """A real SMTP server on loopback for the test."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    mailbox.port = controller.port
    yield mailbox
    controller.stop()


@pytest.fixture
def world(app, smtp):
    app.config.update(MAIL_SMTP_HOST="127.0.0.1", MAIL_SMTP_PORT=smtp.port,
                      MAIL_SENDER="thongbao@csdl.example.vn", PUBLIC_BASE_URL=BASE)
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        for username in ("approver.hanoi", "requester.vks"):
            world.user(username).email = f"{username}@example.vn"
        session.commit()
        yield world


def send(world: World, runner, what: str = "send") -> str:
    """Run `custody mail <what>` (the test's own session first ends its transaction: SQLite
    has one writer)."""
    world.session.commit()
    result = runner.invoke(args=["mail", what])
    assert result.exit_code == 0, result.output
    return result.output


def body(message) -> str:
    return message.get_body(("plain",)).get_content()


def test_a_new_task_mails_the_deciders_a_link_and_nothing_personal(world, db, smtp, runner, auth,
                                                                   client):
    person = fresh_person(world, db, CaseStage.CLOSED)
    request = ask(world, "requester.vks", person)
    assert smtp.received == []  # nothing leaves before the sender runs, after the commit
    assert "sent: 1" in send(world, runner)
    [mail] = smtp.to("approver.hanoi@example.vn")
    assert mail["Subject"] == (f"{request.number}: Yêu cầu mới cần quyết định / "
                               "New request to decide")
    assert mail["From"] == "thongbao@csdl.example.vn"
    text = body(mail)
    link = f"{BASE}/requests/{request.id}"
    assert f"Yêu cầu số {request.number}: {link}" in text
    # Vietnamese first, English below.
    assert text.index("Có yêu cầu đang chờ cơ quan đồng chí quyết định.") \
        < text.index("A request awaits the decision of your body.")
    assert f"{BASE}/account/notifications" in text
    # No personal data: neither the person's name nor their citizen number, nor the requester's.
    raw = mail.as_string() + text
    for secret in (person.full_name, person.identifiers[-1].value,
                   world.user("requester.vks").full_name, world.user("approver.hanoi").full_name):
        assert secret not in raw
    # The link opens the request for the one it was sent to.
    world.session.commit()
    auth.login("approver.hanoi")
    assert client.get(link.removeprefix(BASE)).status_code == 200
    assert "sent: 0" in send(world, runner)  # sent once


def test_nothing_is_sent_when_the_transaction_rolls_back(world, db, smtp, runner):
    person = fresh_person(world, db, CaseStage.CLOSED)
    data_request = ask(world, "requester.vks", person)  # the control: committed, then mailed
    send(world, runner)
    assert len(smtp.to("approver.hanoi@example.vn")) == 1
    draft = world.act(filing.file_request, world.actor("requester.vks"),
                      _input_for(fresh_person(world, db, CaseStage.CLOSED)))
    filing.submit(world.session, FLOW, world.actor("requester.vks"), draft.id)
    world.session.flush()
    assert world.session.scalar(select(func.count()).select_from(MailOutbox).where(
        MailOutbox.request_id == draft.id)) == 1  # owed inside the transaction…
    world.session.rollback()  # …which fails
    assert "sent: 0" in send(world, runner)
    assert [m["Subject"].split(":")[0] for m in smtp.to("approver.hanoi@example.vn")] \
        == [data_request.number]
    assert world.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.request_id == draft.id)) == 0


def _input_for(person) -> RequestInput:
    return RequestInput(channel=Channel.NETWORK, subject_kind=SubjectKind.PERSON,
                        purpose="Phục vụ kiểm sát việc tạm giam theo quy định",
                        legal_basis="Điều 12 Nghị định 121/2017/NĐ-CP",
                        provision=ProvisionForm.PDF, categories=["a_orders"],
                        identity_number=person.identifiers[-1].value)


def test_a_refused_mail_is_tried_again_later_and_every_attempt_recorded(world, db, smtp, runner,
                                                                         app):
    request = ask(world, "requester.vks", fresh_person(world, db, CaseStage.CLOSED))
    smtp.refuse = 1
    assert "refused (tried again later): 1" in send(world, runner)
    assert smtp.received == []
    row = world.session.scalars(select(MailOutbox).where(
        MailOutbox.request_id == request.id)).one()
    assert row.sent_at is None and row.attempts == 1 and "451" in row.last_error
    assert row.next_attempt_at > utcnow() + dt.timedelta(minutes=1)  # backs off
    assert "sent: 0, refused (tried again later): 0" in send(world, runner)  # not due yet
    later = utcnow() + dt.timedelta(minutes=3)
    with app.app_context():
        settings = mail_settings()
    [ids] = sending.due(world.session, MailDelivery.IMMEDIATE, later)
    assert sending.send(world.session, settings, ids, later) is True
    world.session.commit()
    [mail] = smtp.to("approver.hanoi@example.vn")
    assert mail["Subject"].startswith(request.number)
    attempts = world.session.scalars(select(MailAttempt).where(
        MailAttempt.outbox_id == row.id).order_by(MailAttempt.id)).all()
    assert ["451" in (a.error or "") for a in attempts] == [True, False]
    world.session.refresh(row)
    assert row.sent_at == later and row.attempts == 2 and row.last_error is None


def test_the_digest_gathers_the_days_notifications_in_one_mail(world, db, smtp, runner, auth,
                                                               client):
    auth.login("approver.hanoi")
    page = client.get("/account/notifications")
    assert "approver.hanoi@example.vn" in page.get_data(as_text=True)
    response = client.post("/account/notifications", data={
        "tasks": "digest", "deadlines": "digest", "decisions": "immediate",
        "extracts": "immediate"})
    assert response.status_code == 302
    first = ask(world, "requester.vks", fresh_person(world, db, CaseStage.CLOSED))
    second = ask(world, "requester.vks", fresh_person(world, db, CaseStage.CLOSED))
    assert "sent: 0" in send(world, runner)  # the approver's come in the digest
    assert smtp.to("approver.hanoi@example.vn") == []
    assert "sent: 1" in send(world, runner, "digest")
    [mail] = smtp.to("approver.hanoi@example.vn")
    assert mail["Subject"] == "Thông báo trong ngày (2) / Notifications of the day (2)"
    text = body(mail)
    for request in (first, second):
        assert f"Yêu cầu số {request.number}: {BASE}/requests/{request.id}" in text
    assert "sent: 0" in send(world, runner, "digest")  # each item once


def test_preferences_are_respected_and_the_inbox_keeps_everything(world, db, smtp, runner, auth,
                                                                  client):
    auth.login("requester.vks")
    client.post("/account/notifications", data={
        "tasks": "immediate", "deadlines": "immediate", "decisions": "none",
        "extracts": "immediate"})
    request = ask(world, "requester.vks", fresh_person(world, db, CaseStage.CLOSED))
    world.act(decisions.approve, world.actor("approver.hanoi"), request.id,
              categories=["a_orders"])
    send(world, runner)
    assert smtp.to("requester.vks@example.vn") == []  # decisions: no mail…
    assert len(smtp.to("approver.hanoi@example.vn")) == 1  # the default: at once
    kinds = world.session.scalars(select(Notification.kind).where(
        Notification.request_id == request.id,
        Notification.user_id == world.user("requester.vks").id)).all()
    assert kinds == ["decision"]  # …but the inbox has it


def test_no_address_no_mail(world, db, smtp, runner):
    world.user("approver.hanoi").email = None
    world.session.commit()
    ask(world, "requester.vks", fresh_person(world, db, CaseStage.CLOSED))
    assert "sent: 0" in send(world, runner)
    assert smtp.received == []


def test_overdue_escalates_by_mail_to_the_body_above(world, db, smtp, runner):
    above = world.make_user("approver.c11", "C11", Role.APPROVER)
    above.email = "approver.c11@example.vn"
    world.session.commit()
    request = ask(world, "requester.vks", fresh_person(world, db, CaseStage.CLOSED))
    for day in (dt.date(2026, 11, 30), dt.date(2026, 12, 2)):
        world.act(deadlines.sweep, FLOW, Actor(None, "cron",
                                               dt.datetime.combine(day, dt.time(3), dt.UTC)))
    send(world, runner)
    subjects = [m["Subject"] for m in smtp.to("approver.hanoi@example.vn")
                if m["Subject"].startswith(request.number)]
    assert subjects == [f"{request.number}: Yêu cầu mới cần quyết định / New request to decide",
                        f"{request.number}: Sắp đến hạn / Due soon",
                        f"{request.number}: Quá hạn / Overdue"]
    [escalated] = [m for m in smtp.to("approver.c11@example.vn")
                   if m["Subject"].startswith(request.number)]
    assert escalated["Subject"] == f"{request.number}: Quá hạn ở cấp dưới / Overdue below you"
    assert f"{BASE}/requests/{request.id}" in body(escalated)


def test_mail_send_says_what_is_missing_from_the_configuration(app, runner):
    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code != 0
    assert "CUSTODY_MAIL_SMTP_HOST" in result.output and "CUSTODY_MAIL_SENDER" in result.output


def test_administrators_record_the_address_and_the_user_sees_it(world, auth, client):
    user = world.user("clerk.hanoi")
    world.session.commit()
    auth.login("admin")
    response = client.post(f"/admin/users/{user.id}", data={
        "roles": ["clerk"], "clearance": user.clearance.value, "active": "y",
        "email": "not an address"})
    assert "not an address không phải là địa chỉ thư điện tử." in response.get_data(as_text=True)
    response = client.post(f"/admin/users/{user.id}", data={
        "roles": ["clerk"], "clearance": user.clearance.value, "active": "y",
        "email": "clerk.hanoi@example.vn"})
    assert response.status_code == 302
    auth.logout()
    auth.login("clerk.hanoi")
    page = client.get("/account").get_data(as_text=True)
    assert "clerk.hanoi@example.vn" in page
