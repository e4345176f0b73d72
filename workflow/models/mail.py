"""Mail owed to users about requests: their preferences, the outbox and each delivery attempt."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.db import Base, UTCDateTime, utcnow
from workflow.enums import enum_type
from workflow.models.requests import AccessRequest
from workflow.notifications.enums import MailDelivery, MailTopic


class MailPreference(Base):
    """How a user takes the mail of one topic (no row: the default, a mail at once)."""

    __tablename__ = "mail_preference"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), primary_key=True)
    topic: Mapped[MailTopic] = mapped_column(enum_type(MailTopic), primary_key=True)
    delivery: Mapped[MailDelivery] = mapped_column(enum_type(MailDelivery))
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class MailOutbox(Base):
    """A mail owed to a user about a request (hộp thư đi): written in the transaction of the
    event, sent after it commits; rows are never deleted, only marked sent."""

    __tablename__ = "mail_outbox"
    __table_args__ = (
        Index("ix_mail_outbox_due", "sent_at", "delivery", "next_attempt_at"),
        CheckConstraint("delivery <> 'none'", name="owed"),
        CheckConstraint("sent_at IS NULL OR attempts > 0", name="sent_after_attempt"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("access_request.id"))
    kind: Mapped[str] = mapped_column(String(32))
    delivery: Mapped[MailDelivery] = mapped_column(enum_type(MailDelivery))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)

    request: Mapped[AccessRequest] = relationship()


class MailAttempt(Base):
    """One try at handing a mail to the SMTP server (append-only): when, and what went wrong
    (nothing: the server accepted it)."""

    __tablename__ = "mail_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("mail_outbox.id"), index=True)
    attempted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
