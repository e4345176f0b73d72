"""Custody and detention episodes of a person and their events (receipt, transfer, release...),
entered by the facility that holds the person."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from workflow.audit import chain as audit
from workflow.context import Actor
from workflow.errors import InvalidInput
from workflow.i18n import N_
from workflow.models import (
    CustodyEpisode,
    CustodyEvent,
    Person,
)
from workflow.records.cases import linkable_case
from workflow.records.checks import (
    clean_text,
    get_facility,
    past_date,
    visible_person,
    writable_episode,
    writable_facility,
)
from workflow.records.enums import ENDING_EVENTS, EventKind, Measure
from workflow.records.versions import (
    write_version,
)
from workflow.security.permissions import Permission


@dataclass
class EpisodeInput:
    """The fields of a custody episode."""

    facility_id: int | None
    measure: Measure
    start_date: dt.date | None
    legal_basis: str
    case_number: str | None = None
    end_date: dt.date | None = None


def new_episode(session: Session, actor: Actor, person: Person, data: EpisodeInput):
    facility = writable_facility(session, actor, data.facility_id)
    start = past_date(data.start_date, N_("Start date"), actor)
    end = past_date(data.end_date, N_("End date"), actor, required=False)
    if end is not None and start is not None and end < start:
        raise InvalidInput(N_("The end date is before the start date."))
    if start is not None and start < person.birth_date:
        raise InvalidInput(N_("The start date is before the date of birth."))
    episode = CustodyEpisode(
        person=person, facility=facility, measure=Measure(data.measure), start_date=start,
        end_date=end, legal_basis=clean_text(data.legal_basis, N_("Legal basis"), 255),
        case=linkable_case(session, actor, data.case_number),
        created_by_id=actor.user.id if actor.user else None,
    )
    session.add(episode)
    session.flush()
    write_version(session, actor, episode, person_id=person.id, reason=None)
    return episode


def add_episode(session: Session, actor: Actor, person_id: int, data: EpisodeInput):
    """Open a new episode for a person the clerk can see."""
    person = visible_person(session, actor, person_id, Permission.WRITE_RECORDS)
    episode = new_episode(session, actor, person, data)
    audit.record(session, actor, "record.create", object_type="episode", object_id=episode.id,
                 person_id=person.id)
    return episode


def add_event(
    session: Session,
    actor: Actor,
    episode_id: int,
    *,
    kind: EventKind,
    occurred_on: dt.date | None,
    note: str | None = None,
    document_number: str | None = None,
    other_facility_id: int | None = None,
) -> CustodyEvent:
    """Record an event; an ending event (release, transfer, handover, death) closes the episode."""
    episode = writable_episode(session, actor, episode_id)
    kind = EventKind(kind)
    day = past_date(occurred_on, N_("Date"), actor)
    assert day is not None
    if day < episode.start_date or (episode.end_date and day > episode.end_date):
        raise InvalidInput(N_("The date lies outside the episode."))
    if episode.end_date is not None and kind in ENDING_EVENTS:
        raise InvalidInput(N_("The episode has already ended."))
    other = None
    if kind is EventKind.TRANSFER:
        other = get_facility(session, other_facility_id)
        if other.id == episode.facility_id:
            raise InvalidInput(N_("A transfer goes to another facility."))
    event = CustodyEvent(
        episode=episode, kind=kind, occurred_on=day,
        note=clean_text(note, N_("Note"), 2000, False),
        document_number=clean_text(document_number, N_("Document number"), 64, False),
        other_facility=other, created_by_id=actor.user.id if actor.user else None,
    )
    session.add(event)
    session.flush()
    write_version(session, actor, event, person_id=episode.person_id, reason=None)
    if kind in ENDING_EVENTS:
        episode.end_date = day
        episode.version += 1
        write_version(session, actor, episode, person_id=episode.person_id,
                      reason=f"event:{kind.value}")
    audit.record(session, actor, "record.create", object_type="event", object_id=event.id,
                 person_id=episode.person_id, details={"kind": kind.value})
    return event
