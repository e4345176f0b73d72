"""The worker runs the scheduled work itself (issue 17): each task at its slots in Vietnam's time,
each slot once however many workers run, each run recorded with its outcome and what it
printed; a failed run is recorded and the next slot runs again; mail leaves without cron."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select

from tests.requests.test_mail import smtp  # noqa: F401 - the real SMTP server fixture
from tests.worlds import World, ask, fresh_person
from web import worker
from workflow.context import VN
from workflow.models import ScheduledRun
from workflow.operations import schedule
from workflow.operations.schedule import Daily, Every
from workflow.records.enums import CaseStage

NOW = dt.datetime(2026, 11, 24, 3, 7, tzinfo=dt.UTC)  # 10:07 in Hà Nội, a Tuesday


def _vn(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=VN).astimezone(dt.UTC)


def test_slots_are_counted_in_vietnams_time():
    assert Every(15).slot(NOW) == _vn(2026, 11, 24, 10, 0)
    assert Every(1).slot(NOW) == _vn(2026, 11, 24, 10, 7)
    assert Daily(dt.time(7, 0)).slot(NOW) == _vn(2026, 11, 24, 7, 0)
    assert Daily(dt.time(11, 0)).slot(NOW) == _vn(2026, 11, 23, 11, 0)  # not yet today
    # Weekly on Sunday at 04:30: the Sunday before this Tuesday.
    assert Daily(dt.time(4, 30), weekday=6).slot(NOW) == _vn(2026, 11, 22, 4, 30)
    # Just after midnight in Hà Nội it is still the previous day in UTC.
    late = _vn(2026, 11, 25, 0, 5)
    assert Daily(dt.time(2, 0)).slot(late) == _vn(2026, 11, 24, 2, 0)
    assert Every(15).slot(late) == _vn(2026, 11, 25, 0, 0)


def test_a_slot_is_claimed_once(app):
    sessions = app.extensions["custody_sessions"]
    slot = Every(15).slot(NOW)
    with sessions() as one, sessions() as two:
        assert schedule.claim(one, "sweep", slot, "a", NOW) is not None
        assert schedule.claim(two, "sweep", slot, "b", NOW) is None
        assert schedule.claim(two, "sweep", Every(15).slot(NOW + dt.timedelta(minutes=15)),
                              "b", NOW) is not None


def test_workers_racing_for_a_slot_run_it_once(app, backend):
    if backend != "postgresql":
        pytest.skip("concurrent writers: PostgreSQL (SQLite has one writer at a time)")
    sessions = app.extensions["custody_sessions"]
    slot, won, barrier = Every(1).slot(NOW), [], threading.Barrier(8)

    def race(name: str) -> None:
        with sessions() as session:
            barrier.wait()
            if schedule.claim(session, "webhooks.deliver", slot, name, NOW) is not None:
                won.append(name)

    threads = [threading.Thread(target=race, args=(f"w{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1


def test_the_worker_runs_what_is_due_once_and_records_it(app, db):
    done = worker.run_due(app, NOW)
    assert {o.task for o in done} == {"sweep", "webhooks.deliver", "extract.purge"}
    assert all(o.ok for o in done), done
    assert worker.run_due(app, NOW + dt.timedelta(seconds=30)) == []  # same slots: nothing
    runs = {r.task: r for r in db.scalars(select(ScheduledRun))}
    assert runs["sweep"].outcome == "done" and "due soon:" in runs["sweep"].summary
    assert runs["sweep"].slot == _vn(2026, 11, 24, 10, 0)
    # The next quarter hour: the sweep and the webhooks again, the daily purge not.
    again = worker.run_due(app, NOW + dt.timedelta(minutes=15))
    assert {o.task for o in again} == {"sweep", "webhooks.deliver"}


def test_a_failed_run_is_recorded_and_the_next_slot_runs_again(app, db, tmp_path):
    empty = tmp_path / "backups"
    empty.mkdir()
    app.config["BACKUP_DIR"] = str(empty)
    drill = next(t for t in worker.TASKS if t.name == "restore-drill")
    [outcome] = worker.run_due(app, NOW, (drill,))
    assert not outcome.ok
    run = db.scalars(select(ScheduledRun).where(ScheduledRun.task == "restore-drill")).one()
    assert run.outcome == "failed" and run.summary and run.finished_at is not None
    assert worker.run_due(app, NOW, (drill,)) == []  # its slot was run: not again
    [later] = worker.run_due(app, NOW + dt.timedelta(days=7), (drill,))
    assert later.task == "restore-drill"


def test_backups_are_made_only_where_a_folder_is_set(app, db, tmp_path):
    assert "backup" not in {o.task for o in worker.run_due(app, NOW)}
    app.config["BACKUP_DIR"] = str(tmp_path)
    backup = next(t for t in worker.TASKS if t.name == "backup")
    [outcome] = worker.run_due(app, NOW, (backup,))
    assert outcome.ok, outcome.summary
    assert [p.name for p in tmp_path.glob("custody-*.backup")]


def test_mail_leaves_without_cron(app, db, smtp):  # noqa: F811
    app.config.update(MAIL_SMTP_HOST="127.0.0.1", MAIL_SMTP_PORT=smtp.port,
                      MAIL_SENDER="thongbao@csdl.example.vn",
                      PUBLIC_BASE_URL="https://csdl.example.vn")
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        world.user("approver.hanoi").email = "approver.hanoi@example.vn"
        session.commit()
        ask(world, "requester.vks", fresh_person(world, db, CaseStage.CLOSED))
    done = {o.task: o for o in worker.run_due(app)}
    assert done["mail.send"].ok and "sent: 0" not in done["mail.send"].summary
    assert smtp.to("approver.hanoi@example.vn")


def test_the_command_runs_once_and_shows_the_runs(runner, db):
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "sweep: done" in result.output
    assert db.scalar(select(func.count()).select_from(ScheduledRun)) >= 3
    shown = runner.invoke(args=["worker", "--status"])
    assert shown.exit_code == 0 and "sweep" in shown.output and "done" in shown.output


def test_a_database_error_leaves_the_worker_alive(app, db, monkeypatch):
    from sqlalchemy.exc import OperationalError

    calls = {"n": 0}
    real = schedule.claim

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:  # the database restarts under the first claim
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))
        return real(*args, **kwargs)

    monkeypatch.setattr(schedule, "claim", flaky)
    done = worker.run_due(app, NOW)
    assert "sweep" not in {o.task for o in done}  # its claim failed: skipped this time
    assert {"webhooks.deliver", "extract.purge"} <= {o.task for o in done}
    assert "sweep" in {o.task for o in worker.run_due(app, NOW)}  # and run at the next look


def test_a_run_without_an_end_shows_as_stale_after_hours():
    run = ScheduledRun(task="backup", slot=NOW, worker="w", started_at=NOW, outcome="running")
    assert worker.unfinished(run, NOW + dt.timedelta(minutes=5)) == "running"
    assert "stale" in worker.unfinished(run, NOW + dt.timedelta(hours=7))
