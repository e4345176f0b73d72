"""Rotated backups: `custody backup --rotate DIR` names each backup by the moment it was made,
and keeps the newest of each of the last N days, N weeks and N months (grandfather-father-son).
Only backups this command made are ever deleted: a file whose name it did not give, or whose
manifest does not say it was rotated, is left alone."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from sqlalchemy import Engine

from workflow.context import vietnam_day
from workflow.operations import backup

PREFIX = "custody-"
SUFFIX = ".backup"
_STAMP = "%Y%m%dT%H%M%SZ"
_NAME = re.compile(rf"^{PREFIX}(\d{{8}}T\d{{6}}Z){re.escape(SUFFIX)}$")

# The calendar periods a backup falls in, by Vietnam's calendar (where the operators are).
PERIODS: tuple[Callable[[dt.datetime], object], ...] = (
    vietnam_day,
    lambda moment: vietnam_day(moment).isocalendar()[:2],
    lambda moment: (vietnam_day(moment).year, vietnam_day(moment).month),
)


def to_keep(stamps: Iterable[dt.datetime], daily: int, weekly: int,
            monthly: int) -> set[dt.datetime]:
    """The backups to keep: the newest of each of the `daily` most recent days that have one,
    likewise of weeks and of months (one backup may count for all three), and always the
    newest."""
    ordered = sorted(set(stamps), reverse=True)
    keep = set(ordered[:1])
    for wanted, period in zip((daily, weekly, monthly), PERIODS, strict=True):
        seen: set[object] = set()
        for stamp in ordered:  # newest first: the first one met in a period is its newest
            bucket = period(stamp)
            if bucket in seen:
                continue
            if len(seen) >= wanted:
                break
            seen.add(bucket)
            keep.add(stamp)
    return keep


def name_for(moment: dt.datetime) -> str:
    """The file name of a rotated backup made at `moment` (UTC)."""
    return f"{PREFIX}{moment.astimezone(dt.UTC).strftime(_STAMP)}{SUFFIX}"


def rotated_backups(directory: Path) -> dict[dt.datetime, Path]:
    """The backups in `directory` that `--rotate` made, by the moment they were made."""
    found: dict[dt.datetime, Path] = {}
    for path in Path(directory).iterdir():
        match = _NAME.match(path.name)
        if match and path.is_file() and _made_by_rotation(path):
            found[dt.datetime.strptime(match.group(1), _STAMP).replace(tzinfo=dt.UTC)] = path
    return found


def _made_by_rotation(path: Path) -> bool:
    try:
        return json.loads(backup.manifest_path(path).read_text("utf-8")).get("rotated") is True
    except (OSError, ValueError, AttributeError):
        return False


def prune(directory: Path, daily: int, weekly: int, monthly: int) -> list[Path]:
    """Delete the rotated backups (and their manifests) that `to_keep` does not keep."""
    found = rotated_backups(directory)
    keep = to_keep(found, daily, weekly, monthly)
    deleted = []
    for stamp, path in sorted(found.items()):
        if stamp not in keep:
            path.unlink()
            backup.manifest_path(path).unlink(missing_ok=True)
            deleted.append(path)
    return deleted


def back_up_and_rotate(engine: Engine, directory: Path, key: bytes, now: dt.datetime,
                       daily: int, weekly: int, monthly: int) -> tuple[Path, dict, list[Path]]:
    """Write a backup named for `now` into `directory`, read it back whole, and only then
    delete the rotated backups no longer kept; the new one, its manifest and those deleted."""
    path = Path(directory) / name_for(now)
    manifest = backup.back_up(engine, path, key, rotated=True)
    backup.verify_file(path, key)
    return path, manifest, prune(directory, daily, weekly, monthly)
