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
    Index,
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


CONFLICT_OPEN = "status IN ('open', 'asked')"


class ExchangeConflict(Base):
    """A partner's record that was not applied as sent: open until a records officer keeps
    ours, takes theirs or merges the two field by field, or until a later package applies it
    (after the receiver asked the sender for it again). One open entry per record: a later
    version that conflicts too replaces what the entry holds."""

    __tablename__ = "exchange_conflict"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'asked', 'ours', 'theirs', 'merged', 'applied')",
                        name="status"),
        CheckConstraint(f"({CONFLICT_OPEN}) = (closed_at IS NULL)", name="closed_when_decided"),
        CheckConstraint("status IN ('ours', 'theirs', 'merged') OR closed_by_id IS NULL",
                        name="closed_by_a_decision"),
        Index("ix_exchange_conflict_record", "source", "record_type", "source_id"),
        Index("uq_exchange_conflict_open", "source", "record_type", "source_id", unique=True,
              sqlite_where=CONFLICT_OPEN, postgresql_where=CONFLICT_OPEN),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(40))
    sequence: Mapped[int] = mapped_column(Integer)  # the package it came in
    record_type: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[int] = mapped_column(Integer)
    source_version: Mapped[int | None] = mapped_column(Integer)
    local_id: Mapped[int | None] = mapped_column(Integer)  # the record here, when linked
    problem: Mapped[str] = mapped_column(Text)
    # The sender's record as it came (references by the sender's ids, bodies by code).
    data_json: Mapped[str] = mapped_column("data", Text)
    # The record the sender must send first (a reference never received), to ask for.
    needs_type: Mapped[str | None] = mapped_column(String(32))
    needs_id: Mapped[int | None] = mapped_column(Integer)
    found_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10), default="open")
    asked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    closed_in: Mapped[int | None] = mapped_column(Integer)  # the package that applied it
    reason: Mapped[str | None] = mapped_column(Text)
    taken_json: Mapped[str | None] = mapped_column("taken", Text)  # fields taken from theirs

    closed_by: Mapped[User | None] = relationship()

    @property
    def data(self) -> dict:
        """The sender's record as it came."""
        return json.loads(self.data_json)

    @property
    def name(self) -> str | None:
        """The person's name, when the sender's record is a person."""
        return self.data.get("data", {}).get("full_name") if self.record_type == "person" \
            else None

    @property
    def taken(self) -> list[str]:
        """The fields a decision took from the sender's record."""
        return json.loads(self.taken_json) if self.taken_json else []

    @property
    def is_open(self) -> bool:
        """Whether it still waits for a decision or for the sender."""
        return self.status in ("open", "asked")


class ExchangeAsk(Base):
    """A receiver's signed request that we send one of our records again (it could not apply
    it): the next package of its scope carries the record's latest version."""

    __tablename__ = "exchange_ask"
    __table_args__ = (UniqueConstraint("source", "receiver", "record_type", "record_id",
                                       "asked_at", name="uq_exchange_ask"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(40))  # our body, whose record it is
    receiver: Mapped[str] = mapped_column(String(40))
    record_type: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[int] = mapped_column(Integer)
    asked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_in: Mapped[int | None] = mapped_column(Integer)  # the package that carried it


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
