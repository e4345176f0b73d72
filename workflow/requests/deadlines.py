"""Deadlines of requests in working days: extensions (stacked, each with its reason, within
what the rule set allows), and the sweep that flags overdue decisions and tells the body above.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.context import Actor, vietnam_day
from workflow.enums import Role
from workflow.errors import InvalidInput
from workflow.i18n import N_
from workflow.models import (
    AccessRequest,
    RequestStep,
)
from workflow.organisations.scope import parent_on
from workflow.requests import clock
from workflow.requests.decisions import void_open_steps
from workflow.requests.enums import RequestState, StepKind
from workflow.requests.inbox import notify, notify_org
from workflow.requests.kernel import (
    Workflow,
    calendar_of,
    move,
    open_request,
    record_transition,
    system_note,
)
from workflow.requests.policy import extend_refusal

# --- deadlines -----------------------------------------------------------------------------


def extend_deadline(session: Session, flow: Workflow, actor: Actor, request_id: int, *,
                    reason: str, working_days: int | None = None,
                    expected_version: int | None = None) -> AccessRequest:
    """Extend the deadline by `working_days` (default: all the extension the rule set still
    allows), with a recorded reason; extensions stack until the allowance is used. An overdue
    request's extension runs from the day it is decided."""
    request = open_request(session, actor, request_id, expected_version)
    refusal = extend_refusal(session, actor.user, request, actor.today)
    if refusal is not None:
        raise refusal
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise InvalidInput(N_("Say why the deadline is extended (at least 10 characters)."))
    left = clock.extension_left(request)
    days = left if working_days is None else working_days
    if not 1 <= days <= left:
        raise InvalidInput(N_("An extension is of 1 to %(left)s working days."), left=left)
    clock.add_extension(request, days, reason, actor.today)
    before, due = clock.reckon_into(request, calendar_of(session, flow))
    request.extended = True
    request.version += 1
    record_transition(session, actor, request, "extend", request.state, request.state,
                      reason=reason, details={"due_before": before, "due": due,
                                              "working_days": days,
                                              "extension_left": left - days})
    notify(session, request.requester_id, request, "extended")
    return request


@dataclass
class SweepReport:
    """What one sweep did."""

    due_soon: list[str] = field(default_factory=list)
    overdue: list[str] = field(default_factory=list)
    escalated: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)


def sweep(session: Session, flow: Workflow, actor: Actor) -> SweepReport:
    """Mark due-soon and overdue requests (telling the assignees, escalating overdue ones to the
    body above) and expire returned requests never supplemented. Each fact is acted on once, so
    running it every few minutes is safe; rows another sweep holds are skipped."""
    report = SweepReport()
    today = actor.today
    waiting = (RequestState.AWAITING_APPROVAL, RequestState.AWAITING_CONSENT)
    calendar = calendar_of(session, flow)
    # A stopped clock (returned, or waiting for an untimed consent) is neither due nor overdue.
    stmt = (select(AccessRequest).where(AccessRequest.state.in_(waiting),
                                        AccessRequest.due_on.is_not(None),
                                        AccessRequest.paused_at.is_(None))
            .order_by(AccessRequest.id).with_for_update(skip_locked=True, key_share=True))
    for request in session.execute(stmt).scalars():
        rules = flow.rules.on(today)
        left = calendar.between(today, request.due_on)
        if clock.is_overdue(request, today) and not request.overdue_notified:
            request.overdue_notified = True
            report.overdue.append(request.number)
            for step in request.open_steps():
                _notify_assignees(session, step, request, "overdue")
                parent = parent_on(session, step.org_id, today)
                if parent is not None:
                    notify_org(session, parent, request, "escalated", Role.APPROVER)
                    report.escalated.append(request.number)
            system_note(session, actor, request, "overdue", {"due": request.due_on})
        elif (today <= request.due_on and left <= rules.due_soon_days
              and not request.due_soon_notified):
            request.due_soon_notified = True
            report.due_soon.append(request.number)
            for step in request.open_steps():
                _notify_assignees(session, step, request, "due_soon")
            system_note(session, actor, request, "due_soon", {"due": request.due_on})
    returned = (select(AccessRequest).where(AccessRequest.state == RequestState.RETURNED)
                .order_by(AccessRequest.id).with_for_update(skip_locked=True, key_share=True))
    for request in session.execute(returned).scalars():
        rules = flow.rules.on(today)
        paused = vietnam_day(request.paused_at)
        if calendar.between(paused, today) > rules.supplement_days:
            void_open_steps(request, actor)
            move(session, actor, request, "expire", authorised=True,
                  reason="not supplemented in time")
            notify(session, request.requester_id, request, "expired")
            report.expired.append(request.number)
    session.flush()
    return report


def _notify_assignees(session: Session, step: RequestStep, request: AccessRequest,
                      kind: str) -> None:
    role = Role.APPROVER if step.kind is StepKind.APPROVAL else Role.CONSENT_OFFICER
    notify_org(session, step.org_id, request, kind, role)


