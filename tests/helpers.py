"""Queries tests use to find demo objects."""

from __future__ import annotations

from sqlalchemy import func, select

from workflow.models import (
    AuditEntry,
    CustodyEpisode,
    Organisation,
    Person,
    RecordVersion,
    User,
)


def org(db, code: str) -> Organisation:
    """An organisation by code."""
    return db.execute(select(Organisation).where(Organisation.code == code)).scalar_one()


def person_at(db, code: str, *, only_there: bool = True, skip_kiosk: bool = False) -> Person:
    """A person with an episode at the facility (and, by default, at no other facility);
    `skip_kiosk` passes over persons who have a detainee account."""
    facility = org(db, code)
    kiosk = set(db.execute(select(User.person_id).where(User.person_id.is_not(None))).scalars())
    for person in db.execute(
        select(Person).join(CustodyEpisode).where(CustodyEpisode.facility_id == facility.id)
        .order_by(Person.id)
    ).scalars():
        if skip_kiosk and person.id in kiosk:
            continue
        if not only_there or {e.facility_id for e in person.episodes} == {facility.id}:
            return person
    raise LookupError(code)


def count(db, model) -> int:
    """Rows in a table."""
    return db.scalar(select(func.count()).select_from(model))


def last_audit(db, action: str | None = None) -> AuditEntry:
    """The newest audit entry (of an action)."""
    stmt = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    return db.execute(stmt).scalar_one()


def versions_of(db, record_type: str, record_id: int) -> list[RecordVersion]:
    """All kept versions of a record, oldest first."""
    return list(db.execute(
        select(RecordVersion).where(RecordVersion.record_type == record_type,
                                    RecordVersion.record_id == record_id)
        .order_by(RecordVersion.version)).scalars())
