"""Routing policy (Decree Art. 12 §3): which approvals and consents a request needs, and why.

1. The requester's organisation manages every facility holding the data → direct access.
2. Otherwise → approval by the competent managing body: the lowest management body above all
   those facilities (the central centre when they belong to both branches).
3. A related case at a stage the rule set lists (investigation, prosecution, trial) → the written
   consent of the body handling it at that stage, in addition.
4. Classified documents asked for → the approver needs a clearance of that level.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.enums import Secrecy
from workflow.i18n import N_
from workflow.models import (
    Case,
    CustodyEpisode,
    Organisation,
    Person,
    RecordDocument,
)
from workflow.organisations.enums import Branch, OrgKind
from workflow.organisations.scope import competent_body, management_scope, subtree_ids
from workflow.requests.enums import RequestCategory, StepKind, Urgency
from workflow.requests.rules import RuleSet
from workflow.requests.workdays import DueDate, WorkCalendar

DOCUMENT_CATEGORIES = {RequestCategory.ORDERS: "a_orders", RequestCategory.HANDOVER: "b_handover",
                       RequestCategory.IDENTITY: "c_identity",
                       RequestCategory.SENTENCE: "d_sentence"}


CONSENT_REASON = N_("Case %(case)s is at the %(stage)s stage: the written consent of %(body)s, "
                    "which handles it, is needed (Art. 12 §3).")
OUTSIDER_CONSENT_REASON = N_("A related case is being investigated, prosecuted or tried: the "
                             "written consent of %(body)s, which handles it, is needed "
                             "(Art. 12 §3).")
OUTSIDE_SCOPE_REASON = N_("The data lies outside your organisation's scope: %(body)s, which "
                          "manages it, must approve (Art. 12 §3a).")
OUTSIDE_BODY_REASON = N_("The data lies outside your organisation's scope: %(body)s, which "
                         "manages it, must approve (Art. 12 §3b).")
NON_STATE_REASON = N_("A request of an organisation or person outside the state is always "
                      "decided by the body that manages the data, and documents classified as "
                      "state secrets are not provided to them (Art. 12 §3b).")
SECRECY_REASON = N_("Documents classified %(level)s are asked for: the approver needs that "
                    "clearance.")
NO_EPISODE_REASON = N_("No episode falls in the period asked for; the route covers all the "
                       "person's episodes.")
# Sentences that describe the record itself: told only to those who may read it.
_INSIDE_ONLY = frozenset({SECRECY_REASON, NO_EPISODE_REASON})


@dataclass(frozen=True)
class Reason:
    """A sentence of the explanation, as a message id and its parameters (translated later)."""

    message: str
    params: dict


@dataclass(frozen=True)
class PlannedStep:
    """A decision the request will need."""

    kind: StepKind
    org_id: int
    org_name: str
    case_id: int | None = None
    case_number: str | None = None
    stage: str | None = None
    due: DueDate | None = None


@dataclass(frozen=True)
class Route:
    """The route a request takes, with the rule set it applied and the reasons, in order."""

    rule_version: str
    direct: bool
    steps: tuple[PlannedStep, ...]
    reasons: tuple[Reason, ...]
    secrecy: Secrecy
    facility_ids: tuple[int, ...]

    @property
    def due(self) -> DueDate | None:
        """The latest due date among the steps (they run in parallel)."""
        dues = [s.due for s in self.steps if s.due is not None]
        return max(dues, key=lambda d: d.due) if dues else None

    def for_outsider(self) -> Route:
        """What may be told to someone who does not manage the data (before any approval): who
        will decide and by when — not the cases, their stages, the facilities, or whether
        classified documents exist."""
        steps = tuple(PlannedStep(s.kind, s.org_id, s.org_name, due=s.due) for s in self.steps)
        return Route(self.rule_version, self.direct, steps, _outsider_reasons(self.reasons),
                     Secrecy.NONE, ())

    def as_json(self) -> dict:
        """What is stored with the request."""
        return {
            "rule_version": self.rule_version, "direct": self.direct,
            "secrecy": self.secrecy.value, "facility_ids": list(self.facility_ids),
            "steps": [{"kind": s.kind.value, "org_id": s.org_id, "org_name": s.org_name,
                       "case_id": s.case_id, "case_number": s.case_number, "stage": s.stage,
                       "due": s.due.due.isoformat() if s.due else None} for s in self.steps],
            "reasons": [{"message": r.message, "params": r.params} for r in self.reasons],
        }


def _outsider_reasons(reasons: Iterable[Reason]) -> tuple[Reason, ...]:
    kept: list[Reason] = []
    for reason in reasons:
        if reason.message in _INSIDE_ONLY:
            continue
        if reason.message == CONSENT_REASON:
            reason = Reason(OUTSIDER_CONSENT_REASON, {"body": reason.params["body"]})
        if reason not in kept:
            kept.append(reason)
    return tuple(kept)


def outsider_json(stored: dict) -> dict:
    """`Route.for_outsider` of a route stored with its request."""
    reasons = _outsider_reasons(Reason(r["message"], r["params"])
                                for r in stored.get("reasons", []))
    inside = {"case_id", "case_number", "stage"}
    return {**stored, "secrecy": Secrecy.NONE.value, "facility_ids": [],
            "steps": [{k: v for k, v in s.items() if k not in inside}
                      for s in stored.get("steps", [])],
            "reasons": [{"message": r.message, "params": r.params} for r in reasons]}


def overlaps(episode: CustodyEpisode, start: dt.date | None, end: dt.date | None) -> bool:
    if start and episode.end_date and episode.end_date < start:
        return False
    return not (end and episode.start_date > end)


def episodes_asked(person: Person, period_from: dt.date | None,
                   period_to: dt.date | None) -> tuple[list[CustodyEpisode], bool]:
    """The person's episodes a request's period covers, and whether none did (then all)."""
    episodes = [e for e in person.episodes if overlaps(e, period_from, period_to)]
    return (episodes, False) if episodes else (list(person.episodes), True)


def within_scope(session: Session, org: Organisation, person: Person,
                 period_from: dt.date | None, period_to: dt.date | None, day: dt.date) -> bool:
    """Whether the body manages every facility holding the data asked for (Art. 12 §3a: it
    uses that data directly, without a request)."""
    scope = management_scope(session, org, day)
    episodes, _none = episodes_asked(person, period_from, period_to)
    return all(scope.covers(e.facility_id) for e in episodes)


def plan_route(
    session: Session,
    rules: RuleSet,
    calendar: WorkCalendar,
    *,
    requester_org: Organisation,
    person: Person | None,
    categories: list[str],
    period_from: dt.date | None,
    period_to: dt.date | None,
    urgency: Urgency,
    day: dt.date,
    own_scope: bool = True,
    statistics_org: Organisation | None = None,
) -> Route:
    """Decide the route of a request as of `day` under `rules`. `own_scope` is False for a
    detained person's own request: the facility's scope is not theirs to use.
    `statistics_org` is the body whose scope a statistical question is about (None: all)."""
    reasons = [Reason(N_("Rules applied: %(rules)s."), {"rules": rules.law})]
    if requester_org.kind.is_non_state:
        reasons.append(Reason(NON_STATE_REASON, {}))
    days = rules.urgent_days if urgency is Urgency.URGENT else rules.approval_days
    if person is None:
        return _statistics_route(session, rules, calendar, requester_org, statistics_org,
                                 reasons, days, day)
    if not own_scope:
        reasons.append(Reason(N_("A detained person's own request is decided by the body that "
                                 "manages the facility (Art. 12 §2đ)."), {}))
    episodes, none_asked = episodes_asked(person, period_from, period_to)
    if none_asked:
        reasons.append(Reason(NO_EPISODE_REASON, {}))
    facility_ids = {e.facility_id for e in episodes}
    in_scope = own_scope and within_scope(session, requester_org, person, period_from,
                                          period_to, day)
    steps: list[PlannedStep] = []
    if in_scope:
        reasons.append(Reason(N_("Your organisation manages the facilities holding this data: "
                                 "direct access, recorded with its purpose (Art. 12 §3a)."), {}))
    else:
        body = competent_body(session, facility_ids, day)
        due = calendar.add(day, days)
        steps.append(PlannedStep(StepKind.APPROVAL, body.id, body.name, due=due))
        reasons.append(Reason(OUTSIDE_SCOPE_REASON if keeps_the_database(requester_org)
                              else OUTSIDE_BODY_REASON, {"body": body.name}))
    if not in_scope or rules.consent_in_scope:
        steps.extend(_consent_steps(rules, calendar, episodes, day, reasons, requester_org))
    secrecy = (Secrecy.NONE if requester_org.kind.is_non_state  # never provided to them
               else _secrecy(session, person, categories, {e.id for e in episodes}))
    if secrecy is not Secrecy.NONE and steps:
        reasons.append(Reason(SECRECY_REASON, {"level": secrecy.label}))
    return Route(rules.version, not steps, tuple(steps), tuple(reasons), secrecy,
                 tuple(sorted(facility_ids)))


def keeps_the_database(org: Organisation) -> bool:
    """Whether the body builds and keeps the database (Art. 12 §3a: the custody management
    bodies and the facilities of both branches); any other body, organisation or person uses
    it under §3b."""
    return org.branch is not Branch.OUTSIDE and org.kind is not OrgKind.INVESTIGATION_AGENCY


def cases_of(episodes: Iterable[CustodyEpisode]) -> list[Case]:
    """The cases the episodes belong to, each once, in the episodes' order."""
    cases: dict[int, Case] = {}
    for episode in episodes:
        if episode.case is not None:
            cases.setdefault(episode.case.id, episode.case)
    return list(cases.values())


def _consent_steps(rules, calendar, episodes, day, reasons, requester_org) -> list[PlannedStep]:
    steps: list[PlannedStep] = []
    for case in cases_of(episodes):
        entry = case.stage_on(day)
        if entry is None or entry.stage not in rules.consent_stages:
            continue
        handler = entry.handling_org
        if handler.id == requester_org.id:
            reasons.append(Reason(N_("Case %(case)s is handled by your organisation: asking for "
                                     "the data is its own consent."), {"case": case.number}))
            continue
        steps.append(PlannedStep(StepKind.CONSENT, handler.id, handler.name, case.id,
                                 case.number, entry.stage.value,
                                 calendar.add(day, rules.consent_days)))
        reasons.append(Reason(CONSENT_REASON, {"case": case.number, "stage": entry.stage.label,
                                               "body": handler.name}))
    return steps


def _secrecy(session: Session, person: Person, categories: list[str],
             episode_ids: set[int]) -> Secrecy:
    wanted = {DOCUMENT_CATEGORIES[RequestCategory(c)] for c in categories
              if RequestCategory(c) in DOCUMENT_CATEGORIES}
    if not wanted:
        return Secrecy.NONE
    levels = session.execute(select(RecordDocument.secrecy).where(
        RecordDocument.person_id == person.id, RecordDocument.category.in_(wanted),
        RecordDocument.episode_id.in_(episode_ids) | RecordDocument.episode_id.is_(None))
    ).scalars().all()
    return max(levels, key=lambda s: s.rank, default=Secrecy.NONE)


def statistics_within_scope(session: Session, requester_org: Organisation,
                            statistics_org: Organisation | None, day: dt.date) -> bool:
    """Whether a statistical question lies within the asking body's own scope: it keeps the
    whole database, or it keeps the database and asks about itself or a body under it."""
    if management_scope(session, requester_org, day).nationwide:
        return True
    return (statistics_org is not None and keeps_the_database(requester_org)
            and statistics_org.id in subtree_ids(session, requester_org.id, day))


def _statistics_route(session, rules, calendar, requester_org, statistics_org, reasons, days,
                      day) -> Route:
    if statistics_within_scope(session, requester_org, statistics_org, day):
        if management_scope(session, requester_org, day).nationwide:
            reasons.append(Reason(N_("Your organisation keeps the whole database: direct "
                                     "access."), {}))
        else:
            reasons.append(Reason(N_("The figures asked for are about %(body)s, within your "
                                     "organisation's own scope: no approval is needed, the "
                                     "request goes straight to preparation (Art. 12 §3a)."),
                                  {"body": statistics_org.name}))
        return Route(rules.version, True, (), tuple(reasons), Secrecy.NONE, ())
    centre = session.execute(select(Organisation).where(
        Organisation.kind == OrgKind.CENTRAL_CENTRE)).scalars().first()
    reasons.append(Reason(N_("Statistics across the database are approved by %(body)s."),
                          {"body": centre.name}))
    step = PlannedStep(StepKind.APPROVAL, centre.id, centre.name, due=calendar.add(day, days))
    return Route(rules.version, False, (step,), tuple(reasons), Secrecy.NONE, ())
