"""Exchange with other databases (Decree Arts. 6 §3, 8, 13): packages between the Army subsystem
and the central centre, the partners whose keys are trusted, and feeds provided under approved
agreements."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.db import Base, UTCDateTime, utcnow
from workflow.models.users import User


class ExchangePartner(Base):
    """A body whose signed packages this database accepts, and the key it signs with."""

    __tablename__ = "exchange_partner"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    public_key: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(String(16))
    registered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ExchangePackage(Base):
    """One package sent ('out') or applied ('in'), with what it covered (append-only)."""

    __tablename__ = "exchange_package"
    __table_args__ = (UniqueConstraint("direction", "source", "sequence",
                                       name="uq_exchange_package_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[str] = mapped_column(String(3))
    source: Mapped[str] = mapped_column(String(40))
    sequence: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    marks_json: Mapped[str] = mapped_column("marks", Text)
    result_json: Mapped[str] = mapped_column("result", Text, default="{}")
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))

    @property
    def marks(self) -> dict[str, int]:
        """The last change log positions the package covered."""
        return json.loads(self.marks_json)

    @property
    def result(self) -> dict:
        """What applying it did."""
        return json.loads(self.result_json)


class ExchangeLink(Base):
    """Which local record a partner's record became, and the versions last applied."""

    __tablename__ = "exchange_link"
    __table_args__ = (UniqueConstraint("source", "record_type", "source_id",
                                       name="uq_exchange_link_record"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(40))
    record_type: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[int] = mapped_column(Integer)
    local_id: Mapped[int] = mapped_column(Integer)
    source_version: Mapped[int] = mapped_column(Integer, default=1)
    local_version: Mapped[int] = mapped_column(Integer, default=1)


class ExchangeAgreement(Base):
    """An approved provision of defined fields to another database (Art. 13): to whom, which
    fields, from when until when, on whose approval."""

    __tablename__ = "exchange_agreement"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner: Mapped[str] = mapped_column(String(255))
    fields_json: Mapped[str] = mapped_column("fields", Text)
    purpose: Mapped[str] = mapped_column(Text)
    approval_ref: Mapped[str] = mapped_column(String(255))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))

    created_by: Mapped[User | None] = relationship()

    @property
    def fields(self) -> list[str]:
        """The fields the agreement provides."""
        return json.loads(self.fields_json)

    def in_force(self, day: dt.date) -> bool:
        """Whether the agreement allows a run on that day."""
        return self.valid_from <= day <= self.valid_to


class FeedRun(Base):
    """One run of a feed under an agreement: how many persons, the file's hash (append-only)."""

    __tablename__ = "feed_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("exchange_agreement.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    since_mark: Mapped[int] = mapped_column(Integer)
    until_mark: Mapped[int] = mapped_column(Integer)
    persons: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
