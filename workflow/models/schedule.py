"""The runs of the installation's scheduled work (the sweep, mail, webhooks, backups…): one row
per task and slot, claimed before it runs, so that two workers never run one slot twice."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workflow.db import Base, UTCDateTime


class ScheduledRun(Base):
    """A task's run for one slot of its schedule: claimed (running), then done or failed."""

    __tablename__ = "scheduled_run"
    __table_args__ = (
        UniqueConstraint("task", "slot"),  # one run a slot
        CheckConstraint("outcome IN ('running', 'done', 'failed')", name="outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task: Mapped[str] = mapped_column(String(40))
    slot: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    worker: Mapped[str] = mapped_column(String(120))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(10), default="running")
    # What the task printed (its counts), cut short: never personal data.
    summary: Mapped[str | None] = mapped_column(Text)
