"""Organisations and their dated parent links (the 2025 reform re-parented facilities)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    CheckConstraint,
    ColumnElement,
    Date,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.db import Base
from workflow.enums import enum_type
from workflow.organisations.enums import Branch, OrgKind, OrgLevel


class Organisation(Base):
    """A body of either branch, or an outside body that uses the data (cơ quan, đơn vị)."""

    __tablename__ = "organisation"
    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="valid_period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[OrgKind] = mapped_column(enum_type(OrgKind))
    branch: Mapped[Branch] = mapped_column(enum_type(Branch))
    level: Mapped[OrgLevel] = mapped_column(enum_type(OrgLevel))
    province: Mapped[str | None] = mapped_column(String(64))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    # For the documents it issues (Decree 30/2020): its abbreviation in their numbers, and the
    # body that governs it administratively, whose name heads them (not the custody tree above).
    abbreviation: Mapped[str | None] = mapped_column(String(40))
    governing_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))

    governing: Mapped[Organisation | None] = relationship(remote_side=[id])
    names: Mapped[list[OrganisationName]] = relationship(
        back_populates="organisation", order_by="OrganisationName.valid_from")
    links: Mapped[list[OrganisationLink]] = relationship(
        foreign_keys="OrganisationLink.organisation_id",
        back_populates="organisation",
        order_by="OrganisationLink.valid_from",
    )

    def active_on(self, day: dt.date) -> bool:
        """Whether the body existed on that day."""
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)

    def name_on(self, day: dt.date) -> str:
        """The name in force on the day: the latest dated name from before it, else `name`."""
        dated = [n for n in self.names if n.valid_from <= day]
        return dated[-1].name if dated else self.name

    def __repr__(self) -> str:
        return f"<Organisation {self.code}>"


class OrganisationName(Base):
    """A name a body bears from `valid_from` until its next name (bodies are renamed: the 2026
    managing bodies "... và cấm đi khỏi nơi cư trú", communes after a merger)."""

    __tablename__ = "organisation_name"
    __table_args__ = (
        UniqueConstraint("organisation_id", "valid_from", name="uq_organisation_name_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    name: Mapped[str] = mapped_column(String(255))
    valid_from: Mapped[dt.date] = mapped_column(Date)

    organisation: Mapped[Organisation] = relationship(back_populates="names")


class OrganisationLink(Base):
    """A dated 'is managed by' link; the periods of one organisation never overlap."""

    __tablename__ = "organisation_link"
    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="valid_period"),
        CheckConstraint("organisation_id <> parent_id", name="not_self"),
        Index("ix_organisation_link_parent", "parent_id", "valid_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)

    organisation: Mapped[Organisation] = relationship(
        foreign_keys=[organisation_id], back_populates="links"
    )
    parent: Mapped[Organisation] = relationship(foreign_keys=[parent_id])

    @classmethod
    def in_force(cls, day: dt.date) -> ColumnElement[bool]:
        """The condition of a link in force on the day (the period includes its first day)."""
        return (cls.valid_from <= day) & (cls.valid_to.is_(None) | (cls.valid_to > day))

    def active_on(self, day: dt.date) -> bool:
        """Whether the link held on that day."""
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)
