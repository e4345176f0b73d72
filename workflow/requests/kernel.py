"""The kernel every request operation goes through: the configured workflow, opening a request
(lock, scope, version) and moving it through the state table with its timeline and audit."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.audit import chain as audit
from workflow.context import Actor
from workflow.errors import Conflict, Forbidden, NotFound
from workflow.i18n import N_
from workflow.models import (
    AccessRequest,
    RequestTransition,
)
from workflow.requests import clock
from workflow.requests.enums import RequestState
from workflow.requests.machine import fire, rows_for
from workflow.requests.policy import (
    can_fire,
    can_view,
)
from workflow.requests.routing import Route, plan_route
from workflow.requests.rules import Rulebook
from workflow.requests.workdays import DueDate, WorkCalendar
from workflow.webhooks.outbox import owe_state_change

# Issues the written notices the request's decisions call for: (session, actor, request id).
Notices = Callable[[Session, Actor, int], object]


@dataclass(frozen=True)
class Workflow:
    """The configured rules and calendar every request operation uses, and what issues a
    decision's written notices (`documents.letters.notices(settings)`; without it, decisions
    issue none: unit tests of the rules). Requests do not import documents: the notices are
    handed in, so that documents may depend on requests and not the other way round.
    `consent_stops_clock`: whether a request's clock stops while it waits only for a consent
    (the law sets no time for it); each request keeps the setting it was routed under."""

    rules: Rulebook = field(default_factory=Rulebook)
    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    notices: Notices | None = None
    consent_stops_clock: bool = False


def calendar_of(session: Session, flow: Workflow) -> WorkCalendar:
    """The working-day calendar in force: the configured one with the decided changes."""
    return clock.calendar_in(session, flow.calendar)


# --- numbering and lookup ------------------------------------------------------------------


def request_number(day: dt.date, request_id: int) -> str:
    # From the row's id: unique under any concurrency (counting rows was not).
    return f"YC-{day.year}-{request_id:06d}"


# Row locks are FOR NO KEY UPDATE (`key_share=True`): they serialise the changes to a row but let
# other transactions insert rows that refer to it (their foreign-key checks take KEY SHARE), so a
# transaction holding the audit chain's head never waits on a row another one locked first.
def _lock(session: Session, request_id: int) -> AccessRequest:
    request = session.execute(
        select(AccessRequest).where(AccessRequest.id == request_id)
        .with_for_update(key_share=True).execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if request is None:
        raise NotFound(N_("No such request."))
    return request


def open_request(session: Session, actor: Actor, request_id: int,
                 expected_version: int | None = None) -> AccessRequest:
    """The request an operation acts on: locked, seen by the actor (404 otherwise), and as the
    actor saw it when they decided (`expected_version`; 409 if someone acted since)."""
    request = _lock(session, request_id)
    if not can_view(session, actor.user, request, actor.today):
        raise NotFound(N_("No such request."))
    if expected_version is not None and expected_version != request.version:
        raise Conflict(N_("The request changed while you were looking at it; nothing was done."))
    return request


# --- moving through the machine ------------------------------------------------------------


def record_transition(session: Session, actor: Actor, request: AccessRequest, trigger: str,
                      before: RequestState, after: RequestState, *, reason: str | None = None,
                      details: dict | None = None, audited: dict | None = None,
                      purpose: str | None = None, about_person: bool = True) -> None:
    """A line of the request's timeline and its audit entry: every change writes both, the
    audit entry with `audited` (default: the timeline's details) and the purpose."""
    details = details or {}
    session.add(RequestTransition(
        request=request, trigger=trigger, from_state=before, to_state=after,
        actor=actor.user, at=actor.now, reason=reason, rule_version=request.rule_version,
        details=json.dumps(details, ensure_ascii=False, default=str, sort_keys=True)))
    audit.record(session, actor, f"request.{trigger}", object_type="request",
                 object_id=request.id,
                 person_id=request.subject_person_id if about_person else None,
                 purpose=purpose if purpose is not None else reason,
                 details=details if audited is None else audited)


def route_now(session: Session, flow: Workflow, actor: Actor, request: AccessRequest) -> Route:
    """The route the request takes today under today's rules: on submission, and again at
    release (a case may have moved to a stage that needs a consent the request lacks)."""
    return plan_route(session, flow.rules.on(actor.today), calendar_of(session, flow),
                      requester_org=request.requester_org, person=request.subject_person,
                      categories=request.categories, period_from=request.period_from,
                      period_to=request.period_to, urgency=request.urgency, day=actor.today,
                      own_scope=request.on_behalf_of_id is None,
                      statistics_org=request.statistics_org)


def deadline_json(flow: Workflow, due: DueDate | None, version: str) -> dict:
    """A new deadline as stored with the request (`AccessRequest.deadline`): the terms its
    clock starts on under this flow and rule set (`clock.terms`), or none."""
    if due is None:
        return {"rule_version": version}
    return clock.terms(due, version, extension_cap=flow.rules.version(version).extension_days,
                       consent_stops_clock=flow.consent_stops_clock)


def move(session: Session, actor: Actor, request: AccessRequest, trigger: str, *,
          reason: str | None = None, details: dict | None = None,
          authorised: bool = False) -> None:
    # `authorised`: the caller checked `may_fire` before changing the steps the check reads,
    # or fires a system row (routing, expiry) that no user can fire.
    if not authorised and not can_fire(session, actor, request, trigger):
        raise Forbidden(N_("You may not do this to this request."))
    before, after = fire(request, trigger)
    # Before anything flushes: a returned request's row holds when its clock stopped.
    stopped = clock.follow(request, actor.now, actor.today)
    request.version += 1
    request.updated_at = actor.now
    record_transition(session, actor, request, trigger, before, after, reason=reason,
                      details=details, audited={"from": before.value, "to": after.value,
                                                "rule_version": request.rule_version,
                                                **(details or {})})
    if stopped is not None:
        system_note(session, actor, request, "clock_stopped",
                    {"why": stopped, "due": request.due_on})
    if after is not before:
        owe_state_change(session, request, before, after, actor.now)
    session.flush()


def require_state(request: AccessRequest, trigger: str) -> None:
    if not rows_for(trigger, request.state):
        raise Conflict(N_("This action is not possible while the request is %(state)s."),
                       state=request.state.label)


def system_note(session: Session, actor: Actor, request: AccessRequest, what: str,
                 details: dict) -> None:
    record_transition(session, actor, request, what, request.state, request.state,
                      details=details, audited={k: str(v) for k, v in details.items()},
                      about_person=False)
