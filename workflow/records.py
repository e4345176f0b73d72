"""Entering, correcting and reading records, always within the actor's scope and audited."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from workflow import audit
from workflow.context import Actor
from workflow.enums import (
    ENDING_EVENTS,
    CaseStage,
    DocumentCategory,
    EventKind,
    IdentifierKind,
    Measure,
    OrgKind,
    Secrecy,
    Sex,
)
from workflow.errors import Conflict, Forbidden, InvalidInput, NotFound
from workflow.i18n import N_
from workflow.identifiers import normalise_identifier
from workflow.models import (
    Case,
    CaseStageEntry,
    CustodyEpisode,
    CustodyEvent,
    Organisation,
    Person,
    PersonIdentifier,
    RecordDocument,
    User,
)
from workflow.names import given_name_key, normalise_name, search_key
from workflow.policies import Permission, can, can_see_secret, require
from workflow.routing import competent_body
from workflow.scope import Scope, management_scope, subtree_ids
from workflow.versions import (
    Creation,
    HistoryEntry,
    person_history,
    split_history,
    write_version,
)

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


def _text(value: str | None, label: str, max_len: int, required: bool = True) -> str | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise InvalidInput(N_("%(field)s is required."), field=label)
        return None
    if len(value) > max_len:
        raise InvalidInput(N_("%(field)s is longer than %(n)s characters."), field=label, n=max_len)
    return value


def _past_date(value: dt.date | None, label: str, actor: Actor, required: bool = True):
    if value is None:
        if required:
            raise InvalidInput(N_("%(field)s is required."), field=label)
        return None
    if value > actor.today:
        raise InvalidInput(N_("%(field)s cannot be in the future."), field=label)
    if value < EARLIEST:
        raise InvalidInput(N_("%(field)s is before 1900."), field=label)
    return value


def _reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise InvalidInput(N_("Say why the record is corrected (at least 5 characters)."))
    if len(reason) > 1000:
        raise InvalidInput(N_("The reason is longer than 1000 characters."))
    return reason


def _facility(session: Session, facility_id: int | None) -> Organisation:
    org = session.get(Organisation, facility_id) if facility_id else None
    if org is None or not org.kind.is_facility:
        raise InvalidInput(N_("Choose a known custody facility."))
    return org


def writable_facility(session: Session, actor: Actor, facility_id: int | None) -> Organisation:
    """The facility, if the actor enters records there (Forbidden otherwise): the gate of every
    new person and episode, single or in a file."""
    require(actor.user, Permission.WRITE_RECORDS)
    facility = _facility(session, facility_id)
    if not user_scope(session, actor).covers(facility.id):
        raise Forbidden(N_("You can only enter records of your own facility."))
    return facility


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
        name = normalise_name(_text(self.full_name, N_("Full name"), 160) or "")
        if not search_key(name):
            raise InvalidInput(N_("The full name must contain letters."))
        return {
            "full_name": name,
            "birth_date": _past_date(self.birth_date, N_("Date of birth"), actor),
            "sex": Sex(self.sex),
            "nationality": _text(self.nationality, N_("Nationality"), 64),
            "place_of_origin": _text(self.place_of_origin, N_("Place of origin"), 255, False),
        }


@dataclass
class EpisodeInput:
    """The fields of a custody episode."""

    facility_id: int | None
    measure: Measure
    start_date: dt.date | None
    legal_basis: str
    case_number: str | None = None
    end_date: dt.date | None = None


@dataclass
class IdentifierInput:
    """A typed identity number."""

    kind: IdentifierKind
    value: str
    issued_on: dt.date | None = None
    issuing_country: str | None = None


def _set_keys(person: Person) -> None:
    person.name_key = search_key(person.full_name)
    person.given_key = given_name_key(person.full_name)


def _linkable_case(session: Session, actor: Actor, number: str | None) -> Case | None:
    # A number of another body's case gets the answer of a number no case has: the form must
    # not tell a clerk which numbers exist outside their scope.
    number = (number or "").strip()
    if not number:
        return None
    case = session.execute(select(Case).where(Case.number == number)).scalar_one_or_none()
    assert actor.user is not None
    if case is None or not can_link_case(session, actor.user, case, actor.today):
        raise InvalidInput(N_("No case kept by your organisation has the number %(number)s."),
                           number=number)
    return case


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
    issued = _past_date(data.issued_on, N_("Date of issue"), actor, required=False)
    if kind is IdentifierKind.PASSPORT:
        country = _text(data.issuing_country, N_("Issuing country"), 64)
    else:
        country = _text(data.issuing_country, N_("Issuing country"), 64, False)
    ident = PersonIdentifier(
        person=person, kind=kind, value=value, issued_on=issued,
        issuing_country=country, valid_from=issued or actor.today,
        created_by_id=actor.user.id if actor.user else None,
    )
    session.add(ident)
    session.flush()
    write_version(session, actor, ident, person_id=person.id, reason=None)
    return ident


def _new_episode(session: Session, actor: Actor, person: Person, data: EpisodeInput):
    facility = writable_facility(session, actor, data.facility_id)
    start = _past_date(data.start_date, N_("Start date"), actor)
    end = _past_date(data.end_date, N_("End date"), actor, required=False)
    if end is not None and start is not None and end < start:
        raise InvalidInput(N_("The end date is before the start date."))
    if start is not None and start < person.birth_date:
        raise InvalidInput(N_("The start date is before the date of birth."))
    episode = CustodyEpisode(
        person=person, facility=facility, measure=Measure(data.measure), start_date=start,
        end_date=end, legal_basis=_text(data.legal_basis, N_("Legal basis"), 255),
        case=_linkable_case(session, actor, data.case_number),
        created_by_id=actor.user.id if actor.user else None,
    )
    session.add(episode)
    session.flush()
    write_version(session, actor, episode, person_id=person.id, reason=None)
    return episode


def create_person(
    session: Session,
    actor: Actor,
    person_data: PersonInput,
    episode_data: EpisodeInput,
    identifier_data: IdentifierInput | None = None,
) -> Person:
    """Register a person received at a facility, with the first episode and an identity number."""
    user = require(actor.user, Permission.WRITE_RECORDS)
    writable_facility(session, actor, episode_data.facility_id)  # before anything is written
    person = Person(**person_data.clean(actor), created_by_id=user.id)
    _set_keys(person)
    session.add(person)
    session.flush()
    write_version(session, actor, person, person_id=person.id, reason=None)
    episode = _new_episode(session, actor, person, episode_data)
    if identifier_data is not None and identifier_data.value.strip():
        _new_identifier(session, actor, person, identifier_data)
    audit.record(session, actor, "record.create", object_type="person", object_id=person.id,
                 person_id=person.id, details={"episode_id": episode.id})
    return person


def add_episode(session: Session, actor: Actor, person_id: int, data: EpisodeInput):
    """Open a new episode for a person the clerk can see."""
    person = _visible_person(session, actor, person_id, Permission.WRITE_RECORDS)
    episode = _new_episode(session, actor, person, data)
    audit.record(session, actor, "record.create", object_type="episode", object_id=episode.id,
                 person_id=person.id)
    return episode


def add_identifier(session: Session, actor: Actor, person_id: int, data: IdentifierInput):
    """Record another identity document of a person."""
    person = _visible_person(session, actor, person_id, Permission.WRITE_RECORDS)
    ident = _new_identifier(session, actor, person, data)
    audit.record(session, actor, "record.create", object_type="identifier", object_id=ident.id,
                 person_id=person.id, details={"kind": ident.kind.value})
    return ident


def _writable_episode(session: Session, actor: Actor, episode_id: int) -> CustodyEpisode:
    require(actor.user, Permission.WRITE_RECORDS)
    episode = session.get(CustodyEpisode, episode_id)
    if episode is None or not user_scope(session, actor).covers(episode.facility_id):
        raise NotFound(N_("No such record."))
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
    episode = _writable_episode(session, actor, episode_id)
    kind = EventKind(kind)
    day = _past_date(occurred_on, N_("Date"), actor)
    assert day is not None
    if day < episode.start_date or (episode.end_date and day > episode.end_date):
        raise InvalidInput(N_("The date lies outside the episode."))
    if episode.end_date is not None and kind in ENDING_EVENTS:
        raise InvalidInput(N_("The episode has already ended."))
    other = None
    if kind is EventKind.TRANSFER:
        other = _facility(session, other_facility_id)
        if other.id == episode.facility_id:
            raise InvalidInput(N_("A transfer goes to another facility."))
    event = CustodyEvent(
        episode=episode, kind=kind, occurred_on=day,
        note=_text(note, N_("Note"), 2000, False),
        document_number=_text(document_number, N_("Document number"), 64, False),
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
    person = _visible_person(session, actor, person_id, Permission.WRITE_RECORDS)
    episode = None
    if episode_id:
        episode = _writable_episode(session, actor, episode_id)
        if episode.person_id != person.id:
            raise InvalidInput(N_("The episode belongs to another person."))
    secrecy = Secrecy(secrecy)
    assert actor.user is not None
    if not can_see_secret(actor.user, secrecy):
        raise Forbidden(N_("Your clearance does not reach this secrecy level."))
    doc = RecordDocument(
        person=person, episode=episode, category=DocumentCategory(category),
        title=_text(title, N_("Title"), 255), number=_text(number, N_("Number"), 64, False),
        issued_on=_past_date(issued_on, N_("Date of issue"), actor),
        issuer=_text(issuer, N_("Issuer"), 255), secrecy=secrecy,
        summary=_text(summary, N_("Summary"), 4000, False), created_by_id=actor.user.id,
    )
    session.add(doc)
    session.flush()
    write_version(session, actor, doc, person_id=person.id, reason=None)
    audit.record(session, actor, "record.create", object_type="document", object_id=doc.id,
                 person_id=person.id, details={"category": doc.category.value,
                                               "secrecy": secrecy.value})
    return doc


# --- corrections -------------------------------------------------------------------------------

CORRECTABLE = {
    cls.record_type: cls
    for cls in (Person, PersonIdentifier, CustodyEpisode, CustodyEvent, RecordDocument, Case)
}


def _owner_person_id(record) -> int | None:
    if isinstance(record, Person):
        return record.id
    if isinstance(record, PersonIdentifier | RecordDocument | CustodyEpisode):
        return record.person_id
    if isinstance(record, CustodyEvent):
        return record.episode.person_id
    return None


def _locked(session: Session, cls, record_id: int):
    """The row, locked until the transaction ends (writers of one record queue up)."""
    record = session.execute(
        select(cls).where(cls.id == record_id).with_for_update(key_share=True)
    ).scalar_one_or_none()
    if record is None:
        raise NotFound(N_("No such record."))
    return record


def _check_writable(session: Session, actor: Actor, record) -> None:
    require(actor.user, Permission.WRITE_RECORDS)
    if isinstance(record, Case):
        _check_case(session, actor, record, can_change_case_stage)
        return
    scope = user_scope(session, actor)
    if isinstance(record, CustodyEpisode):
        ok = scope.covers(record.facility_id)
    elif isinstance(record, CustodyEvent):
        ok = scope.covers(record.episode.facility_id)
    else:
        person = session.get(Person, _owner_person_id(record))
        ok = person is not None and any(scope.covers(e.facility_id) for e in person.episodes)
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
    record = _locked(session, cls, record_id)
    _check_writable(session, actor, record)
    if record.version != expected_version:
        raise Conflict(N_("Someone corrected this record meanwhile; review it and try again."))
    reason = _reason(reason)
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
        _set_keys(record)
    record.version += 1
    session.flush()
    person_id = _owner_person_id(record)
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
        start = _past_date(changes.get("start_date", record.start_date), N_("Start date"), actor)
        end = _past_date(changes.get("end_date", record.end_date), N_("End date"), actor, False)
        if end is not None and start is not None and end < start:
            raise InvalidInput(N_("The end date is before the start date."))
        if "legal_basis" in changes:
            cleaned["legal_basis"] = _text(changes["legal_basis"], N_("Legal basis"), 255)
        if "measure" in changes:
            cleaned["measure"] = Measure(changes["measure"])
        if "case_id" in changes:
            _check_relink(session, actor, record, changes["case_id"])
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


# --- cases -------------------------------------------------------------------------------------


def case_home(session: Session, case: Case) -> Organisation | None:
    """Where the case entered the records: the facility of the first episode recorded under it
    (ids only grow, so a later link never moves it) or, before any, the registering body."""
    facility_id = session.scalar(select(CustodyEpisode.facility_id).where(
        CustodyEpisode.case_id == case.id).order_by(CustodyEpisode.id).limit(1))
    if facility_id is not None:
        return session.get(Organisation, facility_id)
    creator = session.get(User, case.created_by_id) if case.created_by_id else None
    return creator.organisation if creator is not None else None


def case_keeper(session: Session, case: Case, day: dt.date) -> Organisation | None:
    """The body that keeps the case on the day: the lowest management body above its home."""
    home = case_home(session, case)
    return competent_body(session, {home.id}, day) if home is not None else None


def keeps_case(session: Session, org: Organisation, case: Case, day: dt.date) -> bool:
    """Whether the body keeps the case: it is the keeper, one of its units, or above it."""
    if management_scope(session, org, day).nationwide:
        return True
    keeper = case_keeper(session, case, day)
    return keeper is not None and (org.id in subtree_ids(session, keeper.id, day)
                                   or keeper.id in subtree_ids(session, org.id, day))


def can_view_case(session: Session, user: User, case: Case, day: dt.date) -> bool:
    """Whether the user may read the case: its keepers, and bodies holding a person under it."""
    if not can(user, Permission.READ_RECORDS):
        return False
    if keeps_case(session, user.organisation, case, day):
        return True
    scope = management_scope(session, user.organisation, day)
    facilities = session.scalars(select(CustodyEpisode.facility_id).where(
        CustodyEpisode.case_id == case.id))
    return any(scope.covers(f) for f in facilities)


def can_change_case_stage(session: Session, user: User, case: Case, day: dt.date) -> bool:
    """Whether the user may change the case's stage (or correct its title and charges): the
    clerks of the bodies that keep it, never one that only holds a person under it."""
    return can(user, Permission.WRITE_RECORDS) and keeps_case(
        session, user.organisation, case, day)


def can_link_case(session: Session, user: User, case: Case, day: dt.date) -> bool:
    """Whether the user may record an episode under the case (or take one off it): a link
    decides what the case's stage demands of the person's data, so it is the stage's rule,
    judged on the links there already are (the one being made counts for nothing)."""
    return can_change_case_stage(session, user, case, day)


def _check_case(session: Session, actor: Actor, case: Case, gate) -> None:
    assert actor.user is not None
    if not can_view_case(session, actor.user, case, actor.today):
        raise NotFound(N_("No such record."))
    if not gate(session, actor.user, case, actor.today):
        raise Forbidden(N_("Only the body that keeps this case may change it."))


def _check_relink(session: Session, actor: Actor, episode: CustodyEpisode,
                  case_id: int | None) -> None:
    # Moving an episode off a case drops what the case's stage demands (consent): the old
    # case's keeper decides that as much as the new one's.
    assert actor.user is not None
    if case_id == episode.case_id:
        return
    # By id, not `episode.case`: a loaded relationship would outlive the new case_id.
    old = session.get(Case, episode.case_id) if episode.case_id is not None else None
    if old is not None and not can_link_case(session, actor.user, old, actor.today):
        raise Forbidden(N_("Only the body that keeps this case may change it."))
    case = session.get(Case, case_id) if case_id is not None else None
    if case_id is not None and (case is None or not can_link_case(session, actor.user, case,
                                                                  actor.today)):
        raise InvalidInput(N_("Unknown case."))


def _check_handler(session: Session, stage: CaseStage, handling_org_id: int | None):
    if stage not in HANDLING_KINDS:
        if handling_org_id:
            raise InvalidInput(N_("Only a case under investigation, prosecution or trial has a "
                                  "handling body."))
        return None
    org = session.get(Organisation, handling_org_id) if handling_org_id else None
    if org is None or org.kind is not HANDLING_KINDS[stage]:
        raise InvalidInput(N_("At this stage the case is handled by a body of kind: %(kind)s."),
                           kind=HANDLING_KINDS[stage].label)
    return org


def create_case(
    session: Session,
    actor: Actor,
    *,
    number: str,
    title: str,
    charges: str,
    opened_on: dt.date | None,
    stage: CaseStage,
    handling_org_id: int | None,
) -> Case:
    """Register a case with its first stage and handling body."""
    user = require(actor.user, Permission.WRITE_RECORDS)
    number = _text(number, N_("Case number"), 64) or ""
    if session.execute(select(Case.id).where(Case.number == number)).first():
        raise Conflict(N_("A case with this number exists."))
    opened = _past_date(opened_on, N_("Opened on"), actor)
    stage = CaseStage(stage)
    handler = _check_handler(session, stage, handling_org_id)
    case = Case(number=number, title=_text(title, N_("Title"), 255),
                charges=_text(charges, N_("Charges"), 255), opened_on=opened,
                created_by_id=user.id)
    session.add(case)
    session.flush()
    session.add(CaseStageEntry(case=case, stage=stage, handling_org=handler, from_date=opened,
                               recorded_at=actor.now, recorded_by_id=user.id))
    write_version(session, actor, case, person_id=None, reason=None)
    audit.record(session, actor, "record.create", object_type="case", object_id=case.id,
                 details={"number": number, "stage": stage.value})
    return case


def change_case_stage(
    session: Session,
    actor: Actor,
    case_id: int,
    *,
    stage: CaseStage,
    handling_org_id: int | None,
    from_date: dt.date | None,
    note: str | None = None,
) -> CaseStageEntry:
    """Record that the case moved to a stage (and body) from a date; the history is kept."""
    case = _locked(session, Case, case_id)
    _check_case(session, actor, case, can_change_case_stage)
    stage = CaseStage(stage)
    day = _past_date(from_date, N_("From date"), actor)
    assert day is not None
    last = case.stages[-1] if case.stages else None
    if last is not None and day < last.from_date:
        raise InvalidInput(N_("A new stage cannot start before the current one."))
    handler = _check_handler(session, stage, handling_org_id)
    entry = CaseStageEntry(case=case, stage=stage, handling_org=handler, from_date=day,
                           note=_text(note, N_("Note"), 255, False), recorded_at=actor.now,
                           recorded_by_id=actor.user.id if actor.user else None)
    session.add(entry)
    session.flush()
    audit.record(session, actor, "record.case_stage", object_type="case", object_id=case.id,
                 details={"stage": stage.value, "handling_org_id": handling_org_id,
                          "from_date": day.isoformat()})
    return entry


def get_case(session: Session, actor: Actor, case_id: int) -> Case:
    """A case the user may read (`can_view_case`), audited."""
    user = require(actor.user, Permission.READ_RECORDS)
    case = session.get(Case, case_id)
    if case is None or not can_view_case(session, user, case, actor.today):
        raise NotFound(N_("No such record."))
    audit.record(session, actor, "record.view", object_type="case", object_id=case.id)
    return case


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


def _visible_person(
    session: Session, actor: Actor, person_id: int, permission: Permission
) -> Person:
    require(actor.user, permission)
    person = session.get(Person, person_id)
    scope = user_scope(session, actor)
    if person is None or not any(scope.covers(e.facility_id) for e in person.episodes):
        raise NotFound(N_("No such record."))
    return person


def view_person(session: Session, actor: Actor, person_id: int) -> PersonView:
    """Read a person's record: in scope (or one's own, for a detainee), audited either way."""
    user = actor.user
    assert user is not None
    own = can(user, Permission.READ_OWN_RECORD) and user.person_id == person_id
    person = session.execute(
        select(Person).where(Person.id == person_id).options(
            selectinload(Person.episodes).selectinload(CustodyEpisode.events),
            selectinload(Person.identifiers), selectinload(Person.documents))
    ).scalar_one_or_none()
    if own and person is not None:
        episodes = list(person.episodes)
        writable = False
    elif can(user, Permission.READ_RECORDS) and person is not None:
        scope = user_scope(session, actor)
        episodes = [e for e in person.episodes if scope.covers(e.facility_id)]
        writable = can(user, Permission.WRITE_RECORDS) and bool(episodes)
    else:
        episodes = []
    if person is None or not episodes:
        raise NotFound(N_("No such record."))
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
    audit.record(session, actor, "record.view", object_type="person", object_id=person.id,
                 person_id=person.id, details={"episodes": sorted(episode_ids),
                                               "withheld_documents": len(withheld)})
    corrections, creations = split_history(person_history(session, person.id, visible))
    return PersonView(person, episodes, len(person.episodes) - len(episodes), shown, withheld,
                      cases, corrections, creations, writable)
