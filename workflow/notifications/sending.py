"""Sending the outbox after its transactions committed: each due row (or, for the daily
digest, each user's due rows together) handed to the SMTP server, every attempt recorded, a
refused one tried again later with a doubling wait."""

from __future__ import annotations

import datetime as dt
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from itertools import groupby

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from workflow.models import MailAttempt, MailOutbox, User
from workflow.notifications import messages
from workflow.notifications.enums import MailDelivery
from workflow.notifications.outbox import can_choose_mail

MAX_ATTEMPTS = 8
FIRST_RETRY = dt.timedelta(minutes=2)  # then 4, 8, … : about four hours over the eight tries


@dataclass(frozen=True)
class MailSettings:
    """Where and as whom mail is sent, and the address the links in it point to."""

    host: str
    sender: str
    base_url: str
    port: int = 25
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    timeout: float = 30.0


def retry_at(now: dt.datetime, attempts: int) -> dt.datetime:
    """When a mail refused `attempts` times is tried again."""
    return now + FIRST_RETRY * 2 ** (attempts - 1)


def due(session: Session, delivery: MailDelivery, now: dt.datetime) -> list[list[int]]:
    """The outbox rows to send now, one list per mail: each row alone when sent at once, each
    user's rows together for the digest."""
    rows = session.execute(select(MailOutbox.id, MailOutbox.user_id).where(
        MailOutbox.sent_at.is_(None), MailOutbox.delivery == delivery,
        MailOutbox.attempts < MAX_ATTEMPTS, MailOutbox.next_attempt_at <= now)
        .order_by(MailOutbox.user_id, MailOutbox.id)).all()
    if delivery is MailDelivery.IMMEDIATE:
        return [[row.id] for row in rows]
    return [[row.id for row in group] for _, group in groupby(rows, key=lambda r: r.user_id)]


def send(session: Session, settings: MailSettings, ids: list[int],
         now: dt.datetime) -> bool | None:
    """Send one mail for these rows of one user and record the attempt on each; True when the
    server took it, False when it refused (tried again later), None when there was nothing to
    send (another sender took them, or the user has no address or account any more)."""
    rows = list(session.execute(
        select(MailOutbox).where(MailOutbox.id.in_(ids), MailOutbox.sent_at.is_(None))
        .order_by(MailOutbox.id).options(selectinload(MailOutbox.request))
        .with_for_update(skip_locked=True, of=MailOutbox)).scalars())
    if not rows:
        return None
    user = session.get(User, rows[0].user_id)
    if user is None or not user.email or not can_choose_mail(user):
        return None
    if rows[0].delivery is MailDelivery.DIGEST:
        message = messages.digest(settings.sender, user.email, settings.base_url, rows, now)
    else:
        message = messages.single(settings.sender, user.email, settings.base_url, rows[0], now)
    error = None
    try:
        smtp_transport(settings, message)
    except (smtplib.SMTPException, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:1000]
    for row in rows:
        row.attempts += 1
        session.add(MailAttempt(outbox_id=row.id, attempted_at=now, error=error))
        if error is None:
            row.sent_at, row.last_error = now, None
        else:
            row.last_error, row.next_attempt_at = error, retry_at(now, row.attempts)
    session.flush()
    return error is None


def smtp_transport(settings: MailSettings, message: EmailMessage) -> None:
    """Hand the message to the configured SMTP server (STARTTLS and login when configured)."""
    with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
        if settings.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.username:
            smtp.login(settings.username, settings.password or "")
        smtp.send_message(message)
