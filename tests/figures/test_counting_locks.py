"""Counting the figures never stops the writers: while a nationwide count is paused half-way (in
another thread, as a dashboard page or the sweep would run it), an account is created and
committed at once, and the count then finishes and keeps its figures."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

import pytest
from sqlalchemy import event, select

from tests.helpers import last_audit, org
from workflow.audit import chain as audit
from workflow.context import SYSTEM, Actor
from workflow.db import make_engine, make_session_factory
from workflow.enums import Role
from workflow.figures import dashboard, disclosure, statistics
from workflow.models import StatisticsSnapshot, User
from workflow.requests.rules import Rulebook
from workflow.security.accounts import create_user

# Longer than any commit takes here, far shorter than the app's 30 s: a writer that has to wait
# for the count fails quickly instead of hanging the test.
WRITER_PATIENCE_MS = 2000


def _page_count(app) -> None:
    """The manager of the centre opens the dashboard: one session, as a request has."""
    with app.extensions["custody_sessions"]() as session:
        manager = session.scalars(select(User).where(User.username == "manager.central")).one()
        now = dt.datetime(2026, 11, 24, 3, 0, tzinfo=dt.UTC)
        day, start, end = disclosure.default_reporting(now.date())  # the published view
        board = dashboard.build(session, Actor(manager, "10.0.0.1", now), Rulebook(),
                                day=day, start=start, end=end,
                                control=app.extensions["custody_statistics"],
                                max_age=dt.timedelta(minutes=10))
        session.commit()
        assert board.as_of == now


def _sweep_count(app) -> None:
    """`custody sweep`, which counts the managers' default views."""
    result = app.test_cli_runner().invoke(args=["sweep"])
    assert result.exit_code == 0, result.output
    assert "statistics counted for 2 bodies" in result.output


def _writer(app, database_url: str):
    """Sessions of a second process's kind: its own connections, a short busy wait."""
    engine = make_engine(database_url)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _patience(dbapi_conn, _record) -> None:
            dbapi_conn.execute(f"PRAGMA busy_timeout={WRITER_PATIENCE_MS}")
    return engine, make_session_factory(
        engine, {audit.SEALER: app.extensions["custody_audit_sealer"]})


@pytest.mark.parametrize("start_count", [_page_count, _sweep_count], ids=["page", "sweep"])
def test_a_writer_commits_while_a_count_is_in_progress(app, db, database_url, monkeypatch,
                                                       start_count: Callable):
    counting, written = threading.Event(), threading.Event()
    real = statistics.movements

    def paused(*args, **kwargs):
        # Half-way: the population is counted, the movements are not yet.
        counting.set()
        written.wait(timeout=30)
        return real(*args, **kwargs)

    monkeypatch.setattr(statistics, "movements", paused)
    failures: list[BaseException] = []

    def run() -> None:
        try:
            start_count(app)
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            failures.append(error)

    counter = threading.Thread(target=run)
    counter.start()
    try:
        assert counting.wait(timeout=120), failures
        engine, sessions = _writer(app, database_url)
        with sessions() as session:
            create_user(session, SYSTEM, username="clerk.during.count",
                        full_name="Cán bộ Nguyễn Văn Đếm",
                        organisation_id=org(db, "TTG-HANOI").id, roles={Role.CLERK},
                        password="một câu đủ dài để đăng nhập")
            session.commit()
        engine.dispose()
    finally:
        written.set()
        counter.join(timeout=120)
    assert not failures, failures
    assert db.scalar(select(User.id).where(User.username == "clerk.during.count")) is not None
    assert "clerk.during.count" in last_audit(db, "admin.user_create").details
    # The count finished after the write and kept the centre's figures.
    assert db.scalar(select(StatisticsSnapshot.id).where(
        StatisticsSnapshot.organisation_id == org(db, "TTCSDL").id)) is not None
