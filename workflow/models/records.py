"""The records of the database: persons, identifiers, episodes, events, cases and documents.

Records are corrected, never overwritten silently: each row carries a version number, and every
version (the first included) is kept in `record_version`, which the database keeps append-only.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, ClassVar

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
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from workflow.db import Base, UTCDateTime, utcnow
from workflow.enums import Secrecy, enum_type
from workflow.models.organisations import Organisation
from workflow.records.enums import (
    CaseStage,
    DocumentCategory,
    EventKind,
    IdentifierKind,
    Measure,
    Sex,
)

if TYPE_CHECKING:
    from workflow.models.restriction import RestrictionEpisode

# Search keys compare byte-wise so that an index range scan finds every prefix on PostgreSQL too.
SearchKey = String(160).with_variant(String(160, collation="C"), "postgresql")


class Versioned:
    """Columns every correctable record carries; `corrigible` lists what a correction may change."""

    record_type: ClassVar[str]
    corrigible: ClassVar[tuple[str, ...]]

    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    @declared_attr
    def created_by_id(cls) -> Mapped[int | None]:  # noqa: N805
        return mapped_column(ForeignKey("app_user.id"))


class Person(Versioned, Base):
    """A person held in custody or detention (người bị tạm giữ, người bị tạm giam) or under
    residence restriction (người bị cấm đi khỏi nơi cư trú)."""

    __tablename__ = "person"
    __table_args__ = (
        Index("ix_person_name_key", "name_key", "id"),
        Index("ix_person_given_key", "given_key", "name_key"),
        CheckConstraint("merged_into_id <> id", name="not_merged_into_itself"),
    )
    record_type = "person"
    corrigible = ("full_name", "birth_date", "sex", "nationality", "place_of_origin")

    id: Mapped[int] = mapped_column(primary_key=True)
    full_name: Mapped[str] = mapped_column(String(160))
    name_key: Mapped[str] = mapped_column(SearchKey)
    given_key: Mapped[str] = mapped_column(SearchKey)
    birth_date: Mapped[dt.date] = mapped_column(Date, index=True)
    sex: Mapped[Sex] = mapped_column(enum_type(Sex))
    nationality: Mapped[str] = mapped_column(String(64), default="Việt Nam")
    place_of_origin: Mapped[str | None] = mapped_column(String(255))
    # A person received and then found to be one already here (`exchange.matches`): the record
    # stays, empty, with its history, and is never listed or counted apart from the one kept.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))

    identifiers: Mapped[list[PersonIdentifier]] = relationship(
        back_populates="person", order_by="PersonIdentifier.valid_from"
    )
    episodes: Mapped[list[CustodyEpisode]] = relationship(
        back_populates="person", order_by="CustodyEpisode.start_date"
    )
    documents: Mapped[list[RecordDocument]] = relationship(
        back_populates="person", order_by="RecordDocument.issued_on"
    )
    # Residence restrictions (workflow/models/restriction.py): one record holds every measure.
    restrictions: Mapped[list[RestrictionEpisode]] = relationship(
        back_populates="person", order_by="RestrictionEpisode.start_date"
    )


class PersonIdentifier(Versioned, Base):
    """A typed, dated identity document of a person."""

    __tablename__ = "person_identifier"
    __table_args__ = (
        UniqueConstraint("kind", "value", name="uq_person_identifier_kind_value"),
        Index("ix_person_identifier_value", "value"),
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="valid_period"),
    )
    record_type = "identifier"
    corrigible = ("value", "issued_on", "issuing_country", "valid_from", "valid_to")

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    kind: Mapped[IdentifierKind] = mapped_column(enum_type(IdentifierKind))
    value: Mapped[str] = mapped_column(String(32))
    issued_on: Mapped[dt.date | None] = mapped_column(Date)
    issuing_country: Mapped[str | None] = mapped_column(String(64))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)

    person: Mapped[Person] = relationship(back_populates="identifiers")


class Case(Versioned, Base):
    """A criminal case (vụ án) to which custody episodes relate."""

    __tablename__ = "criminal_case"
    record_type = "case"
    corrigible = ("title", "charges")

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(255))
    charges: Mapped[str] = mapped_column(String(255))
    opened_on: Mapped[dt.date] = mapped_column(Date)

    stages: Mapped[list[CaseStageEntry]] = relationship(
        back_populates="case", order_by="(CaseStageEntry.from_date, CaseStageEntry.id)"
    )

    def stage_on(self, day: dt.date) -> CaseStageEntry | None:
        """The stage entry in force on that day (the latest that started on or before it)."""
        current = None
        for entry in self.stages:
            if entry.from_date <= day:
                current = entry
        return current


class CaseStageEntry(Base):
    """From `from_date` the case is at `stage`, handled by `handling_org` (append-only history)."""

    __tablename__ = "case_stage"
    __table_args__ = (
        CheckConstraint(
            "(stage IN ('investigation','prosecution','trial')) = (handling_org_id IS NOT NULL)",
            name="handler_iff_active",
        ),
        Index("ix_case_stage_case", "case_id", "from_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("criminal_case.id"))
    stage: Mapped[CaseStage] = mapped_column(enum_type(CaseStage))
    handling_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    from_date: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(255))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))

    case: Mapped[Case] = relationship(back_populates="stages")
    handling_org: Mapped[Organisation | None] = relationship()


class CustodyEpisode(Versioned, Base):
    """One stay of a person at one facility under one measure."""

    __tablename__ = "custody_episode"
    __table_args__ = (
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="period"),
        Index("ix_custody_episode_facility", "facility_id", "person_id"),
        # Covers the scope check of a search (does this person have an episode here?).
        Index("ix_custody_episode_person_facility", "person_id", "facility_id"),
        # Who is held on a day: open episodes and those ending after it (statistics).
        Index("ix_custody_episode_end", "end_date"),
    )
    record_type = "episode"
    corrigible = ("measure", "start_date", "end_date", "legal_basis", "case_id")

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    facility_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    measure: Mapped[Measure] = mapped_column(enum_type(Measure))
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    legal_basis: Mapped[str] = mapped_column(String(255))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("criminal_case.id"), index=True)

    person: Mapped[Person] = relationship(back_populates="episodes")
    facility: Mapped[Organisation] = relationship()
    case: Mapped[Case | None] = relationship()
    events: Mapped[list[CustodyEvent]] = relationship(
        back_populates="episode", order_by="(CustodyEvent.occurred_on, CustodyEvent.id)"
    )


class CustodyEvent(Versioned, Base):
    """Something that happened during an episode: receipt, extension, transfer, release…"""

    __tablename__ = "custody_event"
    __table_args__ = (Index("ix_custody_event_day", "occurred_on", "kind"),)
    record_type = "event"
    corrigible = ("kind", "occurred_on", "note", "document_number", "other_facility_id")

    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("custody_episode.id"), index=True)
    kind: Mapped[EventKind] = mapped_column(enum_type(EventKind))
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    document_number: Mapped[str | None] = mapped_column(String(64))
    other_facility_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))

    episode: Mapped[CustodyEpisode] = relationship(back_populates="events")
    other_facility: Mapped[Organisation | None] = relationship()


class RecordDocument(Versioned, Base):
    """A document of the record file, filed under an Art. 17 §1 category, with its secrecy."""

    __tablename__ = "record_document"
    record_type = "document"
    corrigible = ("category", "title", "number", "issued_on", "issuer", "secrecy", "summary")

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    episode_id: Mapped[int | None] = mapped_column(ForeignKey("custody_episode.id"))
    category: Mapped[DocumentCategory] = mapped_column(enum_type(DocumentCategory))
    title: Mapped[str] = mapped_column(String(255))
    number: Mapped[str | None] = mapped_column(String(64))
    issued_on: Mapped[dt.date] = mapped_column(Date)
    issuer: Mapped[str] = mapped_column(String(255))
    secrecy: Mapped[Secrecy] = mapped_column(enum_type(Secrecy), default=Secrecy.NONE)
    summary: Mapped[str | None] = mapped_column(Text)

    person: Mapped[Person] = relationship(back_populates="documents")
    episode: Mapped[CustodyEpisode | None] = relationship()


class RecordVersion(Base):
    """One version of one record: what it held, who made it, when and why (append-only)."""

    __tablename__ = "record_version"
    __table_args__ = (
        UniqueConstraint("record_type", "record_id", "version", name="uq_record_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    record_type: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    data: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class ReadDisclosure(Base):
    """The body handling a case lets the persons under it see, in their own view of who read
    their record, the reads made up to `disclosed_through` that were withheld while the case was
    under investigation (append-only: a later disclosure reaches further, none is taken back)."""

    __tablename__ = "read_disclosure"
    __table_args__ = (Index("ix_read_disclosure_case", "case_id", "disclosed_through"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("criminal_case.id"))
    disclosed_through: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    by_user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
