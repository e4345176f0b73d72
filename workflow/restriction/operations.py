"""Every change of a residence restriction: opening it (for a person on record or a new one),
the events the commune records, a change of residence with its handover to another commune,
and its end. Each: gate → lock → check the state → change → version and audit → flush."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.audit import chain as audit
from workflow.context import Actor
from workflow.errors import Conflict, Forbidden, InvalidInput, NotFound
from workflow.i18n import N_
from workflow.models import (
    CustodyEpisode,
    Organisation,
    Person,
    RestrictionEpisode,
    RestrictionEvent,
    User,
)
from workflow.organisations.enums import OrgKind
from workflow.records.cases import linkable_case
from workflow.records.checks import clean_text, past_date, visible_person
from workflow.records.persons import IdentifierInput, PersonInput, new_person
from workflow.records.versions import write_version
from workflow.requests.kernel import Workflow, calendar_of
from workflow.requests.rules import NoRuleSet, RuleSet
from workflow.restriction import deadlines
from workflow.restriction.enums import EndReason, RestrictionEventKind, RestrictionState
from workflow.restriction.lifecycle import LIFECYCLE
from workflow.restriction.policy import (
    can_manage_restriction,
    can_open_restriction,
    can_receive_restriction,
    can_view_restriction,
)
from workflow.security.permissions import Permission, require

K = RestrictionEventKind
# Bodies that order a preventive measure (Criminal Procedure Code 2015 Art. 123).
DECIDING_KINDS = frozenset({OrgKind.INVESTIGATION_AGENCY, OrgKind.PROCURACY, OrgKind.COURT})
# Events recorded as they are; a change of residence, a handover and the end have their own
# operations, which also move the episode.
RECORDED = frozenset({K.REPORT_IN, K.MEETING, K.ASSESSMENT, K.VIOLATION, K.ABSENCE})

Gate = Callable[[Session, User | None, RestrictionEpisode, dt.date], bool]


@dataclass
class RestrictionInput:
    """The order placing a person under residence restriction, and who manages it where."""

    commune_id: int | None
    order_number: str
    order_date: dt.date | None
    deciding_org_id: int | None
    start_date: dt.date | None
    term_until: dt.date | None
    residence: str
    case_number: str | None = None


def _commune(session: Session, actor: Actor, commune_id: int | None) -> Organisation:
    require(actor.user, Permission.WRITE_RECORDS)
    commune = session.get(Organisation, commune_id) if commune_id else None
    if not can_open_restriction(session, actor.user, commune, actor.today):
        raise Forbidden(N_("You can only place persons under the management of your own "
                           "commune police."))
    return commune


def _new_episode(session: Session, flow: Workflow, actor: Actor, person: Person,
                 commune: Organisation, data: RestrictionInput) -> RestrictionEpisode:
    order_date = past_date(data.order_date, N_("Order date"), actor)
    start = past_date(data.start_date, N_("Start date"), actor)
    if data.term_until is None:
        raise InvalidInput(N_("%(field)s is required."), field=N_("Term until"))
    if start < order_date:
        raise InvalidInput(N_("The measure starts before its order."))
    if data.term_until < start:
        raise InvalidInput(N_("The term ends before the measure starts."))
    if order_date < person.birth_date:
        raise InvalidInput(N_("The start date is before the date of birth."))
    deciding = session.get(Organisation, data.deciding_org_id) if data.deciding_org_id else None
    if deciding is None or deciding.kind not in DECIDING_KINDS:
        raise InvalidInput(N_("Choose the investigation agency, procuracy or court that "
                              "ordered the measure."))
    if any(r.state is not RestrictionState.ENDED for r in person.restrictions):
        raise Conflict(N_("The person is under residence restriction already."))
    if any(e.end_date is None for e in person.episodes):
        raise Conflict(N_("The person is held in custody or detention: record the end of "
                          "that episode first."))
    rules = _rules(flow, order_date, actor)
    episode = RestrictionEpisode(
        person=person, commune=commune, deciding_org=deciding,
        order_number=clean_text(data.order_number, N_("Order number"), 64),
        order_date=order_date, start_date=start, term_until=data.term_until,
        residence=clean_text(data.residence, N_("Place of residence"), 255),
        case=linkable_case(session, actor, data.case_number),
        report_in_due=deadlines.report_in_due(calendar_of(session, flow), rules, order_date),
        created_by_id=actor.user.id if actor.user else None)
    session.add(episode)
    session.flush()
    write_version(session, actor, episode, person_id=person.id, reason=None)
    audit.record(session, actor, "restriction.open", object_type="restriction",
                 object_id=episode.id, person_id=person.id,
                 details={"commune": commune.code, "report_in_due": episode.report_in_due})
    return episode


def open_restriction(session: Session, flow: Workflow, actor: Actor, person_id: int,
                     data: RestrictionInput) -> RestrictionEpisode:
    """Place a person on record under residence restriction, managed by a commune police
    within the clerk's scope (a person once detained keeps their one record)."""
    commune = _commune(session, actor, data.commune_id)
    person = visible_person(session, actor, person_id, Permission.WRITE_RECORDS)
    return _new_episode(session, flow, actor, person, commune, data)


def register_person(session: Session, flow: Workflow, actor: Actor, person_data: PersonInput,
                    data: RestrictionInput,
                    identifier_data: IdentifierInput | None = None) -> Person:
    """Register a person not yet on record, placed under residence restriction."""
    commune = _commune(session, actor, data.commune_id)  # before anything is written
    person = new_person(session, actor, person_data, identifier_data)
    episode = _new_episode(session, flow, actor, person, commune, data)
    audit.record(session, actor, "record.create", object_type="person", object_id=person.id,
                 person_id=person.id, details={"restriction_id": episode.id})
    return person


def _rules(flow: Workflow, day: dt.date, actor: Actor) -> RuleSet:
    """The rule set in force on the day; for a day before any (an old order entered late),
    the one in force today."""
    try:
        return flow.rules.on(day)
    except NoRuleSet:
        return flow.rules.on(actor.today)


def _locked(session: Session, actor: Actor, episode_id: int, gate: Gate,
            expected_version: int | None) -> RestrictionEpisode:
    """The episode, if the gate lets the actor act on it, locked and checked again."""
    require(actor.user, Permission.WRITE_RECORDS)
    episode = session.get(RestrictionEpisode, episode_id)
    if episode is None or not (can_view_restriction(session, actor.user, episode, actor.today)
                               or gate(session, actor.user, episode, actor.today)):
        raise NotFound(N_("No such record."))
    if not gate(session, actor.user, episode, actor.today):
        raise Forbidden(N_("Only the commune police managing this person may do this."))
    episode = session.execute(
        select(RestrictionEpisode).where(RestrictionEpisode.id == episode_id)
        .with_for_update(key_share=True).execution_options(populate_existing=True)
    ).scalar_one()
    if not gate(session, actor.user, episode, actor.today):  # moved meanwhile
        raise Conflict(N_("The record changed meanwhile; nothing was done."))
    if expected_version is not None and episode.version != expected_version:
        raise Conflict(N_("The record changed meanwhile; nothing was done."))
    if episode.state is RestrictionState.ENDED:
        raise Conflict(N_("The residence restriction has ended: nothing more is recorded on "
                          "it."))
    return episode


def _day(actor: Actor, episode: RestrictionEpisode, occurred_on: dt.date | None) -> dt.date:
    day = past_date(occurred_on, N_("Date"), actor)
    if day < episode.order_date:
        raise InvalidInput(N_("The date lies outside the episode."))
    return day


def _event(session: Session, actor: Actor, episode: RestrictionEpisode, kind: K, day: dt.date,
           note: str | None, document_number: str | None, **values) -> RestrictionEvent:
    event = RestrictionEvent(
        episode=episode, kind=kind, occurred_on=day, commune_id=episode.commune_id,
        note=clean_text(note, N_("Note"), 2000, False),
        document_number=clean_text(document_number, N_("Document number"), 64, False),
        created_by_id=actor.user.id if actor.user else None, **values)
    session.add(event)
    session.flush()
    write_version(session, actor, event, person_id=episode.person_id, reason=None)
    return event


def _changed(session: Session, actor: Actor, episode: RestrictionEpisode, why: str) -> None:
    episode.version += 1
    write_version(session, actor, episode, person_id=episode.person_id, reason=why)


def record_event(session: Session, flow: Workflow, actor: Actor, episode_id: int, *,
                 kind: RestrictionEventKind, occurred_on: dt.date | None,
                 note: str | None = None, document_number: str | None = None,
                 period: dt.date | None = None, until_on: dt.date | None = None,
                 expected_version: int | None = None) -> RestrictionEvent:
    """Record a report-in, a meeting, a monthly assessment (`period`: a day of the month
    assessed), a violation or a permitted absence (`until_on`: its last day)."""
    kind = RestrictionEventKind(kind)
    if kind not in RECORDED:
        raise InvalidInput(N_("Unknown action."))
    episode = _locked(session, actor, episode_id, can_manage_restriction, expected_version)
    day = _day(actor, episode, occurred_on)
    values: dict[str, object] = {}
    if kind is K.REPORT_IN:
        if episode.reported_in_on is not None:
            raise Conflict(N_("The person has reported in already."))
        episode.reported_in_on = day
    elif kind is K.ASSESSMENT:
        values["period"] = _assessed_month(episode, period, day)
    elif kind is K.ABSENCE:
        if until_on is None or until_on < day:
            raise InvalidInput(N_("Give the last day of the absence, on or after its first."))
        values["until_on"] = until_on
    elif kind is K.VIOLATION and not (note or "").strip():
        raise InvalidInput(N_("%(field)s is required."), field=N_("Note"))
    event = _event(session, actor, episode, kind, day, note, document_number, **values)
    if kind is K.REPORT_IN:
        _changed(session, actor, episode, f"event:{kind.value}")
    audit.record(session, actor, "restriction.event", object_type="restriction_event",
                 object_id=event.id, person_id=episode.person_id,
                 details={"kind": kind.value})
    return event


def _assessed_month(episode: RestrictionEpisode, period: dt.date | None,
                    day: dt.date) -> dt.date:
    if period is None:
        raise InvalidInput(N_("%(field)s is required."), field=N_("Month assessed"))
    month = deadlines.month_of(period)
    if month < deadlines.month_of(episode.start_date) or month > deadlines.month_of(day):
        raise InvalidInput(N_("The month assessed lies outside the measure."))
    if any(e.kind is K.ASSESSMENT and e.period == month for e in episode.events):
        raise Conflict(N_("That month has been assessed already."))
    return month


def change_residence(session: Session, flow: Workflow, actor: Actor, episode_id: int, *,
                     occurred_on: dt.date | None, residence: str,
                     commune_id: int | None = None, note: str | None = None,
                     document_number: str | None = None,
                     expected_version: int | None = None) -> RestrictionEvent:
    """Record the person's new place of residence; under another commune police, the episode
    waits to be handed over to it (within the rule set's working days)."""
    episode = _locked(session, actor, episode_id, can_manage_restriction, expected_version)
    if episode.state is not RestrictionState.ACTIVE:
        raise Conflict(LIFECYCLE.refusal, state=episode.state.label)
    day = _day(actor, episode, occurred_on)
    residence = clean_text(residence, N_("Place of residence"), 255)
    other = None
    if commune_id is not None and commune_id != episode.commune_id:
        other = session.get(Organisation, commune_id)
        if other is None or other.kind is not OrgKind.COMMUNE_POLICE or not other.active_on(day):
            raise InvalidInput(N_("Choose the commune police of the new place of residence."))
    event = _event(session, actor, episode, K.RESIDENCE_CHANGE, day, note, document_number,
                   residence=residence, other_commune_id=None)
    episode.residence = residence
    if other is not None:
        due = deadlines.handover_due(calendar_of(session, flow), _rules(flow, day, actor), day)
        # The state and its columns change together (the database ties them).
        LIFECYCLE.fire(episode, "hand_over")
        episode.handover_to, episode.handover_due = other, due
    _changed(session, actor, episode, f"event:{K.RESIDENCE_CHANGE.value}")
    audit.record(session, actor, "restriction.residence", object_type="restriction",
                 object_id=episode.id, person_id=episode.person_id,
                 details={"to": other.code if other else None,
                          "due": episode.handover_due})
    return event


def receive_handover(session: Session, flow: Workflow, actor: Actor, episode_id: int, *,
                     occurred_on: dt.date | None, note: str | None = None,
                     document_number: str | None = None,
                     expected_version: int | None = None) -> RestrictionEvent:
    """The commune police of the new residence take the person over: from now on they manage
    the episode (and the one before no longer sees it)."""
    episode = _locked(session, actor, episode_id, can_receive_restriction, expected_version)
    day = _day(actor, episode, occurred_on)
    if day < max(e.occurred_on for e in episode.events if e.kind is K.RESIDENCE_CHANGE):
        raise InvalidInput(N_("The handover is dated before the change of residence."))
    before, receiving = episode.commune, episode.handover_to
    event = _event(session, actor, episode, K.HANDOVER, day, note, document_number,
                   other_commune_id=receiving.id)
    LIFECYCLE.fire(episode, "receive")
    episode.commune, episode.handover_to, episode.handover_due = receiving, None, None
    _changed(session, actor, episode, f"event:{K.HANDOVER.value}")
    audit.record(session, actor, "restriction.receive", object_type="restriction",
                 object_id=episode.id, person_id=episode.person_id,
                 details={"from": before.code, "to": receiving.code})
    return event


def end_restriction(session: Session, flow: Workflow, actor: Actor, episode_id: int, *,
                    reason: EndReason, occurred_on: dt.date | None, note: str | None = None,
                    document_number: str | None = None, replaced_by_id: int | None = None,
                    expected_version: int | None = None) -> RestrictionEvent:
    """End the measure: lifted, replaced by another measure (custody or detention: the episode
    that follows, in the same record) or its term over. Nothing is recorded on it after."""
    reason = EndReason(reason)
    episode = _locked(session, actor, episode_id, can_manage_restriction, expected_version)
    day = _day(actor, episode, occurred_on)
    if day < episode.start_date:
        raise InvalidInput(N_("The date lies outside the episode."))
    replacement = None
    if replaced_by_id is not None:
        replacement = session.get(CustodyEpisode, replaced_by_id)
        if (reason is not EndReason.REPLACED or replacement is None
                or replacement.person_id != episode.person_id):
            raise InvalidInput(N_("The measure that replaces it is another episode of the "
                                  "same person."))
    event = _event(session, actor, episode, K.END, day, note, document_number)
    LIFECYCLE.fire(episode, "end")
    episode.end_date, episode.end_reason, episode.replaced_by = day, reason, replacement
    episode.handover_to, episode.handover_due = None, None
    _changed(session, actor, episode, f"event:{K.END.value}")
    audit.record(session, actor, "restriction.end", object_type="restriction",
                 object_id=episode.id, person_id=episode.person_id,
                 details={"reason": reason.value})
    return event
