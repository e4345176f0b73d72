"""Who read my record: a detained person's own view of the bodies that read or received their data,
and when (issue 16; Estonia's data tracker is the model). Bodies are named, never their officers.

While one of the person's cases is at a stage the rule set withholds (under investigation), the
reads made since it reached that stage are withheld, and the view says so with that ground, until
the body handling the case discloses them (`disclose_reads`) or the case moves on. The reads of
the facility keeping the person's record file are never withheld: keeping it is its daily work.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.audit import chain as audit
from workflow.audit.trail import about
from workflow.context import VN, Actor
from workflow.db import utcnow
from workflow.documents.wording import vi
from workflow.enums import Role
from workflow.errors import Forbidden, NotFound
from workflow.i18n import N_
from workflow.models import (
    AuditEntry,
    Case,
    CaseStageEntry,
    CustodyEpisode,
    Mandate,
    Organisation,
    Person,
    ReadDisclosure,
    User,
)
from workflow.records.enums import CaseStage
from workflow.records.policy import keeping_facility
from workflow.requests.requesters import can_see_client_reads
from workflow.security.permissions import Permission, can, is_live

# What the view shows of the audit, in the person's words. Decisions on requests are left out:
# the request's own page tells its requester (and a person's own request its dated steps).
TRACKED = {
    "record.view": N_("Read your record"),
    "record.search": N_("Looked you up by your name or an identity number"),
    "request.submit": N_("Asked for data about you"),
    "request.resubmit": N_("Asked for data about you"),
    "extract.download": N_("Received an extract of your record"),
}
# The same acts told to the lawyer the person authorised, about the person.
ABOUT_THE_CLIENT = {
    "Read your record": N_("Read the record"),
    "Looked you up by your name or an identity number": N_(
        "Looked the person up by name or an identity number"),
    "Asked for data about you": N_("Asked for data about the person"),
    "Received an extract of your record": N_("Received an extract of the record"),
}
# A requester outside the state is never named to another (a relative to the lawyer, a lawyer
# to the person): an organisation of one would name the person.
OUTSIDE_BODY = N_("An organisation or person outside the state")
SHOWN = 500  # the latest reads, grouped by day: enough for years of a record's life


@dataclass(frozen=True)
class Read:
    """One body's reads of one kind on one day."""

    day: dt.date
    body: str
    what: str  # a msgid of TRACKED
    times: int


@dataclass(frozen=True)
class Withholding:
    """Reads withheld while a case is at a stage the rule set withholds, and the ground."""

    case_number: str
    stage: CaseStage
    body: str  # the body handling the case, which decides when they are shown


@dataclass(frozen=True)
class OwnReads:
    """What the person sees: the reads shown, newest day first, and what withholds others."""

    reads: list[Read]
    withheld: list[Withholding]


def can_see_own_reads(user: User | None) -> bool:
    """A detained person's own account (at the kiosk): it sees who read its own record."""
    return (is_live(user) and can(user, Permission.READ_OWN_RECORD)
            and user.person_id is not None)


def own_reads(session: Session, actor: Actor,
              withheld_stages: frozenset[CaseStage]) -> OwnReads:
    """The bodies that read or received the actor's own record, by day; the view is audited."""
    user = actor.user
    if not can_see_own_reads(user):
        raise Forbidden(N_("Your role does not allow this."))
    person = session.get(Person, user.person_id)
    if person is None:
        raise NotFound(N_("No such record."))
    seen = _reads_of(session, person, actor.today, withheld_stages, user.id)
    audit.record(session, actor, "record.own_reads", object_type="person",
                 object_id=person.id, person_id=person.id,
                 details={"shown": len(seen.reads), "withheld_cases": len(seen.withheld)})
    return seen


def client_reads(session: Session, actor: Actor, mandate_id: int,
                 withheld_stages: frozenset[CaseStage]) -> tuple[Person, OwnReads]:
    """What the person sees of who read their record, seen by the lawyer they authorised
    (`can_see_client_reads`); the view is audited with the person."""
    mandate = session.get(Mandate, mandate_id)
    if mandate is None or not can_see_client_reads(session, actor.user, mandate, actor.today):
        raise NotFound(N_("No such record."))
    person = mandate.person
    seen = _reads_of(session, person, actor.today, withheld_stages, actor.user.id)
    audit.record(session, actor, "record.client_reads", object_type="person",
                 object_id=person.id, person_id=person.id,
                 details={"mandate_id": mandate.id, "shown": len(seen.reads),
                          "withheld_cases": len(seen.withheld)})
    return person, seen


def _reads_of(session: Session, person: Person, today: dt.date,
              withheld_stages: frozenset[CaseStage], viewer_id: int) -> OwnReads:
    """The bodies that read or received the person's record, by day, but for the viewer's own
    reads and those a case withholds."""
    windows = _withheld_windows(session, person, today, withheld_stages)
    keeper = keeping_facility(session, person)
    rows = session.execute(
        select(AuditEntry.occurred_at, AuditEntry.organisation_id, AuditEntry.action)
        .where(about(session, person.id), AuditEntry.action.in_(TRACKED),
               AuditEntry.outcome == audit.Outcome.SUCCESS,
               AuditEntry.organisation_id.is_not(None),
               AuditEntry.actor_id.is_distinct_from(viewer_id))
        .order_by(AuditEntry.seq.desc()).limit(SHOWN * 4)).all()
    names = {org_id: (vi(OUTSIDE_BODY) if kind.is_non_state else name)
             for org_id, name, kind in session.execute(
                 select(Organisation.id, Organisation.name, Organisation.kind).where(
                     Organisation.id.in_({org_id for _at, org_id, _a in rows})))}
    by_body: Counter[tuple[dt.date, str, str]] = Counter()
    for at, org_id, action in rows:
        hidden = any(start <= at and (through is None or at > through)
                     for start, through, _w in windows)
        if hidden and (keeper is None or org_id != keeper.id):
            continue
        by_body[(at.astimezone(VN).date(), names.get(org_id, ""), TRACKED[action])] += 1
    reads = sorted((Read(day, body, what, times) for (day, body, what), times in by_body.items()),
                   key=lambda r: (r.day, r.body, r.what), reverse=True)[:SHOWN]
    return OwnReads(reads, [w for _s, _t, w in windows])


def _withheld_windows(session: Session, person: Person, today: dt.date,
                      stages: frozenset[CaseStage]
                      ) -> list[tuple[dt.datetime, dt.datetime | None, Withholding]]:
    """Per case of the person now at a withheld stage: from when it has been at such stages
    without a break, through the last moment its handling body disclosed (None: nothing)."""
    case_ids = session.scalars(select(CustodyEpisode.case_id).where(
        CustodyEpisode.person_id == person.id, CustodyEpisode.case_id.is_not(None)).distinct())
    windows = []
    for case in session.scalars(select(Case).where(Case.id.in_(list(case_ids)))
                                .order_by(Case.id)):
        history = [s for s in case.stages if s.from_date <= today]
        if not history or history[-1].stage not in stages:
            continue
        start = history[-1].from_date
        for entry in reversed(history):
            if entry.stage not in stages:
                break
            start = entry.from_date
        through = _disclosed_through(session, case.id)
        current = history[-1]
        windows.append((dt.datetime.combine(start, dt.time(), VN), through, Withholding(
            case.number, current.stage,
            current.handling_org.name if current.handling_org else "")))
    return windows


def _disclosed_through(session: Session, case_id: int) -> dt.datetime | None:
    """Until when the case's reads were last disclosed (None: never)."""
    return session.scalar(select(func.max(ReadDisclosure.disclosed_through)).where(
        ReadDisclosure.case_id == case_id))


# --- the handling body discloses --------------------------------------------------------------


def handling_entry(case: Case, day: dt.date) -> CaseStageEntry | None:
    """The case's stage on the day, when a body handles it."""
    entry = case.stage_on(day)
    return entry if entry is not None and entry.handling_org_id is not None else None


def can_disclose_reads(user: User | None, case: Case, day: dt.date) -> bool:
    """Show the persons under a case the reads withheld so far: a consent officer of the body
    handling it today (who decides what the investigation can bear)."""
    entry = handling_entry(case, day)
    return (is_live(user) and user.has_role(Role.CONSENT_OFFICER) and entry is not None
            and entry.handling_org_id == user.organisation_id)


def can_list_handled_cases(user: User | None) -> bool:
    """A consent officer: the cases their body handles, whose reads they may disclose."""
    return is_live(user) and user.has_role(Role.CONSENT_OFFICER)


def handled_cases(session: Session, actor: Actor,
                  withheld_stages: frozenset[CaseStage]) -> list[tuple[Case, dt.datetime | None]]:
    """The cases the actor's body handles today at a withheld stage, each with the moment its
    reads were last disclosed (None: never): what `disclose_reads` may act on."""
    user = actor.user
    if not can_list_handled_cases(user):
        raise Forbidden(N_("Your role does not allow this."))
    ids = session.scalars(select(CaseStageEntry.case_id).where(
        CaseStageEntry.handling_org_id == user.organisation_id).distinct())
    found = []
    for case in session.scalars(select(Case).where(Case.id.in_(list(ids))).order_by(Case.id)):
        entry = handling_entry(case, actor.today)
        if entry is not None and entry.stage in withheld_stages \
                and can_disclose_reads(user, case, actor.today):
            found.append((case, _disclosed_through(session, case.id)))
    return found


def disclose_reads(session: Session, actor: Actor, case_id: int) -> ReadDisclosure:
    """Let the persons under the case see every read of their record made until now; audited.
    A case the actor's body does not handle is not found (its existence is not told)."""
    case = session.get(Case, case_id)
    if case is None or not can_disclose_reads(actor.user, case, actor.today):
        raise NotFound(N_("No such case among those your body handles."))
    # Through the clock the audit chain stamps its entries with, which this is compared to.
    disclosure = ReadDisclosure(case_id=case.id, disclosed_through=utcnow(),
                                org_id=actor.user.organisation_id, by_user_id=actor.user.id)
    session.add(disclosure)
    session.flush()
    audit.record(session, actor, "record.disclose_reads", object_type="case", object_id=case.id,
                 details={"through": disclosure.disclosed_through.isoformat()})
    return disclosure
