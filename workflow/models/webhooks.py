"""Webhooks of requesting bodies: where their systems are told of their requests' state
changes, the outbox written with each change, and each delivery attempt."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.db import Base, UTCDateTime, utcnow
from workflow.enums import enum_type
from workflow.models.organisations import Organisation
from workflow.models.requests import AccessRequest
from workflow.requests.enums import RequestState


class Webhook(Base):
    """An address of a body's own system that is told, signed with its secret, when one of the
    body's requests changes state; disabled, never deleted (its deliveries refer to it)."""

    __tablename__ = "webhook"
    __table_args__ = (
        CheckConstraint("(disabled_at IS NULL) = (disabled_by_id IS NULL)", name="disabled_by"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    # Kept as given: the HMAC of each delivery is computed with it (a hash could not sign).
    secret: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    disabled_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))

    org: Mapped[Organisation] = relationship()


class WebhookOutbox(Base):
    """A state change owed to one webhook: written in the transaction of the change, delivered
    after it commits; rows are never deleted, only marked delivered."""

    __tablename__ = "webhook_outbox"
    __table_args__ = (
        Index("ix_webhook_outbox_due", "delivered_at", "next_attempt_at"),
        CheckConstraint("delivered_at IS NULL OR attempts > 0", name="delivered_after_attempt"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhook.id"), index=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("access_request.id"))
    from_state: Mapped[RequestState] = mapped_column(enum_type(RequestState, "from_state"))
    to_state: Mapped[RequestState] = mapped_column(enum_type(RequestState, "to_state"))
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)

    webhook: Mapped[Webhook] = relationship()
    request: Mapped[AccessRequest] = relationship()
    tries: Mapped[list[WebhookAttempt]] = relationship(order_by="WebhookAttempt.id",
                                                       viewonly=True)


class WebhookAttempt(Base):
    """One try at delivering an owed change (append-only): when, the receiver's HTTP status
    (none: it was not reached) and what went wrong (nothing: it answered 2xx)."""

    __tablename__ = "webhook_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("webhook_outbox.id"), index=True)
    attempted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status: Mapped[int | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text)
