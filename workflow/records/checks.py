"""Checks every record operation shares: the writer's scope, text and date fields, the reason of
a correction, facilities, search keys, and reading a row locked for writing."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.context import Actor
from workflow.errors import Forbidden, InvalidInput, NotFound
from workflow.i18n import N_
from workflow.models import (
    CustodyEpisode,
    CustodyEvent,
    Organisation,
    Person,
    PersonIdentifier,
    RecordDocument,
)
from workflow.names import given_name_key, search_key
from workflow.organisations.enums import OrgKind
from workflow.organisations.scope import Scope, management_scope
from workflow.records.enums import CaseStage
from workflow.security.permissions import Permission, require

EARLIEST = dt.date(1900, 1, 1)
HANDLING_KINDS = {
    CaseStage.INVESTIGATION: OrgKind.INVESTIGATION_AGENCY,
    CaseStage.PROSECUTION: OrgKind.PROCURACY,
    CaseStage.TRIAL: OrgKind.COURT,
}


def user_scope(session: Session, actor: Actor) -> Scope:
    """The management scope of the acting user's organisation today."""
    assert actor.user is not None
    return management_scope(session, actor.user.organisation, actor.today)


# --- validation helpers ------------------------------------------------------------------------


def clean_text(value: str | None, label: str, max_len: int, required: bool = True) -> str | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise InvalidInput(N_("%(field)s is required."), field=label)
        return None
    if len(value) > max_len:
        raise InvalidInput(N_("%(field)s is longer than %(n)s characters."), field=label, n=max_len)
    return value


def past_date(value: dt.date | None, label: str, actor: Actor, required: bool = True):
    if value is None:
        if required:
            raise InvalidInput(N_("%(field)s is required."), field=label)
        return None
    if value > actor.today:
        raise InvalidInput(N_("%(field)s cannot be in the future."), field=label)
    if value < EARLIEST:
        raise InvalidInput(N_("%(field)s is before 1900."), field=label)
    return value


def correction_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise InvalidInput(N_("Say why the record is corrected (at least 5 characters)."))
    if len(reason) > 1000:
        raise InvalidInput(N_("The reason is longer than 1000 characters."))
    return reason


def get_facility(session: Session, facility_id: int | None) -> Organisation:
    org = session.get(Organisation, facility_id) if facility_id else None
    if org is None or not org.kind.is_facility:
        raise InvalidInput(N_("Choose a known custody facility."))
    return org


def writable_facility(session: Session, actor: Actor, facility_id: int | None) -> Organisation:
    """The facility, if the actor enters records there (Forbidden otherwise): the gate of every
    new person and episode, single or in a file."""
    require(actor.user, Permission.WRITE_RECORDS)
    facility = get_facility(session, facility_id)
    if not user_scope(session, actor).covers(facility.id):
        raise Forbidden(N_("You can only enter records of your own facility."))
    return facility


def set_search_keys(person: Person) -> None:
    person.name_key = search_key(person.full_name)
    person.given_key = given_name_key(person.full_name)


def writable_episode(session: Session, actor: Actor, episode_id: int) -> CustodyEpisode:
    require(actor.user, Permission.WRITE_RECORDS)
    episode = session.get(CustodyEpisode, episode_id)
    if episode is None or not user_scope(session, actor).covers(episode.facility_id):
        raise NotFound(N_("No such record."))
    return episode


def owner_person_id(record) -> int | None:
    if isinstance(record, Person):
        return record.id
    if isinstance(record, PersonIdentifier | RecordDocument | CustodyEpisode):
        return record.person_id
    if isinstance(record, CustodyEvent):
        return record.episode.person_id
    return None


def lock_row(session: Session, cls, record_id: int):
    """The row, locked until the transaction ends (writers of one record queue up)."""
    record = session.execute(
        select(cls).where(cls.id == record_id).with_for_update(key_share=True)
    ).scalar_one_or_none()
    if record is None:
        raise NotFound(N_("No such record."))
    return record


def visible_person(
    session: Session, actor: Actor, person_id: int, permission: Permission
) -> Person:
    require(actor.user, permission)
    person = session.get(Person, person_id)
    scope = user_scope(session, actor)
    if person is None or not scope.covers_person(person):
        raise NotFound(N_("No such record."))
    return person
