"""Corrections of records (Decree 121/2017 Art. 4): never a silent change; each one a new
version with its reason, made only by those who may write the record."""

from __future__ import annotations

from sqlalchemy.orm import Session

from workflow.audit import chain as audit
from workflow.context import Actor
from workflow.enums import Secrecy
from workflow.errors import Conflict, Forbidden, InvalidInput, NotFound
from workflow.i18n import N_
from workflow.models import (
    Case,
    CustodyEpisode,
    CustodyEvent,
    Person,
    PersonIdentifier,
    RecordDocument,
)
from workflow.records.cases import check_case, check_relink
from workflow.records.checks import (
    clean_text,
    correction_reason,
    lock_row,
    owner_person_id,
    past_date,
    set_search_keys,
    user_scope,
)
from workflow.records.enums import Measure
from workflow.records.identifiers import normalise_identifier
from workflow.records.persons import PersonInput
from workflow.records.policy import can_change_case_stage
from workflow.records.versions import (
    write_version,
)
from workflow.security.permissions import Permission, can_see_secret, require

# --- corrections -------------------------------------------------------------------------------

CORRECTABLE = {
    cls.record_type: cls
    for cls in (Person, PersonIdentifier, CustodyEpisode, CustodyEvent, RecordDocument, Case)
}


def _check_writable(session: Session, actor: Actor, record) -> None:
    require(actor.user, Permission.WRITE_RECORDS)
    if isinstance(record, Case):
        check_case(session, actor, record, can_change_case_stage)
        return
    scope = user_scope(session, actor)
    if isinstance(record, CustodyEpisode):
        ok = scope.covers(record.facility_id)
    elif isinstance(record, CustodyEvent):
        ok = scope.covers(record.episode.facility_id)
    else:
        person = session.get(Person, owner_person_id(record))
        ok = person is not None and scope.covers_person(person)
    if not ok:
        raise NotFound(N_("No such record."))


def correct(
    session: Session,
    actor: Actor,
    record_type: str,
    record_id: int,
    changes: dict[str, object],
    *,
    reason: str,
    expected_version: int,
):
    """Correct a record: keep the old version, apply the changes as a new one, say why."""
    cls = CORRECTABLE.get(record_type)
    if cls is None:
        raise NotFound(N_("No such record."))
    record = lock_row(session, cls, record_id)
    _check_writable(session, actor, record)
    if record.version != expected_version:
        raise Conflict(N_("Someone corrected this record meanwhile; review it and try again."))
    reason = correction_reason(reason)
    unknown = set(changes) - set(cls.corrigible)
    if unknown:
        raise InvalidInput(N_("These fields cannot be corrected: %(fields)s"),
                           fields=", ".join(sorted(unknown)))
    cleaned = _clean_changes(session, actor, record, changes)
    diff = {k: v for k, v in cleaned.items() if getattr(record, k) != v}
    if not diff:
        raise InvalidInput(N_("Nothing was changed."))
    before = {k: getattr(record, k) for k in diff}
    for key, value in diff.items():
        setattr(record, key, value)
    if isinstance(record, Person):
        set_search_keys(record)
    record.version += 1
    session.flush()
    person_id = owner_person_id(record)
    write_version(session, actor, record, person_id=person_id, reason=reason)
    audit.record(session, actor, "record.correct", object_type=record_type, object_id=record.id,
                 person_id=person_id, purpose=reason,
                 details={"version": record.version,
                          "fields": {k: [str(before[k]), str(v)] for k, v in diff.items()}})
    return record


def _clean_changes(session: Session, actor: Actor, record, changes: dict[str, object]):
    if isinstance(record, Person):
        merged = {k: getattr(record, k) for k in Person.corrigible} | changes
        return PersonInput(**merged).clean(actor)
    cleaned = dict(changes)
    if isinstance(record, CustodyEpisode):
        start = past_date(changes.get("start_date", record.start_date), N_("Start date"), actor)
        end = past_date(changes.get("end_date", record.end_date), N_("End date"), actor, False)
        if end is not None and start is not None and end < start:
            raise InvalidInput(N_("The end date is before the start date."))
        if "legal_basis" in changes:
            cleaned["legal_basis"] = clean_text(changes["legal_basis"], N_("Legal basis"), 255)
        if "measure" in changes:
            cleaned["measure"] = Measure(changes["measure"])
        if "case_id" in changes:
            check_relink(session, actor, record, changes["case_id"])
        cleaned.update(start_date=start, end_date=end)
        cleaned = {k: v for k, v in cleaned.items() if k in changes}
    elif isinstance(record, PersonIdentifier) and "value" in changes:
        cleaned["value"] = normalise_identifier(record.kind, str(changes["value"]))
    elif isinstance(record, RecordDocument) and "secrecy" in changes:
        cleaned["secrecy"] = Secrecy(changes["secrecy"])
        assert actor.user is not None
        if not can_see_secret(actor.user, cleaned["secrecy"]):
            raise Forbidden(N_("Your clearance does not reach this secrecy level."))
    return cleaned
