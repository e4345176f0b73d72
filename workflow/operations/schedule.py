"""When the installation's scheduled work is due, and the claim that lets one worker of several
run each slot once (Decree 121/2017 Art. 11: the database is kept without an operator having
to remember cron). A slot is the latest moment of a task's schedule at or before now; a worker
that was down runs the current slot when it comes back, not every slot it missed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflow.context import VN
from workflow.models.schedule import ScheduledRun

SUMMARY_LIMIT = 2000


@dataclass(frozen=True)
class Every:
    """Every so many minutes, counted from midnight in Vietnam."""

    minutes: int

    def slot(self, now: dt.datetime) -> dt.datetime:
        """The latest moment of the schedule at or before `now` (UTC)."""
        local = now.astimezone(VN)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        elapsed = int((local - midnight).total_seconds() // 60)
        return (midnight + dt.timedelta(minutes=elapsed - elapsed % self.minutes)
                ).astimezone(dt.UTC)


@dataclass(frozen=True)
class Daily:
    """Once a day at a time of day in Vietnam; with `weekday` (Monday 0), once a week."""

    at: dt.time
    weekday: int | None = None

    def slot(self, now: dt.datetime) -> dt.datetime:
        """The latest moment of the schedule at or before `now` (UTC)."""
        local = now.astimezone(VN)
        moment = dt.datetime.combine(local.date(), self.at, VN)
        if moment > local:
            moment -= dt.timedelta(days=1)
        if self.weekday is not None:
            moment -= dt.timedelta(days=(moment.weekday() - self.weekday) % 7)
        return moment.astimezone(dt.UTC)


Schedule = Every | Daily


def claim(session: Session, task: str, slot: dt.datetime, worker: str,
          now: dt.datetime) -> ScheduledRun | None:
    """The run of the task's slot, if this worker is the first to claim it (None: another did,
    or it ran already); committed at once, so that the claim holds while the task runs."""
    run = ScheduledRun(task=task, slot=slot, worker=worker[:120], started_at=now,
                       outcome="running")
    session.add(run)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return None
    return run


def finish(session: Session, run: ScheduledRun, ok: bool, summary: str,
           now: dt.datetime) -> None:
    """Record how the run ended and what it reported."""
    run.outcome, run.finished_at = ("done" if ok else "failed"), now
    run.summary = summary.strip()[:SUMMARY_LIMIT] or None
    session.commit()


def latest_runs(session: Session, limit: int = 50) -> list[ScheduledRun]:
    """The latest runs, newest first."""
    return list(session.scalars(select(ScheduledRun).order_by(
        ScheduledRun.started_at.desc(), ScheduledRun.id.desc()).limit(limit)))
