"""Long work taken off the request path (an extract of many pages rendered, then released):
one row per job, which the page reads for its progress and a worker claims before it runs it.
The queue (Redis, or the in-process fallback) only carries the row's id: the row is the truth,
so that a job lost with its worker is found again and run by another."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from workflow.db import Base, UTCDateTime


class Job(Base):
    """A piece of long work asked for by a user: queued, running, then done or failed."""

    __tablename__ = "background_job"
    __table_args__ = (
        CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name="state"),
        Index("ix_background_job_request", "request_id", "state"),
        Index("ix_background_job_state", "state", "heartbeat_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))  # e.g. "extract.prepare"
    state: Mapped[str] = mapped_column(String(10), default="queued")
    request_id: Mapped[int | None] = mapped_column(ForeignKey("access_request.id"))
    document_id: Mapped[int | None] = mapped_column(ForeignKey("issued_document.id"))
    # Who asked, from where: the job acts as them, asked again at run time whether they may.
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    ip: Mapped[str | None] = mapped_column(String(64))
    # The act's own arguments (never a PIN: an act signed with a token is not queued).
    params_json: Mapped[str] = mapped_column(Text, default="{}")
    parts_done: Mapped[int] = mapped_column(default=0)
    parts_total: Mapped[int | None]
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    # Why it failed, as told to the user (a domain message or the kind of a fault): no data.
    error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Touched as the work goes on: a running job whose heartbeat stops was cut short.
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    @property
    def params(self) -> dict:
        """The act's arguments."""
        return json.loads(self.params_json or "{}")

    @property
    def active(self) -> bool:
        """Whether it is still to run or running."""
        return self.state in ("queued", "running")
