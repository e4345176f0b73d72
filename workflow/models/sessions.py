"""Signed-in sessions the server can end: by sign-out, password change, account disablement,
idleness or age."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from workflow.db import Base, UTCDateTime, utcnow


class UserSession(Base):
    """One sign-in; the browser holds a random token whose SHA-256 is the key here."""

    __tablename__ = "user_session"
    __table_args__ = (Index("ix_user_session_open", "user_id", "ended_at"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    authenticated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(32))
    ip: Mapped[str | None] = mapped_column(String(64))
    # A kiosk session (a detained person at a facility's registered device): shorter, and only
    # on that device.
    kiosk_device_id: Mapped[int | None] = mapped_column(ForeignKey("kiosk_device.id"))
