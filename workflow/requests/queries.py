"""Reading requests: one request as its reader may see it, and the dashboard lists, filtered by
the same rule as the single read."""

from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from workflow.audit import chain as audit
from workflow.context import Actor
from workflow.enums import Role
from workflow.errors import Forbidden, NotFound
from workflow.i18n import N_
from workflow.models import (
    AccessRequest,
    RequestStep,
    RequestTransition,
    User,
)
from workflow.organisations.scope import subtree_ids
from workflow.requests.enums import RequestState, StepKind, StepOutcome, Urgency
from workflow.requests.policy import (
    VIEWS,
    can_list,
    can_see_cases,
    can_view,
    visible_requests,
)
from workflow.requests.routing import outsider_json


def get_request(session: Session, actor: Actor, request_id: int) -> AccessRequest:
    """A request the user may see, audited; 404 otherwise."""
    assert actor.user is not None
    # What the request page shows, in one query plus one per list (not one per attribute).
    request = session.get(AccessRequest, request_id, options=[
        joinedload(AccessRequest.requester).lazyload(User.role_rows),
        joinedload(AccessRequest.requester_org), joinedload(AccessRequest.subject_person),
        joinedload(AccessRequest.on_behalf_of),
        selectinload(AccessRequest.steps).options(
            joinedload(RequestStep.org), joinedload(RequestStep.case),
            joinedload(RequestStep.decided_by).lazyload(User.role_rows)),
        selectinload(AccessRequest.transitions).joinedload(RequestTransition.actor).lazyload(
            User.role_rows)])
    if request is None or not can_view(session, actor.user, request, actor.today):
        raise NotFound(N_("No such request."))
    audit.record(session, actor, "request.view", object_type="request", object_id=request.id,
                 person_id=request.subject_person_id)
    return _as_seen(session, actor, request)


def _as_seen(session: Session, actor: Actor, request: AccessRequest) -> AccessRequest:
    """Mark what of the request's route its reader may see (request_policy.can_see_cases)."""
    request.cases_hidden = not can_see_cases(session, actor.user, request, actor.today)
    route = request.route  # parsed from its JSON at each read: once here
    request.shown_route = outsider_json(route) if request.cases_hidden else route
    return request


# --- lists and inbox -----------------------------------------------------------------------

def list_requests(session: Session, actor: Actor, view: str, *,
                  state: RequestState | None = None, urgency: Urgency | None = None,
                  limit: int = 100) -> list[AccessRequest]:
    """A dashboard list: my requests, awaiting my decision or consent, overdue in my body; each
    only of the requests the user may open (`visible_requests`)."""
    stmt = _listed(session, actor, view, state=state, urgency=urgency)
    rows = [_as_seen(session, actor, r) for r in session.execute(stmt.limit(limit)).scalars()]
    audit.record(session, actor, "request.list", details={"view": view, "count": len(rows)})
    return rows


def page_of_requests(session: Session, actor: Actor, view: str, *, page: int, size: int,
                     state: RequestState | None = None, reference: str | None = None
                     ) -> tuple[list[AccessRequest], int]:
    """One page of a list (the API's), optionally only the requests carrying the requester's
    own reference, and how many the whole list holds; the same lists and rule as the pages'."""
    stmt = _listed(session, actor, view, state=state, reference=reference)
    total = session.scalar(select(func.count()).select_from(
        stmt.order_by(None).options().subquery())) or 0
    skipped = (page - 1) * size
    rows = [] if skipped >= total else [_as_seen(session, actor, r) for r in session.execute(
        stmt.offset(skipped).limit(size)).scalars()]
    audit.record(session, actor, "request.list", details={
        "view": view, "count": len(rows), "page": page, "total": total})
    return rows, total


def _listed(session: Session, actor: Actor, view: str, *, state: RequestState | None = None,
            urgency: Urgency | None = None, reference: str | None = None) -> Select:
    """The query of a list, each request one the user may open; 404/403 for a list that is
    not one or not theirs."""
    user = actor.user
    if view not in VIEWS:
        raise NotFound(N_("No such list."))
    if not can_list(user, view):
        raise Forbidden(N_("Your role does not allow this."))
    stmt = select(AccessRequest).where(visible_requests(session, user, actor.today))
    waiting = (RequestState.AWAITING_APPROVAL, RequestState.AWAITING_CONSENT)
    if view == "mine":
        stmt = stmt.where(AccessRequest.requester_id == user.id).order_by(
            AccessRequest.id.desc())
    elif view in ("approval", "consent"):
        kind = StepKind.APPROVAL if view == "approval" else StepKind.CONSENT
        orgs = (subtree_ids(session, user.organisation_id, actor.today) if view == "approval"
                else {user.organisation_id})
        pending = select(RequestStep.request_id).where(
            RequestStep.kind == kind, RequestStep.outcome == StepOutcome.PENDING,
            RequestStep.org_id.in_(sorted(orgs)))
        stmt = stmt.where(AccessRequest.id.in_(pending), AccessRequest.state.in_(waiting),
                          AccessRequest.requester_id != user.id).order_by(
            AccessRequest.due_on, AccessRequest.id)
    else:
        orgs = subtree_ids(session, user.organisation_id, actor.today)
        on_route = select(RequestStep.request_id).where(
            RequestStep.outcome == StepOutcome.PENDING, RequestStep.org_id.in_(sorted(orgs)))
        # `clock.is_overdue` as SQL: a stopped clock is not overdue.
        stmt = stmt.where(AccessRequest.state.in_(waiting), AccessRequest.due_on < actor.today,
                          AccessRequest.paused_at.is_(None),
                          AccessRequest.id.in_(on_route)
                          | AccessRequest.requester_org_id.in_(sorted(orgs))).order_by(
            AccessRequest.due_on, AccessRequest.id)
    if state is not None:
        stmt = stmt.where(AccessRequest.state == state)
    if urgency is not None:
        stmt = stmt.where(AccessRequest.urgency == urgency)
    if reference is not None:
        stmt = stmt.where(AccessRequest.requester_reference == reference)
    return stmt.options(selectinload(AccessRequest.subject_person),
                        selectinload(AccessRequest.requester_org),
                        selectinload(AccessRequest.steps))


# --- a detained person's own requests (the kiosk) ------------------------------------------


def _own_filter(user: User):
    return (AccessRequest.requester_id == user.id) | (
        AccessRequest.on_behalf_of_id == user.person_id)


def _require_own_reader(actor: Actor) -> User:
    user = actor.user
    if not can_view_own(user):
        raise Forbidden(N_("Your role does not allow this."))
    return user


def can_view_own(user: User | None) -> bool:
    """A detained person's account, which sees only the requests filed by or for them."""
    return (user is not None and user.active and user.locked_at is None
            and user.has_role(Role.DETAINEE) and user.person_id is not None)


def own_requests(session: Session, actor: Actor) -> list[AccessRequest]:
    """The requests a detained person filed at the kiosk or a clerk filed on their behalf,
    newest first; audited."""
    user = _require_own_reader(actor)
    rows = list(session.scalars(select(AccessRequest).where(_own_filter(user))
                                .order_by(AccessRequest.id.desc()).limit(100)))
    audit.record(session, actor, "request.list", person_id=user.person_id,
                 details={"view": "own", "count": len(rows)})
    return rows


def own_request(session: Session, actor: Actor, request_id: int) -> AccessRequest:
    """One of the person's own requests with its transitions, audited; 404 for any other."""
    user = _require_own_reader(actor)
    request = session.execute(select(AccessRequest).where(
        AccessRequest.id == request_id, _own_filter(user)).options(
        selectinload(AccessRequest.transitions))).scalar_one_or_none()
    if request is None:
        raise NotFound(N_("No such request."))
    audit.record(session, actor, "request.view", object_type="request", object_id=request.id,
                 person_id=user.person_id)
    return request
