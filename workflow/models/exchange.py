"""Exchange with other databases (Decree Arts. 6 §3, 8, 13): packages between the Army subsystem
and the central centre, the partners whose keys are trusted, and feeds provided under approved
agreements."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
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


class ExchangeRetiredKey(Base):
    """A key a partner signed with before its current one: its packages made up to
    `accepted_until` (the end of the overlap given when the key was replaced) still verify."""

    __tablename__ = "exchange_retired_key"
    __table_args__ = (UniqueConstraint("partner_id", "key_id", name="uq_exchange_retired_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("exchange_partner.id"))
    key_id: Mapped[str] = mapped_column(String(16))
    public_key: Mapped[str] = mapped_column(Text)
    retired_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    accepted_until: Mapped[dt.datetime] = mapped_column(UTCDateTime)


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
    # What was signed, kept by the sender so that the package can be made again (None for
    # packages received, and those sent before bodies were kept).
    body: Mapped[str | None] = mapped_column(Text)

    @property
    def marks(self) -> dict[str, int]:
        """The last change log positions the package covered."""
        return json.loads(self.marks_json)

    @property
    def result(self) -> dict:
        """What applying it did."""
        return json.loads(self.result_json)


class ChangeLogEntry(Base):
    """A record version or case stage in the order its transaction committed: the row is written
    by a trigger in the writing transaction, its position given later, by the exporter, to the
    committed rows that have none (so a lower id committed late still gets a later position)."""

    __tablename__ = "change_log"
    __table_args__ = (
        CheckConstraint("(version_id IS NULL) <> (stage_id IS NULL)", name="one_change"),
        UniqueConstraint("position", name="uq_change_log_position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int | None] = mapped_column(ForeignKey("record_version.id"),
                                                   unique=True)
    stage_id: Mapped[int | None] = mapped_column(ForeignKey("case_stage.id"), unique=True)
    position: Mapped[int | None] = mapped_column(Integer)


class ExchangeReceipt(Base):
    """A receiver's signed word on a package sent: what arrived (its hash), and whether it was
    applied, already applied or refused, with its conflicts (append-only: the evidence)."""

    __tablename__ = "exchange_receipt"

    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("exchange_package.id"), index=True)
    receiver: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(16))
    sha256: Mapped[str] = mapped_column(String(64))
    conflicts: Mapped[int] = mapped_column(Integer)
    signed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # The receipt as signed, kept whole so that it can be checked again.
    document: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))

    package: Mapped[ExchangePackage] = relationship()


class PersonMatch(Base):
    """A person received who may be one already here (same name and date of birth, no identity
    document in common): left open until someone confirms they are the same or not."""

    __tablename__ = "person_match"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'same', 'different')", name="status"),
        CheckConstraint("(status = 'open') = (decided_at IS NULL)", name="decided_when_closed"),
        UniqueConstraint("person_id", "candidate_id", name="uq_person_match_pair"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(40))
    source_id: Mapped[int] = mapped_column(Integer)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    found_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10), default="open")
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    reason: Mapped[str | None] = mapped_column(Text)


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
    """One run of a feed under an agreement: how many persons, the file's hash (append-only).
    Its marks are change log positions; runs made before the log have the highest version id
    read instead (`marks` says which)."""

    __tablename__ = "feed_run"
    __table_args__ = (CheckConstraint("marks IN ('version', 'log')", name="marks_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("exchange_agreement.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    since_mark: Mapped[int] = mapped_column(Integer)
    until_mark: Mapped[int] = mapped_column(Integer)
    marks: Mapped[str] = mapped_column(String(8), default="log", server_default="version")
    persons: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
