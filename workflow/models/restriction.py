"""Residence restriction (cấm đi khỏi nơi cư trú): a person's episodes under the measure, managed
by a commune police, their events, and the sweep's flags of what was not done in time.

An episode and its events are records like custody episodes: corrected, never overwritten
silently (each change writes a version in `record_version`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.db import Base, UTCDateTime, utcnow
from workflow.enums import enum_type
from workflow.models.organisations import Organisation
from workflow.models.records import Case, CustodyEpisode, Person, Versioned
from workflow.restriction.enums import EndReason, FlagKind, RestrictionEventKind, RestrictionState


class RestrictionEpisode(Versioned, Base):
    """One residence restriction of a person, from the order to its end, managed by the commune
    police of the place of residence (Công an cấp xã)."""

    __tablename__ = "restriction_episode"
    __table_args__ = (
        CheckConstraint("term_until >= start_date", name="term"),
        CheckConstraint("start_date >= order_date", name="starts_after_order"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="period"),
        # The database ties each state to its columns.
        CheckConstraint("(state = 'ended') = (end_date IS NOT NULL)", name="ended_has_date"),
        CheckConstraint("(state = 'ended') = (end_reason IS NOT NULL)", name="ended_has_reason"),
        CheckConstraint("(state = 'handing_over') = (handover_to_id IS NOT NULL)",
                        name="handover_has_commune"),
        CheckConstraint("(handover_to_id IS NULL) = (handover_due IS NULL)",
                        name="handover_has_due"),
        CheckConstraint("handover_to_id IS NULL OR handover_to_id <> commune_id",
                        name="handover_elsewhere"),
        CheckConstraint("replaced_by_id IS NULL OR end_reason = 'replaced'",
                        name="replacement_when_replaced"),
        Index("ix_restriction_episode_commune", "commune_id", "state"),
        Index("ix_restriction_episode_person", "person_id", "commune_id"),
    )
    record_type = "restriction"
    corrigible = ("order_number", "order_date", "deciding_org_id", "case_id", "start_date",
                  "term_until", "residence")

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    order_number: Mapped[str] = mapped_column(String(64))
    order_date: Mapped[dt.date] = mapped_column(Date)
    deciding_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("criminal_case.id"), index=True)
    start_date: Mapped[dt.date] = mapped_column(Date)
    term_until: Mapped[dt.date] = mapped_column(Date)
    # The commune police managing the person now, and the place of residence they may not leave.
    commune_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    residence: Mapped[str] = mapped_column(String(255))
    state: Mapped[RestrictionState] = mapped_column(enum_type(RestrictionState),
                                                    default=RestrictionState.ACTIVE)
    # Deadlines reckoned in working days when the episode was opened or the person moved.
    report_in_due: Mapped[dt.date] = mapped_column(Date)
    reported_in_on: Mapped[dt.date | None] = mapped_column(Date)
    handover_to_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    handover_due: Mapped[dt.date | None] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    end_reason: Mapped[EndReason | None] = mapped_column(enum_type(EndReason))
    # Replaced by custody or detention: the episode that follows, in the same person's record.
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("custody_episode.id"))

    person: Mapped[Person] = relationship(back_populates="restrictions")
    deciding_org: Mapped[Organisation] = relationship(foreign_keys=[deciding_org_id])
    case: Mapped[Case | None] = relationship()
    commune: Mapped[Organisation] = relationship(foreign_keys=[commune_id])
    handover_to: Mapped[Organisation | None] = relationship(foreign_keys=[handover_to_id])
    replaced_by: Mapped[CustodyEpisode | None] = relationship()
    events: Mapped[list[RestrictionEvent]] = relationship(
        back_populates="episode",
        order_by="(RestrictionEvent.occurred_on, RestrictionEvent.id)")


class RestrictionEvent(Versioned, Base):
    """Something recorded during a residence restriction: a report-in, a meeting, a monthly
    assessment, a violation, an absence, a move and its handover, the end."""

    __tablename__ = "restriction_event"
    __table_args__ = (
        CheckConstraint("(kind = 'assessment') = (period IS NOT NULL)",
                        name="assessment_has_month"),
        CheckConstraint("(kind = 'handover') = (other_commune_id IS NOT NULL)",
                        name="handover_has_commune"),
        CheckConstraint("until_on IS NULL OR until_on >= occurred_on", name="absence_period"),
        # One assessment a month.
        Index("uq_restriction_event_assessment", "episode_id", "period", unique=True,
              sqlite_where=text("kind = 'assessment'"),
              postgresql_where=text("kind = 'assessment'")),
        Index("ix_restriction_event_day", "occurred_on", "kind"),
    )
    record_type = "restriction_event"
    corrigible = ("occurred_on", "note", "document_number", "until_on", "residence")

    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("restriction_episode.id"), index=True)
    kind: Mapped[RestrictionEventKind] = mapped_column(enum_type(RestrictionEventKind))
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    document_number: Mapped[str | None] = mapped_column(String(64))
    # An assessment: the month assessed (its first day). An absence: its last day.
    period: Mapped[dt.date | None] = mapped_column(Date)
    until_on: Mapped[dt.date | None] = mapped_column(Date)
    # A change of residence: the new place. A handover: the commune that received the person
    # (`commune_id`, the one that handed them over).
    residence: Mapped[str | None] = mapped_column(String(255))
    commune_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    other_commune_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))

    episode: Mapped[RestrictionEpisode] = relationship(back_populates="events")
    commune: Mapped[Organisation] = relationship(foreign_keys=[commune_id])
    other_commune: Mapped[Organisation | None] = relationship(foreign_keys=[other_commune_id])


class RestrictionFlag(Base):
    """What the sweep found not done by its due day, once per episode, kind and due day
    (append-only): the commune that was to do it, and when it was found."""

    __tablename__ = "restriction_flag"
    __table_args__ = (
        UniqueConstraint("episode_id", "kind", "due_on", name="uq_restriction_flag"),
        Index("ix_restriction_flag_commune", "commune_id", "flagged_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("restriction_episode.id"))
    kind: Mapped[FlagKind] = mapped_column(enum_type(FlagKind))
    due_on: Mapped[dt.date] = mapped_column(Date)
    commune_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    flagged_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    episode: Mapped[RestrictionEpisode] = relationship()
