"""Rotation: the newest backup of each of the last N days, weeks and months is kept (by
Vietnam's calendar), the newest always; `custody backup --rotate` deletes only older backups it
made itself, and only once the new one reads back whole."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from workflow.context import vietnam_day
from workflow.errors import InvalidInput
from workflow.models import AuditEntry
from workflow.operations import backup, rotation

UTC = dt.UTC


def at(day: str, hour: int = 2) -> dt.datetime:
    """A moment in UTC (02:00 UTC is 09:00 in Vietnam, the same day)."""
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def test_nothing_to_keep_of_nothing():
    assert rotation.to_keep([], 7, 4, 12) == set()


def test_the_newest_is_kept_even_when_nothing_else_is():
    stamps = [at("2026-01-01"), at("2026-03-01"), at("2026-02-01")]
    assert rotation.to_keep(stamps, 0, 0, 0) == {at("2026-03-01")}


def test_of_several_a_day_the_newest_of_each_day_is_kept():
    stamps = [at("2026-11-30", h) for h in (0, 5, 9)] + [at("2026-12-01", h) for h in (1, 3)]
    assert rotation.to_keep(stamps, 7, 0, 0) == {at("2026-11-30", 9), at("2026-12-01", 3)}


def test_days_are_vietnams():
    # 18:00 UTC on the 1st is 01:00 on the 2nd in Hanoi: a day of its own, and the newest of it.
    late, next_morning = at("2026-12-01", 18), at("2026-12-01", 23)
    stamps = [at("2026-12-01", 10), late, next_morning]
    assert rotation.to_keep(stamps, 1, 0, 0) == {next_morning}
    assert rotation.to_keep(stamps, 2, 0, 0) == {at("2026-12-01", 10), next_morning}


def test_days_without_a_backup_do_not_count():
    stamps = [at("2026-10-01"), at("2026-11-15"), at("2026-12-01")]
    assert rotation.to_keep(stamps, 3, 0, 0) == set(stamps)


def test_a_weekly_backup_is_the_newest_of_its_iso_week():
    # 2026-11-23 is a Monday; the week runs to Sunday the 29th.
    stamps = [at("2026-11-16"), at("2026-11-22"), at("2026-11-23"), at("2026-11-29"),
              at("2026-11-30")]
    assert rotation.to_keep(stamps, 0, 3, 0) == {at("2026-11-22"), at("2026-11-29"),
                                                   at("2026-11-30")}


def test_a_year_of_daily_backups_keeps_seven_days_four_weeks_twelve_months():
    start = at("2025-12-01")
    stamps = [start + dt.timedelta(days=n) for n in range(366)]  # to 2026-12-01
    kept = rotation.to_keep(stamps, 7, 4, 12)
    newest = max(stamps)
    days = sorted({vietnam_day(s) for s in kept})
    # the last seven days
    assert {newest - dt.timedelta(days=n) for n in range(7)} <= kept
    # each of the last four weeks' Sunday (the newest of a full week), the current week's newest
    sundays = [s for s in stamps if vietnam_day(s).isoweekday() == 7][-3:]
    assert set(sundays) <= kept
    # the last day of each of the eleven full months before December, and December's newest
    month_ends = [s for s in stamps if (vietnam_day(s) + dt.timedelta(days=1)).day == 1][-11:]
    assert set(month_ends) <= kept and month_ends[0].date() == dt.date(2026, 1, 31)
    # nothing else, and nothing from before the twelve months
    assert kept == ({newest - dt.timedelta(days=n) for n in range(7)} | set(sundays)
                    | set(month_ends))
    assert days[0] == dt.date(2026, 1, 31)
    assert len(kept) <= 7 + 4 + 12


def test_keeping_is_stable_day_after_day():
    """What rotation deleted yesterday it would not have kept today: each day's selection is a
    subset of yesterday's plus the new backup."""
    stamps: list[dt.datetime] = []
    kept: set[dt.datetime] = set()
    for n in range(500):
        new = at("2025-01-01") + dt.timedelta(days=n, hours=n % 5)
        stamps = [*sorted(kept), new]
        today = rotation.to_keep(stamps, 7, 4, 12)
        assert today <= kept | {new} and new in today
        kept = today
    assert len(kept) <= 23


def newest_entry():
    """The newest audit entry's action, outcome and details."""
    return select(AuditEntry.action, AuditEntry.outcome, AuditEntry.details).order_by(
        AuditEntry.seq.desc()).limit(1)


def _fake_rotated(directory, moment: dt.datetime, *, rotated: bool = True) -> None:
    path = directory / rotation.name_for(moment)
    path.write_bytes(b"old backup")
    backup.manifest_path(path).write_text(json.dumps({"created_at": moment.isoformat(),
                                                      "rotated": rotated}))


def test_rotate_deletes_only_the_old_backups_it_made(runner, db, tmp_path):
    directory = tmp_path / "backups"
    directory.mkdir()
    now = dt.datetime.now(UTC)
    for days in (1, 2, 3, 40):
        _fake_rotated(directory, now - dt.timedelta(days=days))
    mine_but_hand_made = now - dt.timedelta(days=50)
    _fake_rotated(directory, mine_but_hand_made, rotated=False)  # `custody backup PATH`
    without_manifest = directory / rotation.name_for(now - dt.timedelta(days=60))
    without_manifest.write_bytes(b"?")
    (directory / "notes.txt").write_text("keep me")
    (directory / "custody-old.backup").write_bytes(b"a name of another form")
    (directory / "custody-20200101T000000Z.backup.bak").write_bytes(b"not ours either")
    before = {p.name for p in directory.iterdir()}

    result = runner.invoke(args=["backup", "--rotate", str(directory), "--keep-daily", "2",
                                 "--keep-weekly", "0", "--keep-monthly", "0"])
    assert result.exit_code == 0, result.output
    left = {p.name for p in directory.iterdir()}
    new = sorted(left - before)
    assert len(new) == 2 and new[1] == f"{new[0]}.manifest.json"
    assert json.loads((directory / new[1]).read_text())["rotated"] is True
    assert rotation.name_for(now - dt.timedelta(days=1)) in left
    for days in (2, 3, 40):
        gone = rotation.name_for(now - dt.timedelta(days=days))
        assert gone not in left and f"{gone}.manifest.json" not in left
        assert f"Deleted the older backup {gone}." in result.output
    assert {"notes.txt", "custody-old.backup", "custody-20200101T000000Z.backup.bak",
            without_manifest.name, rotation.name_for(mine_but_hand_made)} <= left
    entry = db.execute(newest_entry()).one()
    assert entry.action == "backup.create" and entry.outcome == "success"
    details = json.loads(entry.details)
    assert details["deleted"] == 3 and details["file"].endswith(new[0])


def test_nothing_is_deleted_unless_the_new_backup_reads_back(runner, db, tmp_path,
                                                             monkeypatch):
    directory = tmp_path / "backups"
    directory.mkdir()
    old = dt.datetime.now(UTC) - dt.timedelta(days=400)
    _fake_rotated(directory, old)

    def unreadable(path, key, **kwargs):
        raise InvalidInput("Part %(part)s of the backup does not decrypt", part=1)

    monkeypatch.setattr(backup, "verify_file", unreadable)
    result = runner.invoke(args=["backup", "--rotate", str(directory)])
    assert result.exit_code != 0 and "Part 1 of the backup does not decrypt" in result.output
    assert (directory / rotation.name_for(old)).exists()
    entry = db.execute(newest_entry()).one()
    assert entry.action == "backup.create" and entry.outcome == "failure"


@pytest.mark.parametrize("args", [[], ["some.backup", "--rotate", "dir"]])
def test_backup_needs_a_path_or_a_folder_to_rotate(runner, args):
    result = runner.invoke(args=["backup", *args])
    assert result.exit_code == 2 and "Give either PATH or --rotate DIR" in result.output
