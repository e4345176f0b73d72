"""Versions of records: the snapshot of each version and the history shown to users."""

from __future__ import annotations

import datetime as dt
import enum
import json
from dataclasses import dataclass

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from workflow.context import Actor
from workflow.i18n import N_
from workflow.models import RecordVersion, User

RECORD_LABELS = {
    "person": N_("Person"),
    "identifier": N_("Identity document"),
    "episode": N_("Episode"),
    "event": N_("Event"),
    "document": N_("Document"),
    "case": N_("Case"),
    "restriction": N_("Residence restriction"),
    "restriction_event": N_("Residence restriction event"),
}
FIELD_LABELS = {
    "full_name": N_("Full name"), "birth_date": N_("Date of birth"), "sex": N_("Sex"),
    "nationality": N_("Nationality"), "place_of_origin": N_("Place of origin"),
    "measure": N_("Measure"), "start_date": N_("Start date"), "end_date": N_("End date"),
    "legal_basis": N_("Legal basis"), "case_id": N_("Case"), "value": N_("Identity number"),
    "issued_on": N_("Date of issue"), "issuing_country": N_("Issuing country"),
    "valid_from": N_("From"), "valid_to": N_("To"), "kind": N_("Kind"),
    "occurred_on": N_("Date"), "note": N_("Note"), "document_number": N_("Document number"),
    "other_facility_id": N_("Destination facility (transfers)"), "category": N_("Category"),
    "title": N_("Title"), "number": N_("Number"), "issuer": N_("Issuer"),
    "secrecy": N_("Secrecy level"), "summary": N_("Summary"), "charges": N_("Charges"),
    # Residence restriction (workflow/models/restriction.py).
    "order_number": N_("Order number"), "order_date": N_("Order date"),
    "deciding_org_id": N_("Deciding body"), "term_until": N_("Term until"),
    "residence": N_("Place of residence"), "commune_id": N_("Managing commune police"),
    "state": N_("State"), "report_in_due": N_("Report-in due"),
    "reported_in_on": N_("Reported in on"), "handover_to_id": N_("Handed over to"),
    "handover_due": N_("Handover due"), "end_reason": N_("Reason for the end"),
    "replaced_by_id": N_("Replaced by (episode)"), "period": N_("Month assessed"),
    "until_on": N_("Until"), "other_commune_id": N_("Receiving commune police"),
}
OUTCOME_LABELS = {"success": N_("success"), "failure": N_("failure"), "denied": N_("denied")}

# Derived or bookkeeping columns are not part of what a version says about the record.
# merged_into_id: where the record was joined to, not what it says (`exchange.matches`).
_NOT_CONTENT = {"version", "created_at", "created_by_id", "name_key", "given_key",
                "merged_into_id"}


def plain(value: object) -> object:
    """A column's value as JSON has it."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def snapshot(record: object) -> dict[str, object]:
    """The record's content as plain JSON values."""
    mapper = inspect(record).mapper
    return {
        attr.key: plain(getattr(record, attr.key))
        for attr in mapper.column_attrs
        if attr.key not in _NOT_CONTENT
    }


def write_version(
    session: Session, actor: Actor, record, *, person_id: int | None, reason: str | None
) -> RecordVersion:
    """Keep the record's current content as its version `record.version`."""
    version = RecordVersion(
        record_type=record.record_type,
        record_id=record.id,
        version=record.version,
        person_id=person_id,
        data=json.dumps(snapshot(record), ensure_ascii=False, sort_keys=True),
        reason=reason,
        changed_at=actor.now,
        changed_by_id=actor.user.id if actor.user else None,
    )
    session.add(version)
    return version


@dataclass(frozen=True)
class HistoryEntry:
    """One version of one record with what changed since the version before."""

    record_type: str
    record_id: int
    version: int
    changed_at: dt.datetime
    changed_by: str | None
    reason: str | None
    changes: dict[str, tuple[object, object]]


@dataclass(frozen=True)
class Creation:
    """Records first entered together, summarised as one line of the history."""

    changed_at: dt.datetime
    changed_by: str | None
    counts: dict[str, int]


def split_history(history: list[HistoryEntry]) -> tuple[list[HistoryEntry], list[Creation]]:
    """Corrections one by one; first versions grouped by when and by whom they were entered."""
    corrections = [h for h in history if h.version > 1]
    groups: dict[tuple[dt.datetime, str | None], dict[str, int]] = {}
    for h in history:
        if h.version == 1:
            key = (h.changed_at.replace(second=0, microsecond=0), h.changed_by)
            counts = groups.setdefault(key, {})
            counts[h.record_type] = counts.get(h.record_type, 0) + 1
    creations = [Creation(at, who, counts) for (at, who), counts in groups.items()]
    creations.sort(key=lambda c: c.changed_at, reverse=True)
    return corrections, creations


def person_history(session: Session, person_id: int, visible: set[tuple[str, int]]) -> list[
    HistoryEntry
]:
    """Every version of the person's records the viewer may see, newest first."""
    rows = session.execute(
        select(RecordVersion, User.username)
        .outerjoin(User, User.id == RecordVersion.changed_by_id)
        .where(RecordVersion.person_id == person_id)
        .order_by(RecordVersion.record_type, RecordVersion.record_id, RecordVersion.version)
    ).all()
    previous: dict[tuple[str, int], dict[str, object]] = {}
    history = []
    for version, username in rows:
        key = (version.record_type, version.record_id)
        if key not in visible:
            continue
        data = json.loads(version.data)
        before = previous.get(key, {})
        changes = {
            field: (before.get(field), value)
            for field, value in data.items()
            if field != "id" and before.get(field) != value and (before or value is not None)
        }
        previous[key] = data
        history.append(HistoryEntry(version.record_type, version.record_id, version.version,
                                    version.changed_at, username, version.reason, changes))
    history.sort(key=lambda h: (h.changed_at, h.version), reverse=True)
    return history
