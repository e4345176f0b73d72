"""What the probes and the metrics read of the database: whether it is ready to serve (it
answers, its schema is at the migrations' head, the audit chain has its head row), and the
figures computed when metrics are scraped (the audit chain's lag, what the outboxes owe)."""

from __future__ import annotations

import datetime as dt
import functools
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import Connection, Engine, case, create_engine, func, select, text
from sqlalchemy.pool import NullPool

from workflow.audit.chain import HEAD_ID
from workflow.models import (
    AuditCheckpoint,
    AuditEntry,
    AuditHead,
    Job,
    MailOutbox,
    WebhookOutbox,
)
from workflow.notifications.sending import MAX_ATTEMPTS as MAIL_MAX_ATTEMPTS
from workflow.webhooks.delivery import MAX_ATTEMPTS as WEBHOOK_MAX_ATTEMPTS

T = TypeVar("T")


@dataclass(frozen=True)
class Check:
    """One readiness check: its name, whether it passed, and why not (never a secret)."""

    name: str
    ok: bool
    reason: str = ""


def probe_engine(engine: Engine) -> Engine:
    """The engine the probes read through. SQLite: one of its own without the application's
    `BEGIN IMMEDIATE`, so that a probe takes no write lock and never waits behind a writer
    (WAL lets it read meanwhile); other back-ends: the application's (their reads lock
    nothing)."""
    if engine.dialect.name != "sqlite":
        return engine
    return create_engine(engine.url, poolclass=NullPool)


@functools.cache
def _head_revision() -> str:
    # Read from the migration scripts once per process: the code does not change under it.
    # (Alembic is loaded then, by the first probe, not when the application starts.)
    from workflow import schema

    return schema.head_revision()


def readiness(engine: Engine, others: Sequence[Callable[[], Check]] = ()) -> list[Check]:
    """The database's checks, then the other services' (a shared rate-limit store today, the
    job queue when it comes). After a database that does not answer, its other checks are
    not tried."""
    return [*_database_checks(engine), *(check() for check in others)]


def _database_checks(engine: Engine) -> list[Check]:
    try:
        conn = engine.connect()
    except Exception:  # noqa: BLE001 - any failure to connect is the answer itself
        return [Check("database", False, "the database does not answer")]
    with conn:
        try:
            conn.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001
            return [Check("database", False, "the database does not answer")]
        return [Check("database", True), _schema_check(conn), _audit_head_check(conn)]


def _schema_check(conn: Connection) -> Check:
    try:
        current = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except Exception:  # noqa: BLE001 - no version table: no schema at all
        conn.rollback()
        current = []
    if current == [_head_revision()]:
        return Check("schema", True)
    return Check("schema", False, "the schema is not at the migrations' head: run custody init")


def _audit_head_check(conn: Connection) -> Check:
    try:
        found = conn.scalar(select(AuditHead.seq).where(AuditHead.id == HEAD_ID))
    except Exception:  # noqa: BLE001 - no table: the schema check says why
        conn.rollback()
        found = None
    if found is None:
        return Check("audit_chain", False, "the audit chain's head row is missing")
    return Check("audit_chain", True)


class Deadline(Generic[T]):
    """Runs a probe's reads in a thread of their own and waits for them a bounded time: a
    database that hangs (an unreachable host, a stuck lock) makes the probe fail in time
    instead of hanging the load balancer's request. One run at a time: while one hangs, the
    next probes wait for the same one rather than piling up threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: Future | None = None

    def run(self, work: Callable[[], T], seconds: float, late: T) -> T:
        """The work's result, or `late` when it does not finish within `seconds`."""
        with self._lock:
            if self._running is None or self._running.done():
                self._running = Future()
                threading.Thread(target=self._work, args=(self._running, work),
                                 daemon=True).start()
            running = self._running
        try:
            return running.result(timeout=seconds)
        except TimeoutError:
            return late

    @staticmethod
    def _work(future: Future, work: Callable[[], T]) -> None:
        try:
            future.set_result(work())
        except BaseException as error:  # noqa: BLE001 - handed to the waiting probe
            future.set_exception(error)


@dataclass(frozen=True)
class Figures:
    """What the metrics read of the database at scrape time."""

    audit_entries: int
    audit_unsigned: int
    audit_lag_seconds: float
    mail_pending: int
    mail_given_up: int
    webhooks_pending: int
    webhooks_given_up: int
    jobs: dict[str, int]  # background jobs by state: queued, running, done, failed


def figures(engine: Engine, now: dt.datetime) -> Figures:
    """Counts and ages from the database: entries written (the head's sequence number counts
    every entry ever chained), those not yet covered by a signed checkpoint and how long the
    oldest of them has waited, and the outboxes' undelivered rows (still to try, given up)."""
    with engine.connect() as conn:
        head = conn.scalar(select(AuditHead.seq).where(AuditHead.id == HEAD_ID)) or 0
        signed = conn.scalar(select(func.max(AuditCheckpoint.seq))) or 0
        oldest = conn.scalar(select(AuditEntry.occurred_at).where(
            AuditEntry.seq == signed + 1)) if head > signed else None
        mail = _undelivered(conn, MailOutbox.sent_at, MailOutbox.attempts, MAIL_MAX_ATTEMPTS)
        hooks = _undelivered(conn, WebhookOutbox.delivered_at, WebhookOutbox.attempts,
                             WEBHOOK_MAX_ATTEMPTS)
        jobs = dict.fromkeys(("queued", "running", "done", "failed"), 0) | dict(
            conn.execute(select(Job.state, func.count()).group_by(Job.state)).all())
    lag = max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
    return Figures(audit_entries=head, audit_unsigned=head - signed, audit_lag_seconds=lag,
                   mail_pending=mail[0], mail_given_up=mail[1], webhooks_pending=hooks[0],
                   webhooks_given_up=hooks[1], jobs=jobs)


def _undelivered(conn: Connection, done_at, attempts, max_attempts: int) -> tuple[int, int]:
    """Rows not delivered: those still to be tried, and those that ran out of tries."""
    given_up = case((attempts >= max_attempts, 1), else_=0)
    row = conn.execute(select(func.count(), func.coalesce(func.sum(given_up), 0)).where(
        done_at.is_(None))).one()
    return row[0] - row[1], row[1]
