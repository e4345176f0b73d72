"""The change log in commit order: a trigger writes a row for every record version and case stage
in the writing transaction; the exporter gives positions, under a lock, to the committed rows that
have none. A version whose transaction commits after an export gets a position after that
export's, so the next package carries it, whatever its id (ids are handed out at insert, not at
commit, and PostgreSQL commits them in any order)."""

from __future__ import annotations

from sqlalchemy import func, or_, select, text, update
from sqlalchemy.orm import Session

from workflow.models import ChangeLogEntry

# Any constant: it names the one advisory lock the exporters of this database take.
_PLACING_LOCK = 0x6C6F67


def place(session: Session) -> int:
    """Position every committed, unplaced row after the others; the last position."""
    if session.get_bind().dialect.name == "postgresql":
        # Two exporters placing at once would hand out the same positions; SQLite already lets
        # one writer at a time in.
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PLACING_LOCK})
    last = session.scalar(select(func.max(ChangeLogEntry.position))) or 0
    unplaced = select(ChangeLogEntry.id, func.row_number().over(
        order_by=ChangeLogEntry.id).label("rank")).where(
        ChangeLogEntry.position.is_(None)).subquery()
    placed = session.execute(update(ChangeLogEntry).values(position=last + unplaced.c.rank)
                             .where(ChangeLogEntry.id == unplaced.c.id)
                             .execution_options(synchronize_session=False)).rowcount
    return last + max(placed, 0)


def start_of(session: Session, marks: dict[str, int]) -> int:
    """The log position a package's marks end at (before the log, they were the highest version
    and stage ids; the migration placed those rows first)."""
    if "log" in marks:
        return marks["log"]
    return session.scalar(select(func.max(ChangeLogEntry.position)).where(or_(
        ChangeLogEntry.version_id <= marks.get("version", 0),
        ChangeLogEntry.stage_id <= marks.get("stage", 0)))) or 0


def before_version(session: Session, version_id: int) -> int:
    """The position just before the first placed version whose id is above `version_id` (the
    mark of a run that read the highest version id): nothing above it is left out."""
    first = session.scalar(select(func.min(ChangeLogEntry.position)).where(
        ChangeLogEntry.version_id > version_id, ChangeLogEntry.position.is_not(None)))
    if first is None:
        return session.scalar(select(func.max(ChangeLogEntry.position))) or 0
    return first - 1
