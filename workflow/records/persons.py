"""Persons: entered with their first identifier and episode, their identifiers and record
documents, and a person's file as its reader may see it (scope, secrecy, audit)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from workflow.audit import chain as audit
from workflow.context import Actor
from workflow.enums import Secrecy
from workflow.errors import Conflict, Forbidden, InvalidInput, NotFound
from workflow.i18n import N_
from workflow.models import (
    Case,
    CustodyEpisode,
    Person,
    PersonIdentifier,
    RecordDocument,
    RestrictionEpisode,
)
from workflow.names import normalise_name, search_key
from workflow.records.checks import (
    clean_text,
    past_date,
    set_search_keys,
    user_scope,
    visible_person,
    writable_episode,
    writable_facility,
)
from workflow.records.enums import DocumentCategory, IdentifierKind, Sex
from workflow.records.episodes import EpisodeInput, new_episode
from workflow.records.identifiers import normalise_identifier
from workflow.records.policy import can_read_person, reads_own_record
from workflow.records.reading import PurposeRequired, ReadPurpose
from workflow.records.versions import (
    Creation,
    HistoryEntry,
    person_history,
    split_history,
    write_version,
)
from workflow.security.permissions import Permission, can, can_see_secret, require

# --- persons -----------------------------------------------------------------------------------


@dataclass
class PersonInput:
    """The fields a clerk enters for a person."""

    full_name: str
    birth_date: dt.date | None
    sex: Sex
    nationality: str = "Việt Nam"
    place_of_origin: str | None = None

    def clean(self, actor: Actor) -> dict[str, object]:
        """Validated values, ready to set on a Person."""
        name = normalise_name(clean_text(self.full_name, N_("Full name"), 160) or "")
        if not search_key(name):
            raise InvalidInput(N_("The full name must contain letters."))
        return {
            "full_name": name,
            "birth_date": past_date(self.birth_date, N_("Date of birth"), actor),
            "sex": Sex(self.sex),
            "nationality": clean_text(self.nationality, N_("Nationality"), 64),
            "place_of_origin": clean_text(self.place_of_origin, N_("Place of origin"), 255, False),
        }


@dataclass
class IdentifierInput:
    """A typed identity number."""

    kind: IdentifierKind
    value: str
    issued_on: dt.date | None = None
    issuing_country: str | None = None


def _new_identifier(session: Session, actor: Actor, person: Person, data: IdentifierInput):
    kind = IdentifierKind(data.kind)
    value = normalise_identifier(kind, data.value)
    taken = session.execute(
        select(PersonIdentifier.id).where(
            PersonIdentifier.kind == kind, PersonIdentifier.value == value
        )
    ).first()
    if taken:
        raise Conflict(N_("This identity number is already registered to a person."))
    issued = past_date(data.issued_on, N_("Date of issue"), actor, required=False)
    if kind is IdentifierKind.PASSPORT:
        country = clean_text(data.issuing_country, N_("Issuing country"), 64)
    else:
        country = clean_text(data.issuing_country, N_("Issuing country"), 64, False)
    ident = PersonIdentifier(
        person=person, kind=kind, value=value, issued_on=issued,
        issuing_country=country, valid_from=issued or actor.today,
        created_by_id=actor.user.id if actor.user else None,
    )
    session.add(ident)
    session.flush()
    write_version(session, actor, ident, person_id=person.id, reason=None)
    return ident


def new_person(session: Session, actor: Actor, person_data: PersonInput,
               identifier_data: IdentifierInput | None = None) -> Person:
    """A new person with their identity number, versioned (the caller's gate decided it)."""
    person = Person(**person_data.clean(actor),
                    created_by_id=actor.user.id if actor.user else None)
    set_search_keys(person)
    session.add(person)
    session.flush()
    write_version(session, actor, person, person_id=person.id, reason=None)
    if identifier_data is not None and identifier_data.value.strip():
        _new_identifier(session, actor, person, identifier_data)
    return person


def create_person(
    session: Session,
    actor: Actor,
    person_data: PersonInput,
    episode_data: EpisodeInput,
    identifier_data: IdentifierInput | None = None,
) -> Person:
    """Register a person received at a facility, with the first episode and an identity number."""
    require(actor.user, Permission.WRITE_RECORDS)
    writable_facility(session, actor, episode_data.facility_id)  # before anything is written
    person = new_person(session, actor, person_data, identifier_data)
    episode = new_episode(session, actor, person, episode_data)
    audit.record(session, actor, "record.create", object_type="person", object_id=person.id,
                 person_id=person.id, details={"episode_id": episode.id})
    return person


def add_identifier(session: Session, actor: Actor, person_id: int, data: IdentifierInput):
    """Record another identity document of a person."""
    person = visible_person(session, actor, person_id, Permission.WRITE_RECORDS)
    ident = _new_identifier(session, actor, person, data)
    audit.record(session, actor, "record.create", object_type="identifier", object_id=ident.id,
                 person_id=person.id, details={"kind": ident.kind.value})
    return ident


def add_document(
    session: Session,
    actor: Actor,
    person_id: int,
    *,
    category: DocumentCategory,
    title: str,
    number: str | None,
    issued_on: dt.date | None,
    issuer: str,
    secrecy: Secrecy,
    summary: str | None,
    episode_id: int | None = None,
) -> RecordDocument:
    """File a document of the record under its Art. 17 category."""
    person = visible_person(session, actor, person_id, Permission.WRITE_RECORDS)
    episode = None
    if episode_id:
        episode = writable_episode(session, actor, episode_id)
        if episode.person_id != person.id:
            raise InvalidInput(N_("The episode belongs to another person."))
    secrecy = Secrecy(secrecy)
    assert actor.user is not None
    if not can_see_secret(actor.user, secrecy):
        raise Forbidden(N_("Your clearance does not reach this secrecy level."))
    doc = RecordDocument(
        person=person, episode=episode, category=DocumentCategory(category),
        title=clean_text(title, N_("Title"), 255),
        number=clean_text(number, N_("Number"), 64, False),
        issued_on=past_date(issued_on, N_("Date of issue"), actor),
        issuer=clean_text(issuer, N_("Issuer"), 255), secrecy=secrecy,
        summary=clean_text(summary, N_("Summary"), 4000, False), created_by_id=actor.user.id,
    )
    session.add(doc)
    session.flush()
    write_version(session, actor, doc, person_id=person.id, reason=None)
    audit.record(session, actor, "record.create", object_type="document", object_id=doc.id,
                 person_id=person.id, details={"category": doc.category.value,
                                               "secrecy": secrecy.value})
    return doc


# --- reading -----------------------------------------------------------------------------------


@dataclass
class PersonView:
    """What one user may see of one person: the episodes in scope, documents within clearance."""

    person: Person
    episodes: list[CustodyEpisode]
    hidden_episodes: int
    documents: list[RecordDocument]
    withheld_documents: list[RecordDocument]
    cases: list[Case]
    corrections: list[HistoryEntry] = field(default_factory=list)
    creations: list[Creation] = field(default_factory=list)
    can_write: bool = False
    # Residence restrictions managed by a commune of the reader's scope (all, for one's own).
    restrictions: list[RestrictionEpisode] = field(default_factory=list)


def view_person(session: Session, actor: Actor, person_id: int,
                purpose: ReadPurpose | None = None) -> PersonView:
    """Read a person's record: in scope (or one's own, for a detainee), audited either way; a
    read in scope states its purpose (`PurposeRequired` otherwise), which the entry carries."""
    user = actor.user
    assert user is not None
    person = session.execute(
        select(Person).where(Person.id == person_id).options(
            selectinload(Person.episodes).selectinload(CustodyEpisode.events),
            selectinload(Person.identifiers), selectinload(Person.documents))
    ).scalar_one_or_none()
    if not can_read_person(session, user, person, actor.today):
        raise NotFound(N_("No such record."))
    if reads_own_record(user, person_id):
        episodes, writable = list(person.episodes), False
        restrictions = list(person.restrictions)
    else:
        if purpose is None:
            raise PurposeRequired(N_("State the purpose of reading this record."))
        scope = user_scope(session, actor)
        episodes = [e for e in person.episodes if scope.covers(e.facility_id)]
        restrictions = [r for r in person.restrictions if scope.covers_commune(r.commune_id)]
        # A record joined to another is kept as it was: it is written to there.
        writable = can(user, Permission.WRITE_RECORDS) and person.merged_into_id is None
    episode_ids = {e.id for e in episodes}
    docs = [d for d in person.documents if d.episode_id is None or d.episode_id in episode_ids]
    shown = [d for d in docs if can_see_secret(user, d.secrecy)]
    withheld = [d for d in docs if not can_see_secret(user, d.secrecy)]
    cases = list({e.case.id: e.case for e in episodes if e.case is not None}.values())
    visible = {("person", person.id)}
    visible |= {("identifier", i.id) for i in person.identifiers}
    visible |= {("episode", e.id) for e in episodes}
    visible |= {("event", ev.id) for e in episodes for ev in e.events}
    visible |= {("document", d.id) for d in shown}
    visible |= {("restriction", r.id) for r in restrictions}
    visible |= {("restriction_event", ev.id) for r in restrictions for ev in r.events}
    audit.record(session, actor, "record.view", object_type="person", object_id=person.id,
                 person_id=person.id, purpose=purpose.text if purpose else None,
                 details={"episodes": sorted(episode_ids), "withheld_documents": len(withheld),
                          "restrictions": sorted(r.id for r in restrictions),
                          "read_purpose": purpose.code if purpose else None})
    corrections, creations = split_history(person_history(session, person.id, visible))
    return PersonView(person, episodes, len(person.episodes) - len(episodes), shown, withheld,
                      cases, corrections, creations, writable, restrictions)
