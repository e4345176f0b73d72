"""Figures of a dashboard kept with the time they were counted."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workflow.db import Base, UTCDateTime


class StatisticsSnapshot(Base):
    """One body's figures for one choice of day, period and threshold (replaced when stale)."""

    __tablename__ = "statistics_snapshot"
    __table_args__ = (UniqueConstraint("organisation_id", "key",
                                       name="uq_statistics_snapshot_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    key: Mapped[str] = mapped_column(String(200))
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    data: Mapped[str] = mapped_column(Text)
