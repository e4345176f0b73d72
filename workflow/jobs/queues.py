"""How a committed job reaches a worker: its id put on a Redis queue (RQ) for `custody worker`,
or, with no queue configured (the SQLite quick start), run at once in this process after the
transaction that asked for it commits. Either way only the id travels: the row is the truth."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Protocol

from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

# Session.info keys: the dispatcher of the session's factory, and the jobs its transaction made.
DISPATCHER = "custody_jobs_dispatcher"
PENDING = "custody_jobs_pending"
QUEUE_NAME = "custody"
# The function a worker runs for a job id (imported by name by RQ in the worker).
PERFORM = "web.jobs.perform"


class Dispatcher(Protocol):
    """Carries committed jobs' ids to whatever runs them."""

    def dispatch(self, job_ids: Iterable[int]) -> None: ...


class AtOnce:
    """The in-process fallback: each job runs now, in this process (`run(job_id)`)."""

    def __init__(self, run: Callable[[int], object]) -> None:
        self.run = run

    def dispatch(self, job_ids: Iterable[int]) -> None:
        for job_id in job_ids:
            self.run(job_id)


class OnRedis:
    """Jobs put on a Redis queue that `custody worker` takes them from (RQ)."""

    def __init__(self, url: str, name: str = QUEUE_NAME) -> None:
        self.url, self.name = url, name
        self._queue = None

    def queue(self):
        """The RQ queue, connected on first use."""
        if self._queue is None:
            from redis import Redis
            from rq import Queue

            self._queue = Queue(self.name, connection=Redis.from_url(self.url))
        return self._queue

    def dispatch(self, job_ids: Iterable[int]) -> None:
        for job_id in job_ids:
            # A day to run (a long render is minutes); its RQ result is not ours to keep: the
            # row holds the outcome.
            self.queue().enqueue_call(PERFORM, args=(job_id,), timeout=3600, result_ttl=60,
                                      failure_ttl=7 * 86400, description=f"job {job_id}")


def later(session: Session, job_id: int) -> None:
    """Have the job dispatched once the session's transaction commits (dropped on rollback)."""
    session.info.setdefault(PENDING, []).append(job_id)


@event.listens_for(Session, "after_commit")
def _dispatch(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released (this event fires for those too): not committed yet
    pending = session.info.pop(PENDING, None)
    dispatcher = session.info.get(DISPATCHER)
    if not pending or dispatcher is None:
        return  # no dispatcher (a script, a test): the jobs wait for `custody worker`
    try:
        dispatcher.dispatch(pending)
    except Exception:  # noqa: BLE001 - a queue that is down: the worker finds them again
        log.exception("jobs %s could not be queued; the worker will find them", pending)


@event.listens_for(Session, "after_rollback")
def _drop(session: Session) -> None:
    session.info.pop(PENDING, None)
