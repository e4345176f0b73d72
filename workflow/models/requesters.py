"""Requesters outside the state (Decree 121/2017 Art. 12 §3b): the vetting of their identity by a
body that vouches for them, and the detained persons each may ask about."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.db import Base, UTCDateTime, utcnow
from workflow.enums import enum_type
from workflow.models.organisations import Organisation
from workflow.models.records import Person
from workflow.models.users import User
from workflow.requests.enums import MandateGround, RequesterKind


class RequesterVetting(Base):
    """An official of a body that keeps the database checked the requester's identity papers
    and vouches for them; withdrawn, never deleted (the requests they filed refer to it)."""

    __tablename__ = "requester_vetting"
    __table_args__ = (
        CheckConstraint("(withdrawn_at IS NULL) = (withdrawn_by_id IS NULL)",
                        name="withdrawn_by"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    kind: Mapped[RequesterKind] = mapped_column(enum_type(RequesterKind))
    # The identity document seen (kind and number, e.g. "CCCD 001090012345") and, for a
    # lawyer, the lawyer's card; for a representative, the organisation's registration.
    identity_document: Mapped[str] = mapped_column(String(120))
    credential: Mapped[str | None] = mapped_column(String(120))
    vouched_by_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    vouched_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    vouched_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    vouched_by_org: Mapped[Organisation] = relationship()
    vouched_by: Mapped[User | None] = relationship(foreign_keys=[vouched_by_id])


class Mandate(Base):
    """A detained person a requester outside the state acts for: as registered defence counsel
    or with the person's written authorisation, from a day and (optionally) until one; recorded
    by the facility holding the person, ended early, never deleted."""

    __tablename__ = "requester_mandate"
    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="valid_period"),
        CheckConstraint("(ended_at IS NULL) = (ended_by_id IS NULL)", name="ended_by"),
        Index("ix_requester_mandate_user_person", "user_id", "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    ground: Mapped[MandateGround] = mapped_column(enum_type(MandateGround))
    # The paper it rests on: the registration of defence counsel, or the authorisation's date.
    reference: Mapped[str] = mapped_column(String(120))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    recorded_by_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    person: Mapped[Person] = relationship()
    recorded_by_org: Mapped[Organisation] = relationship()

    def live_on(self, day: dt.date) -> bool:
        """Whether the requester may act for the person on that day."""
        return (self.ended_at is None and self.valid_from <= day
                and (self.valid_to is None or day <= self.valid_to))
