"""Deadlines of requests in working days: the one extension, and the sweep that flags overdue
decisions and tells the body above."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.context import Actor, vietnam_day
from workflow.enums import Role
from workflow.errors import Conflict, Forbidden, InvalidInput
from workflow.i18n import N_
from workflow.models import (
    AccessRequest,
    RequestStep,
)
from workflow.organisations.scope import parent_on
from workflow.requests.decisions import void_open_steps
from workflow.requests.enums import RequestState, StepKind
from workflow.requests.inbox import notify, notify_org
from workflow.requests.kernel import Workflow, move, open_request, record_transition, system_note
from workflow.requests.policy import (
    can_decide,
)

# --- deadlines -----------------------------------------------------------------------------


def extend_deadline(session: Session, flow: Workflow, actor: Actor, request_id: int, *,
                    reason: str, expected_version: int | None = None) -> AccessRequest:
    """Extend the deadline once, by the rule set's extension, with a recorded reason."""
    request = open_request(session, actor, request_id, expected_version)
    if not can_decide(session, actor.user, request, actor.today):
        raise Forbidden(N_("You may not decide on this request."))
    if request.extended:
        raise Conflict(N_("The deadline has already been extended once."))
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise InvalidInput(N_("Say why the deadline is extended (at least 10 characters)."))
    rules = flow.rules.version(request.rule_version) if request.rule_version else flow.rules.on(
        actor.today)
    due = flow.calendar.add(request.due_on or actor.today, rules.extension_days)
    for step in request.open_steps():
        step.due_on = due.due
    request.extended, request.due_on = True, due.due
    request.due_soon_notified = request.overdue_notified = False
    request.deadline_json = json.dumps(request.deadline | {"extension": {
        "reason": reason, "working_days": rules.extension_days, "due": due.due.isoformat(),
        "skipped": [{"day": s.day.isoformat(), "reason": s.reason} for s in due.skipped]}},
        ensure_ascii=False)
    request.version += 1
    record_transition(session, actor, request, "extend", request.state, request.state,
                      reason=reason, details={"due": due.due})
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
    stmt = (select(AccessRequest).where(AccessRequest.state.in_(waiting),
                                        AccessRequest.due_on.is_not(None))
            .order_by(AccessRequest.id).with_for_update(skip_locked=True, key_share=True))
    for request in session.execute(stmt).scalars():
        rules = flow.rules.on(today)
        left = flow.calendar.between(today, request.due_on)
        if today > request.due_on and not request.overdue_notified:
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
        if flow.calendar.between(paused, today) > rules.supplement_days:
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


