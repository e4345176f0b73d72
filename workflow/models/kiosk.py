"""The detainee kiosk (máy tra cứu): a facility's registered devices and the PINs its clerks
issue to the persons it holds."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.db import Base, UTCDateTime, utcnow
from workflow.models.organisations import Organisation


class KioskDevice(Base):
    """A browser at a facility that a clerk registered; it holds a random secret in a cookie
    whose SHA-256 is kept here."""

    __tablename__ = "kiosk_device"

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    registered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    registered_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    # Kiosk mode: the device shows only the kiosk's pages until a clerk ends it.
    kiosk_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    kiosk_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))

    facility: Mapped[Organisation] = relationship(lazy="joined")

    @property
    def in_kiosk_mode(self) -> bool:
        """Whether the device is in kiosk mode."""
        return self.kiosk_since is not None


class KioskPin(Base):
    """The PIN of a person's kiosk account (its argon2id hash), with its own lockout: five
    wrong PINs within 15 minutes lock it until a clerk issues a new one."""

    __tablename__ = "kiosk_pin"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), primary_key=True)
    pin_hash: Mapped[str] = mapped_column(String(255))
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    failed_tries: Mapped[int] = mapped_column(default=0)
    failed_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    locked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
