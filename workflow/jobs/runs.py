"""A job's life: asked for (`submit`), claimed by one worker (`claim`), its progress told
(`progress`), then done with its work committed in the same transaction, or failed — retried
while it has attempts left, else failed for good with the reason the user is told. A job cut
short with its worker (no heartbeat) or lost on the queue is found again (`recover`)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from workflow.audit import chain as audit
from workflow.context import Actor
from workflow.db import utcnow
from workflow.errors import DocumentFailed, DomainError
from workflow.jobs import queues
from workflow.models.jobs import Job
from workflow.models.users import User

log = logging.getLogger(__name__)

# A running job tells it is alive at least this often (each part rendered, and at its start);
# one silent for longer was cut short with its worker.
HEARTBEAT_LOST = dt.timedelta(minutes=5)
# A queued job nobody took in this long was lost on the queue (Redis restarted, a failed put).
QUEUE_LOST = dt.timedelta(minutes=5)
# One still not taken this long after it was asked for (no worker runs) fails, so that its
# request is not held for good: its official may ask again.
QUEUE_GIVE_UP = dt.timedelta(hours=12)
# A refusal's parameters kept with a failed job: the ones that name no one (the rest are
# replaced, so that the column holds no account's or person's name).
SAFE_PARAMS = frozenset({"max", "level", "status", "count", "days", "limit", "copies"})

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Environment:
    """What the jobs' work needs besides a session: the settings of the application."""

    settings: Any  # the documents' ExtractSettings
    flow: Any  # the requests' kernel.Workflow
    sessions: sessionmaker  # for progress told while the job's own transaction is open
    live_progress: bool = True  # False on SQLite, whose writer holds the only write lock


Handler = Callable[[Session, Environment, Actor, Job, Progress | None], None]


def submit(session: Session, actor: Actor, kind: str, *, request_id: int | None = None,
           document_id: int | None = None, params: dict | None = None,
           parts_total: int | None = None) -> Job:
    """Record a job for the actor, dispatched when the session's transaction commits."""
    job = Job(kind=kind, state="queued", request_id=request_id, document_id=document_id,
              user_id=actor.user.id, ip=actor.ip,
              params_json=json.dumps(params or {}, sort_keys=True, default=str),
              parts_done=0, parts_total=parts_total, attempts=0, max_attempts=3,
              created_at=actor.now)
    session.add(job)
    session.flush()
    queues.later(session, job.id)
    return job


def active(session: Session, request_id: int, kinds: tuple[str, ...] | None = None
           ) -> Job | None:
    """The request's job still queued or running, if any (the newest)."""
    query = select(Job).where(Job.request_id == request_id, Job.state.in_(("queued", "running")))
    if kinds:
        query = query.where(Job.kind.in_(kinds))
    return session.scalars(query.order_by(Job.id.desc()).limit(1)).first()


def latest(session: Session, request_id: int) -> Job | None:
    """The request's newest job, whatever its state."""
    return session.scalars(select(Job).where(Job.request_id == request_id)
                           .order_by(Job.id.desc()).limit(1)).first()


def claim(session: Session, job_id: int, worker: str, now: dt.datetime | None = None
          ) -> Job | None:
    """The job, if this worker is the one to run it now (None: another has it, or it is over);
    committed at once, so that no other worker takes it meanwhile."""
    now = now or utcnow()
    taken = session.execute(
        update(Job).where(Job.id == job_id, Job.state == "queued")
        .values(state="running", attempts=Job.attempts + 1, worker=worker[:120],
                started_at=now, heartbeat_at=now, error=None)
        .execution_options(synchronize_session=False))
    session.commit()
    if taken.rowcount != 1:
        return None
    return session.get(Job, job_id, populate_existing=True)


def progress_writer(sessions: sessionmaker, job_id: int) -> Progress:
    """Tell the page how far the job is (parts done of all), in a transaction of its own."""

    def told(done: int, total: int) -> None:
        with sessions() as own:
            own.execute(update(Job).where(Job.id == job_id, Job.state == "running")
                        .values(parts_done=done, parts_total=total, heartbeat_at=utcnow())
                        .execution_options(synchronize_session=False))
            own.commit()

    return told


def _message(error: DomainError) -> str:
    # The domain's message id and its parameters that name no one: the page translates them.
    return json.dumps({"message": error.message,
                       "params": {k: str(v) if k in SAFE_PARAMS else "…"
                                  for k, v in error.params.items()}},
                      ensure_ascii=False)


def run(sessions: sessionmaker, env: Environment, handlers: dict[str, Handler], job_id: int,
        worker: str) -> Job | None:
    """Claim the job and do its work as the user who asked for it, asked again now whether they
    may; the work and the job's "done" commit together. A refusal fails it for good; any other
    failure is retried while attempts remain (the work undone each time)."""
    with sessions() as session:
        job = claim(session, job_id, worker)
        if job is None:
            return None
        user = session.get(User, job.user_id)
        actor = Actor(user, job.ip)
        told = progress_writer(env.sessions, job.id) if env.live_progress else None
        try:
            handlers[job.kind](session, env, actor, job, told)
            job.state, job.finished_at, job.heartbeat_at = "done", utcnow(), utcnow()
            if job.parts_total is not None:
                job.parts_done = job.parts_total
            session.commit()
            return job
        except DocumentFailed as fault:  # the renderer or signer failed: worth another try
            session.rollback()
            kind = str(fault.params.get("error", "")).split(":")[0] or "DocumentFailed"
            return _ended(session, job_id, None, kind)
        except DomainError as refusal:
            session.rollback()
            # Refused as the web refuses an act, and audited alike: as the one who asked.
            audit.record(session, actor, "access.refused", outcome=audit.Outcome.DENIED,
                         object_type="job", object_id=job_id,
                         details={"status": refusal.status, "reason": refusal.message,
                                  "kind": job.kind, "request": job.request_id})
            return _ended(session, job_id, "failed", _message(refusal))
        except Exception as error:  # noqa: BLE001 - a fault: undone, retried, recorded
            session.rollback()
            log.exception("job %s (%s) failed", job_id, job.kind)
            # Its kind only: the text of an error may quote data.
            return _ended(session, job_id, None, type(error).__name__)


def _ended(session: Session, job_id: int, state: str | None, error: str) -> Job:
    """Record a failure: `state` "failed" for good, None to retry while attempts remain."""
    job = session.get(Job, job_id, populate_existing=True)
    retry = state is None and job.attempts < job.max_attempts
    job.state, job.error = ("queued" if retry else "failed"), error
    job.finished_at = None if retry else utcnow()
    if retry:
        queues.later(session, job.id)
    else:
        _let_go(session, job)
    session.commit()
    return job


def _let_go(session: Session, job: Job) -> None:
    """A job failed for good: what its kind kept for its work (an import's file) is let go."""
    from workflow.jobs.kinds import LET_GO  # the kinds import this module

    if (let_go := LET_GO.get(job.kind)) is not None:
        let_go(session, job)


def recover(session: Session, now: dt.datetime | None = None) -> list[int]:
    """Jobs cut short with their worker, or lost on the queue: queued again while attempts
    remain (else failed); their ids, dispatched when the session commits."""
    now = now or utcnow()
    lost = session.scalars(select(Job).where(or_(
        (Job.state == "running") & (Job.heartbeat_at < now - HEARTBEAT_LOST),
        (Job.state == "queued") & (Job.created_at < now - QUEUE_LOST)
        & or_(Job.heartbeat_at.is_(None), Job.heartbeat_at < now - QUEUE_LOST)),
    ).with_for_update(skip_locked=True)).all()
    again = []
    for job in lost:
        if job.state == "running" and job.attempts >= job.max_attempts:
            job.state, job.finished_at, job.error = "failed", now, "WorkerLost"
            _let_go(session, job)
            continue
        if job.state == "queued" and now - job.created_at > QUEUE_GIVE_UP:
            job.state, job.finished_at, job.error = "failed", now, "QueueLost"
            _let_go(session, job)
            continue
        if job.state == "running":
            job.state, job.error = "queued", "WorkerLost"
        job.heartbeat_at = now  # not found again until it is lost again
        queues.later(session, job.id)
        again.append(job.id)
    return again
