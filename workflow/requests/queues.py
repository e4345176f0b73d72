"""Work queues (issue 16): a body's requests awaiting its decision or consent, each given to a
named officer and a backup officer (claimed, or assigned by a colleague), filtered to what is
unclaimed, mine, due soon or overdue (and by how many working days), and acted on in bulk —
reassigned, extended or returned, with one reason each — all or nothing.

Who may assign is who may decide: the gate is `decider_steps`, so a queue never reaches a
request its reader may not decide on, and an officer named must be able to decide it too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.audit import chain as audit
from workflow.context import Actor
from workflow.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from workflow.i18n import N_
from workflow.models import AccessRequest, RequestAssignment, RequestStep, User, UserRole
from workflow.requests.deadlines import extend_deadline
from workflow.requests.decisions import return_for_supplement
from workflow.requests.enums import StepKind
from workflow.requests.inbox import notify
from workflow.requests.kernel import Workflow, open_request
from workflow.requests.policy import ROUTE_ROLES, decider_steps

QUEUES = {"approval": StepKind.APPROVAL, "consent": StepKind.CONSENT}
FILTERS = ("all", "unclaimed", "mine", "due_soon", "overdue")
BULK = ("reassign", "extend", "return")
MOST = 100  # requests one bulk action takes


@dataclass(frozen=True)
class QueueRow:
    """A request as its body's queue shows it."""

    request: AccessRequest
    assignment: RequestAssignment | None
    overdue_days: int  # working days past the due date (0: not overdue)
    due_soon: bool


class BulkRefused(Conflict):
    """One request of a bulk action refused it: nothing of the action was done (`cause` says
    why)."""

    def __init__(self, number: str, cause: DomainError) -> None:
        super().__init__(N_("Nothing was done: request %(number)s could not be handled."),
                         number=number)
        self.cause = cause


def deciding_step(session: Session, user: User | None, request: AccessRequest,
                  day: dt.date) -> RequestStep | None:
    """The open step the user may decide (their body's approval or consent), if any."""
    for kind in (StepKind.APPROVAL, StepKind.CONSENT):
        steps = decider_steps(session, user, request, kind, day)
        if steps:
            return steps[0]
    return None


def can_assign(session: Session, user: User | None, request: AccessRequest,
               day: dt.date) -> bool:
    """Claim the request or give it to a colleague: whoever may decide it."""
    return deciding_step(session, user, request, day) is not None


def officers_of(session: Session, org_id: int, kind: StepKind) -> list[User]:
    """The live accounts of a body whose role decides steps of this kind, by name."""
    return list(session.scalars(select(User).join(UserRole).where(
        User.organisation_id == org_id, User.active.is_(True), User.locked_at.is_(None),
        UserRole.role == ROUTE_ROLES[kind]).order_by(User.full_name, User.id)).unique())


def officers_for(session: Session, request: AccessRequest, step: RequestStep,
                 day: dt.date) -> list[User]:
    """The officers of the step's body who may decide it (never its requester or subject)."""
    return [u for u in officers_of(session, step.org_id, step.kind)
            if step in decider_steps(session, u, request, step.kind, day)]


def current(session: Session, request_ids: Sequence[int]) -> dict[tuple[int, int],
                                                                      RequestAssignment]:
    """The latest assignment per (request, body) of these requests."""
    if not request_ids:
        return {}
    latest = select(func.max(RequestAssignment.id)).where(
        RequestAssignment.request_id.in_(list(request_ids))).group_by(
        RequestAssignment.request_id, RequestAssignment.org_id)
    rows = session.scalars(select(RequestAssignment).where(RequestAssignment.id.in_(latest)))
    return {(row.request_id, row.org_id): row for row in rows}


def assign(session: Session, actor: Actor, request_id: int, *, officer_id: int,
           backup_id: int | None = None, reason: str | None = None,
           expected_version: int | None = None) -> RequestAssignment:
    """Give the request to an officer of the deciding body (and a backup); audited, and the
    officer (and backup) told, unless they took it themselves."""
    request = open_request(session, actor, request_id, expected_version)
    step = deciding_step(session, actor.user, request, actor.today)
    if step is None:
        raise Forbidden(N_("You may not assign this request."))
    officers = {u.id: u for u in officers_for(session, request, step, actor.today)}
    if officer_id not in officers:
        raise InvalidInput(N_("Choose an officer of the body who may decide on this request."))
    if backup_id is not None and (backup_id not in officers or backup_id == officer_id):
        raise InvalidInput(N_("The backup officer is another officer of the body who may "
                              "decide on this request."))
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > 500:
        raise InvalidInput(N_("The reason is at most 500 characters."))
    row = RequestAssignment(request_id=request.id, org_id=step.org_id, officer_id=officer_id,
                            backup_id=backup_id, assigned_by_id=actor.user.id, at=actor.now,
                            reason=reason)
    session.add(row)
    session.flush()
    audit.record(session, actor, "request.assign", object_type="request", object_id=request.id,
                 details={"officer": officers[officer_id].username, "reason": reason,
                          "backup": officers[backup_id].username if backup_id else None})
    for told in {officer_id, backup_id} - {actor.user.id, None}:
        notify(session, told, request, "assigned")
    return row


def claim(session: Session, actor: Actor, request_id: int,
          expected_version: int | None = None) -> RequestAssignment:
    """Take the request oneself (its backup stays, unless it is oneself or can no longer decide
    it: one who left the body must not stop the others from taking the request)."""
    request = open_request(session, actor, request_id, expected_version)
    step = deciding_step(session, actor.user, request, actor.today)
    if step is None:
        raise Forbidden(N_("You may not assign this request."))
    before = current(session, [request.id]).get((request.id, step.org_id))
    deciders = {u.id for u in officers_for(session, request, step, actor.today)}
    backup = (before.backup_id if before and before.backup_id != actor.user.id
              and before.backup_id in deciders else None)
    return assign(session, actor, request_id, officer_id=actor.user.id, backup_id=backup,
                  reason=N_("Claimed"))


def queue(session: Session, flow: Workflow, actor: Actor, rows: list[AccessRequest],
          which: str) -> list[QueueRow]:
    """The queue's rows of a list the reader may see (`queries.list_requests`), with their
    officers, filtered: all, unclaimed, mine (officer or backup), due soon, overdue."""
    if which not in FILTERS:
        raise InvalidInput(N_("No such filter."))
    today = actor.today
    given = current(session, [r.id for r in rows])
    soon = flow.rules.on(today).due_soon_days
    shown = []
    for request in rows:
        step = deciding_step(session, actor.user, request, today)
        assignment = given.get((request.id, step.org_id)) if step else None
        due = request.due_on
        late = flow.calendar.between(due, today) if due and due < today else 0
        near = bool(due and due >= today and flow.calendar.between(today, due) <= soon)
        mine = assignment is not None and actor.user.id in (assignment.officer_id,
                                                            assignment.backup_id)
        if (which == "unclaimed" and assignment is not None) or (which == "mine" and not mine) \
                or (which == "due_soon" and not near) or (which == "overdue" and not late):
            continue
        shown.append(QueueRow(request, assignment, late, near))
    return shown


def bulk(session: Session, flow: Workflow, actor: Actor, action: str,
         request_ids: Sequence[int], *, reason: str, officer_id: int | None = None,
         backup_id: int | None = None) -> list[AccessRequest]:
    """One action on a selection, with one reason for each: every request reassigned, extended
    or returned, or (the first that refuses named) none. Each act is audited as it would be
    alone."""
    if action not in BULK:
        raise InvalidInput(N_("Choose what to do with the selected requests."))
    ids = list(dict.fromkeys(request_ids))
    if not ids:
        raise InvalidInput(N_("Select at least one request."))
    if len(ids) > MOST:
        raise InvalidInput(N_("At most %(most)s requests at once."), most=MOST)
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise InvalidInput(N_("Give the reason for the selected requests (at least 10 "
                              "characters)."))
    acts: dict[str, Callable[[int], object]] = {
        "reassign": lambda rid: assign(session, actor, rid, officer_id=officer_id or 0,
                                       backup_id=backup_id, reason=reason),
        "extend": lambda rid: extend_deadline(session, flow, actor, rid, reason=reason),
        "return": lambda rid: return_for_supplement(session, flow, actor, rid, reason=reason),
    }
    done = []
    for rid in ids:
        try:
            acts[action](rid)
        except (Forbidden, NotFound):
            raise  # a request the actor may not act on (or see) is refused as it is alone
        except DomainError as error:
            number = session.scalar(select(AccessRequest.number).where(AccessRequest.id == rid))
            raise BulkRefused(number or str(rid), error) from error
        done.append(session.get(AccessRequest, rid))
    return done
