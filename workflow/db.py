"""Engine, session factory and column types shared by every model."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with stable constraint names (migrations depend on them)."""

    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp on every back-end (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a UTC timestamp is required")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


# An execution option: the connection only reads (see `reading`).
READ_ONLY = "custody_read_only"
# Session.info key: the session flushed something in its current transaction.
_WROTE = "custody_wrote"


def _tune_sqlite(engine: Engine) -> None:
    # Every request writes an audit entry, so every transaction is a writer: take the write lock
    # at BEGIN so two requests cannot both read the same audit chain head. A connection that
    # only reads (`reading`) begins deferred: in WAL mode it reads one snapshot and never
    # holds the write lock, so writers commit while it counts.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        # Reads through a memory map instead of a read call per page (the default page cache
        # is 2 MB): the nationwide movements count at 100,000 persons took half the time.
        cur.execute("PRAGMA mmap_size=268435456")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY)
                             else "BEGIN IMMEDIATE")


def make_engine(url: str, **kwargs) -> Engine:
    """Create an engine for a database URL, creating the SQLite file's folder if needed."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        _tune_sqlite(engine)
        return engine
    # Requests here are short and many: a parallel worker's start-up costs more than it saves
    # on a LIMIT 50 search (measured: 19 ms of a 25 ms query), so the app's sessions use none.
    # psycopg prepares a statement after five runs, and PostgreSQL may then switch to a generic
    # plan that ignores which bodies a queue is for (measured: 52 ms instead of 7): plan each
    # execution with its own values.
    connect_args = {"options": "-c max_parallel_workers_per_gather=0 "
                               "-c plan_cache_mode=force_custom_plan"}
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() == "psycopg":
        kwargs.setdefault("connect_args", connect_args)
    return create_engine(url, pool_pre_ping=True, **kwargs)


def make_session_factory(engine: Engine, info: dict | None = None) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit; `info` starts each session's
    `Session.info` (the audit sealer, for instance)."""
    return sessionmaker(bind=engine, expire_on_commit=False, info=info)


@event.listens_for(Session, "after_flush")
def _note_write(session: Session, _context) -> None:
    session.info[_WROTE] = True


@event.listens_for(Session, "after_transaction_end")
def _forget_writes(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_WROTE, None)


def _has_written(session: Session) -> bool:
    return bool(session.info.get(_WROTE) or session.new or session.dirty or session.deleted)


@contextmanager
def reading(session: Session) -> Iterator[Session]:
    """A session for a long read beside `session` that holds no write lock: one read-only
    transaction on one snapshot (a deferred BEGIN on SQLite, which in WAL mode lets writers
    commit meanwhile; REPEATABLE READ, READ ONLY on PostgreSQL). On SQLite `session`'s own
    transaction, which holds the write lock from its BEGIN, is ended first when it has written
    nothing (objects stay loaded; deferred audit entries are chained then). A session that has
    written reads in its own transaction: its writes must be seen, and it holds the lock
    anyway."""
    if _has_written(session):
        yield session
        return
    bind = session.get_bind()
    engine = getattr(bind, "engine", bind)
    options: dict[str, object] = {READ_ONLY: True}
    if engine.dialect.name == "postgresql":
        options.update(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    elif session.in_transaction():
        session.commit()
    with Session(bind=engine.execution_options(**options)) as reader:
        try:
            yield reader
        finally:
            reader.rollback()
