"""Access requests (Decree Art. 12): filing, routing, decisions, consent, release, deadlines.

Every state change goes through `_move`: lock the request row, check who may act, fire the
trigger through the table in `workflow.machine`, write the timeline row and the audit entry.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from workflow.audit import chain as audit
from workflow.context import Actor, vn_date
from workflow.enums import (
    Channel,
    ProvisionForm,
    RequestCategory,
    RequestState,
    Role,
    Secrecy,
    StepKind,
    StepOutcome,
    SubjectKind,
    Urgency,
)
from workflow.errors import Conflict, Forbidden, InvalidInput, NotFound
from workflow.i18n import N_
from workflow.models import (
    AccessRequest,
    Notification,
    OrganisationLink,
    Person,
    PersonIdentifier,
    RequestStep,
    RequestTransition,
    User,
    UserRole,
)
from workflow.organisations.scope import subtree_ids
from workflow.records.identifiers import guess_kind, normalise_identifier
from workflow.records.names import search_key
from workflow.requests.machine import fire, rows_for
from workflow.requests.policy import (
    VIEWS,
    can_decide,
    can_file,
    can_fire,
    can_list,
    can_see_cases,
    can_view,
    decider_steps,
    is_requester,
    visible_requests,
)
from workflow.requests.routing import Route, outsider_json, plan_route
from workflow.requests.rules import Rulebook
from workflow.requests.workdays import WorkCalendar
from workflow.security.permissions import can_see_secret

if TYPE_CHECKING:
    from workflow.documents.extracts import ExtractSettings

REFUSAL_REASONS: dict[str, str] = {
    "not_entitled": N_("The requester is not among those who may use the data "
                       "(Decree 121/2017, Art. 12 §2)."),
    "purpose": N_("The stated purpose does not justify access (Decree 121/2017, Art. 3 §3)."),
    "state_secret": N_("The data is a state secret the requester may not receive "
                       "(Law on Protection of State Secrets 29/2018/QH14)."),
    "harms_case": N_("Providing the data would harm the investigation, prosecution or trial "
                     "(Decree 121/2017, Art. 12 §3)."),
    "no_such_data": N_("The database holds no data matching the request."),
    "other": N_("Another reason, stated below."),
}


@dataclass(frozen=True)
class Workflow:
    """The configured rules, calendar and document settings every request operation uses
    (without document settings, decisions issue no written notices: unit tests of the rules)."""

    rules: Rulebook = field(default_factory=Rulebook)
    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    documents: ExtractSettings | None = None


@dataclass
class RequestInput:
    """What a requester fills in."""

    channel: Channel
    subject_kind: SubjectKind
    purpose: str
    legal_basis: str
    provision: ProvisionForm
    categories: list[str]
    urgency: Urgency = Urgency.NORMAL
    identity_number: str | None = None
    subject_name: str | None = None
    subject_birth_date: dt.date | None = None
    statistical_question: str | None = None
    period_from: dt.date | None = None
    period_to: dt.date | None = None
    scan_ref: str | None = None
    on_behalf_of_id: int | None = None


# --- numbering and lookup ------------------------------------------------------------------


def _number(day: dt.date, request_id: int) -> str:
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
    request.shown_route = outsider_json(request.route) if request.cases_hidden else request.route
    return request


# --- filing --------------------------------------------------------------------------------


def _clean(session: Session, actor: Actor, data: RequestInput) -> dict:
    purpose = (data.purpose or "").strip()
    basis = (data.legal_basis or "").strip()
    if len(purpose) < 10:
        raise InvalidInput(N_("State the purpose of the request (at least 10 characters)."))
    if len(purpose) > 2000 or len(basis) > 255:
        raise InvalidInput(N_("The purpose or the legal basis is too long."))
    if not basis:
        raise InvalidInput(N_("State the legal basis of the request."))
    categories = sorted(set(data.categories or []))
    try:
        categories = [RequestCategory(c).value for c in categories]
    except ValueError as error:
        raise InvalidInput(N_("Unknown category of record.")) from error
    if data.period_from and data.period_to and data.period_to < data.period_from:
        raise InvalidInput(N_("The end of the period is before its start."))
    if data.period_from and data.period_from > actor.today:
        raise InvalidInput(N_("The period cannot start in the future."))
    if data.channel is Channel.WRITTEN and not data.scan_ref:
        raise InvalidInput(N_("A written request needs the scan of the signed form."))
    person = None
    question = None
    if data.subject_kind is SubjectKind.PERSON:
        if not categories:
            raise InvalidInput(N_("Choose at least one category of the record."))
        person = _find_subject(session, data)
    else:
        question = (data.statistical_question or "").strip()
        if len(question) < 10:
            raise InvalidInput(N_("State the statistical question (at least 10 characters)."))
        categories = []
    return {"channel": Channel(data.channel), "subject_kind": SubjectKind(data.subject_kind),
            "subject_person": person, "statistical_question": question,
            "categories_json": json.dumps(categories), "period_from": data.period_from,
            "period_to": data.period_to, "purpose": purpose, "legal_basis": basis,
            "provision": ProvisionForm(data.provision), "urgency": Urgency(data.urgency),
            "scan_ref": data.scan_ref}


def _find_subject(session: Session, data: RequestInput) -> Person:
    number = (data.identity_number or "").strip()
    if number:
        kind = guess_kind(number)
        if kind is None:
            raise InvalidInput(N_("The identity number has a wrong shape."))
        person = session.execute(
            select(Person).join(PersonIdentifier).where(
                PersonIdentifier.value == normalise_identifier(kind, number))
        ).scalars().first()
    elif data.subject_name and data.subject_birth_date:
        matches = session.execute(select(Person).where(
            Person.name_key == search_key(data.subject_name),
            Person.birth_date == data.subject_birth_date).limit(2)).scalars().all()
        if len(matches) > 1:
            raise InvalidInput(N_("Several persons have this name and date of birth: give an "
                                  "identity number."))
        person = matches[0] if matches else None
    else:
        raise InvalidInput(N_("Identify the person by identity number, or by full name and "
                              "date of birth."))
    if person is None:
        raise InvalidInput(N_("No detained person matches these identifiers."))
    return person


def _filing(session: Session, actor: Actor, data: RequestInput) -> tuple[dict, int | None]:
    """The checks filing and its preview share: who files, what, and for whom."""
    user = actor.user
    if not can_file(user):
        raise Forbidden(N_("Your role does not allow this."))
    values = _clean(session, actor, data)
    behalf = None
    if user.has_role(Role.DETAINEE):
        behalf = user.person_id
        if values["subject_person"] is None or values["subject_person"].id != behalf:
            raise InvalidInput(N_("From the kiosk you can only ask for your own records."))
    elif data.on_behalf_of_id:
        behalf = _behalf_of(session, actor, data.on_behalf_of_id, values)
    elif not user.has_role(Role.REQUESTER):
        raise Forbidden(N_("A clerk files requests only on behalf of a detained person."))
    return values, behalf


def file_request(session: Session, actor: Actor, data: RequestInput) -> AccessRequest:
    """Save a draft request; a detainee's own request may be filed by their facility's clerk."""
    user = actor.user
    values, behalf = _filing(session, actor, data)
    request = AccessRequest(number=f"YC-tmp-{uuid.uuid4().hex[:24]}", requester_id=user.id,
                            requester_org_id=user.organisation_id, on_behalf_of_id=behalf,
                            created_at=actor.now, updated_at=actor.now, **values)
    session.add(request)
    session.flush()
    request.number = _number(actor.today, request.id)
    session.flush()
    _timeline(session, actor, request, "file", RequestState.DRAFT, RequestState.DRAFT, None, {})
    audit.record(session, actor, "request.file", object_type="request", object_id=request.id,
                 person_id=request.subject_person_id, purpose=request.purpose,
                 details={"number": request.number, "categories": request.categories})
    return request


def _behalf_of(session: Session, actor: Actor, person_id: int, values: dict) -> int:
    from workflow.records.entry import user_scope

    person = session.get(Person, person_id)
    scope = user_scope(session, actor)
    if person is None or not any(scope.covers(e.facility_id) and e.end_date is None
                                 for e in person.episodes):
        raise InvalidInput(N_("You can file only for a person held at your facility."))
    if values["channel"] is not Channel.WRITTEN:
        raise InvalidInput(N_("A request on a detainee's behalf needs their signed form."))
    if values["subject_person"] is None or values["subject_person"].id != person.id:
        raise InvalidInput(N_("A detainee may ask only for their own records."))
    return person.id


def preview_route(session: Session, flow: Workflow, actor: Actor, data: RequestInput) -> Route:
    """What filing this request would need, without saving it: the same checks as filing, and
    audited like a search. Outside the actor's scope it says which bodies will decide and by
    when, not the case, its stage or whether classified documents exist."""
    values, behalf = _filing(session, actor, data)
    person = values["subject_person"]
    route = plan_route(session, flow.rules.on(actor.today), flow.calendar,
                       requester_org=actor.user.organisation, person=person,
                       categories=json.loads(values["categories_json"]),
                       period_from=values["period_from"], period_to=values["period_to"],
                       urgency=values["urgency"], day=actor.today, own_scope=behalf is None)
    audit.record(session, actor, "request.preview", object_type="person",
                 object_id=person.id if person else None,
                 person_id=person.id if person else None, purpose=values["purpose"],
                 details={"direct": route.direct, "steps": len(route.steps)})
    return route if route.direct else route.for_outsider()


# --- moving through the machine ------------------------------------------------------------


def _timeline(session, actor, request, trigger, before, after, reason, details,
              rule_version=None) -> None:
    session.add(RequestTransition(
        request=request, trigger=trigger, from_state=before, to_state=after,
        actor_id=actor.user.id if actor.user else None, at=actor.now, reason=reason,
        rule_version=rule_version or request.rule_version,
        details=json.dumps(details, ensure_ascii=False, default=str, sort_keys=True)))


def _move(session: Session, actor: Actor, request: AccessRequest, trigger: str, *,
          reason: str | None = None, details: dict | None = None,
          authorised: bool = False) -> None:
    # `authorised`: the caller checked `may_fire` before changing the steps the check reads,
    # or fires a system row (routing, expiry) that no user can fire.
    if not authorised and not can_fire(session, actor, request, trigger):
        raise Forbidden(N_("You may not do this to this request."))
    before, after = fire(request, trigger)
    request.version += 1
    request.updated_at = actor.now
    _timeline(session, actor, request, trigger, before, after, reason, details or {})
    audit.record(session, actor, f"request.{trigger}", object_type="request",
                 object_id=request.id, person_id=request.subject_person_id,
                 purpose=reason, details={"from": before.value, "to": after.value,
                                          "rule_version": request.rule_version,
                                          **(details or {})})
    session.flush()


def _require_state(request: AccessRequest, trigger: str) -> None:
    if not rows_for(trigger, request.state):
        raise Conflict(N_("This action is not possible while the request is %(state)s."),
                       state=request.state.label)


def _route(session: Session, flow: Workflow, actor: Actor, request: AccessRequest,
           days_left: int | None = None) -> None:
    rules = flow.rules.on(actor.today)
    route = plan_route(session, rules, flow.calendar, requester_org=request.requester_org,
                       person=request.subject_person, categories=request.categories,
                       period_from=request.period_from, period_to=request.period_to,
                       urgency=request.urgency, day=actor.today,
                       own_scope=request.on_behalf_of_id is None)
    round_no = max((s.round for s in request.steps), default=0) + 1
    for step in request.open_steps():
        step.outcome, step.decided_at = StepOutcome.VOID, actor.now
    due = route.due
    if days_left is not None and due is not None:
        # Resubmitted after a return: the clock resumes with the days that were left.
        due = flow.calendar.add(actor.today, max(days_left, 1))
    for planned in route.steps:
        step_due = planned.due.due if planned.due else None
        if days_left is not None and due is not None:
            step_due = due.due
        session.add(RequestStep(request=request, round=round_no, kind=planned.kind,
                                org_id=planned.org_id, case_id=planned.case_id,
                                due_on=step_due, rule_version=rules.version))
    request.rule_version = rules.version
    request.route_json = json.dumps(route.as_json(), ensure_ascii=False)
    request.due_on = due.due if due else None
    deadline = _deadline_json(due, rules.version)
    if days_left is not None:
        deadline["resumed_with"] = days_left
    request.deadline_json = json.dumps(deadline, ensure_ascii=False)
    request.due_soon_notified = request.overdue_notified = False
    session.flush()
    session.refresh(request, ["steps"])
    _move(session, actor, request, "route", authorised=True,
          details={"direct": route.direct, "steps": len(route.steps)})
    for step in request.open_steps():
        _notify_org(session, step.org_id, request, "new_task",
                    Role.APPROVER if step.kind is StepKind.APPROVAL else Role.CONSENT_OFFICER)
    if request.state is RequestState.APPROVED:
        _notify(session, request.requester_id, request, "decision")


def _deadline_json(due, version: str) -> dict:
    if due is None:
        return {"rule_version": version}
    return {"rule_version": version, "start": due.start.isoformat(),
            "working_days": due.working_days, "due": due.due.isoformat(),
            "skipped": [{"day": s.day.isoformat(), "reason": s.reason} for s in due.skipped]}


def submit(session: Session, flow: Workflow, actor: Actor, request_id: int, *,
           expected_version: int | None = None) -> AccessRequest:
    """Submit a draft (or resubmit a returned request); the policy then routes it."""
    request = open_request(session, actor, request_id, expected_version)
    if not is_requester(actor.user, request):
        raise Forbidden(N_("You may not do this to this request."))
    trigger = "resubmit" if request.state is RequestState.RETURNED else "submit"
    _require_state(request, trigger)
    days_left = None
    if trigger == "resubmit":
        request.paused_at = None
        days_left = request.deadline.get("days_left")
    else:
        request.submitted_at = actor.now
    _move(session, actor, request, trigger)
    _route(session, flow, actor, request, days_left)
    return request


def _decide(session: Session, actor: Actor, request_id: int, kind: StepKind,
            trigger: str, expected_version: int | None
            ) -> tuple[AccessRequest, list[RequestStep]]:
    request = open_request(session, actor, request_id, expected_version)
    _require_state(request, trigger)
    steps = decider_steps(session, actor.user, request, kind, actor.today)
    if not steps or not can_fire(session, actor, request, trigger):
        raise Forbidden(N_("You may not decide on this request."))
    return request, steps


def _close_step(step: RequestStep, actor: Actor, outcome: StepOutcome, **values) -> None:
    step.outcome, step.decided_at = outcome, actor.now
    step.decided_by_id = actor.user.id if actor.user else None
    for key, value in values.items():
        setattr(step, key, value)


def _granted(request: AccessRequest, categories: list[str] | None, start, end) -> dict:
    asked = set(request.categories)
    granted = sorted(set(categories)) if categories is not None else sorted(asked)
    if not set(granted) <= asked:
        raise InvalidInput(N_("You can grant only categories that were asked for."))
    if request.subject_kind is SubjectKind.PERSON and not granted:
        raise InvalidInput(N_("Grant at least one category, or refuse the request."))
    if start and request.period_from and start < request.period_from:
        raise InvalidInput(N_("The period granted cannot be wider than the period asked."))
    if end and request.period_to and end > request.period_to:
        raise InvalidInput(N_("The period granted cannot be wider than the period asked."))
    if start and end and end < start:
        raise InvalidInput(N_("The end of the period is before its start."))
    return {"granted_json": json.dumps(granted), "granted_from": start or request.period_from,
            "granted_to": end or request.period_to}


def approve(session: Session, actor: Actor, request_id: int, *,
            categories: list[str] | None = None, period_from: dt.date | None = None,
            period_to: dt.date | None = None, note: str | None = None,
            expected_version: int | None = None) -> AccessRequest:
    """Approve, possibly narrower than asked; the approver needs the route's clearance."""
    request, steps = _decide(session, actor, request_id, StepKind.APPROVAL, "approve",
                             expected_version)
    needed = Secrecy(request.route.get("secrecy", "none"))
    assert actor.user is not None
    if not can_see_secret(actor.user, needed):
        raise Forbidden(N_("Approving this request needs a clearance of %(level)s."),
                        level=needed.label)
    values = _granted(request, categories, period_from, period_to)
    for step in steps:
        _close_step(step, actor, StepOutcome.GRANTED, reason_text=note,
                    rule_version=request.rule_version, **values)
    _move(session, actor, request, "approve", authorised=True, reason=note,
          details={"granted": json.loads(values["granted_json"])})
    _notify(session, request.requester_id, request, "decision")
    return request


def refuse(session: Session, flow: Workflow, actor: Actor, request_id: int, *,
           reason_code: str, text: str | None = None,
           expected_version: int | None = None) -> AccessRequest:
    """Refuse in writing, with a reason from the catalogue (and free text for 'other'); the
    refusal notice is issued with it."""
    return _refuse(session, flow, actor, request_id, StepKind.APPROVAL, "refuse", reason_code,
                   text, expected_version)


def _refuse(session: Session, flow: Workflow, actor: Actor, request_id: int, kind: StepKind,
            trigger: str, reason_code: str, text: str | None,
            expected_version: int | None) -> AccessRequest:
    request, steps = _decide(session, actor, request_id, kind, trigger, expected_version)
    reason_text = _refusal(reason_code, text)
    for step in steps:
        _close_step(step, actor, StepOutcome.REFUSED, reason_code=reason_code,
                    reason_text=reason_text, rule_version=request.rule_version)
    _void_open(request, actor)
    _move(session, actor, request, trigger, authorised=True, reason=reason_text,
          details={"reason_code": reason_code})
    _notify(session, request.requester_id, request, "decision")
    _issue_notices(session, flow, actor, request)
    return request


def _issue_notices(session: Session, flow: Workflow, actor: Actor,
                   request: AccessRequest) -> None:
    # The written notice of a decision belongs to the decision (Access to Information Law:
    # a refusal is in writing): issued in the same transaction, whatever surface decided.
    if flow.documents is not None:
        from workflow.documents import extracts

        extracts.issue_letters(session, flow.documents, actor, request.id)


def _refusal(code: str, text: str | None) -> str | None:
    if code not in REFUSAL_REASONS:
        raise InvalidInput(N_("Choose a reason from the list."))
    text = (text or "").strip() or None
    if code == "other" and (text is None or len(text) < 10):
        raise InvalidInput(N_("Explain the reason (at least 10 characters)."))
    if text and len(text) > 2000:
        raise InvalidInput(N_("The explanation is longer than 2000 characters."))
    return text


def _void_open(request: AccessRequest, actor: Actor) -> None:
    for step in request.open_steps():
        step.outcome, step.decided_at = StepOutcome.VOID, actor.now


def grant_consent(session: Session, flow: Workflow, actor: Actor, request_id: int, *,
                  letter_ref: str, categories: list[str] | None = None,
                  expires_on: dt.date | None = None, note: str | None = None,
                  letter_scan: str | None = None,
                  expected_version: int | None = None) -> AccessRequest:
    """Give the handling body's written consent: the letter's number is required, its scan may
    be attached; the consent letter is issued with it."""
    request, steps = _decide(session, actor, request_id, StepKind.CONSENT, "grant_consent",
                             expected_version)
    letter_ref = (letter_ref or "").strip()
    if not letter_ref or len(letter_ref) > 255:
        raise InvalidInput(N_("Give the number of the written consent."))
    if expires_on is not None and expires_on <= actor.today:
        raise InvalidInput(N_("The consent must be valid beyond today."))
    values = _granted(request, categories, None, None)
    for step in steps:
        _close_step(step, actor, StepOutcome.GRANTED, letter_ref=letter_ref,
                    letter_scan=letter_scan, expires_on=expires_on, reason_text=note,
                    rule_version=request.rule_version, granted_json=values["granted_json"])
    _move(session, actor, request, "grant_consent", authorised=True, reason=note,
          details={"letter_ref": letter_ref, "expires_on": expires_on})
    if request.state is RequestState.APPROVED:
        _notify(session, request.requester_id, request, "decision")
    else:
        _notify(session, request.requester_id, request, "consent")
    _issue_notices(session, flow, actor, request)
    return request


def refuse_consent(session: Session, flow: Workflow, actor: Actor, request_id: int, *,
                   reason_code: str, text: str | None = None,
                   expected_version: int | None = None) -> AccessRequest:
    """Refuse consent; the request is refused (with the written notice)."""
    return _refuse(session, flow, actor, request_id, StepKind.CONSENT, "refuse_consent",
                   reason_code, text, expected_version)


def return_for_supplement(session: Session, flow: Workflow, actor: Actor, request_id: int,
                          *, reason: str, expected_version: int | None = None
                          ) -> AccessRequest:
    """Send the request back to the requester (with the written notice); its clock pauses
    until it is resubmitted."""
    request = open_request(session, actor, request_id, expected_version)
    _require_state(request, "return_for_supplement")
    if not can_fire(session, actor, request, "return_for_supplement"):
        raise Forbidden(N_("You may not decide on this request."))
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise InvalidInput(N_("Say what must be supplemented (at least 10 characters)."))
    request.paused_at = actor.now
    if request.due_on is not None:
        # The clock stops: remember how many working days were left.
        deadline = request.deadline | {
            "days_left": flow.calendar.between(actor.today, request.due_on)}
        request.deadline_json = json.dumps(deadline, ensure_ascii=False)
    _move(session, actor, request, "return_for_supplement", reason=reason, authorised=True)
    _notify(session, request.requester_id, request, "returned")
    _issue_notices(session, flow, actor, request)
    return request


def withdraw(session: Session, actor: Actor, request_id: int, *,
             reason: str | None = None, expected_version: int | None = None) -> AccessRequest:
    """The requester withdraws the request."""
    request = open_request(session, actor, request_id, expected_version)
    if not is_requester(actor.user, request):
        raise Forbidden(N_("You may not do this to this request."))
    _require_state(request, "withdraw")
    _void_open(request, actor)
    _move(session, actor, request, "withdraw", reason=(reason or "").strip() or None)
    return request


def release(session: Session, flow: Workflow, actor: Actor, request_id: int, *,
            expected_version: int | None = None) -> AccessRequest:
    """Release the approved data; first check the case stage again (Art. 12 §3)."""
    request = open_request(session, actor, request_id, expected_version)
    _require_state(request, "release")
    if not can_fire(session, actor, request, "release"):
        raise Forbidden(N_("You may not release this request."))
    if _needs_new_consent(session, flow, actor, request):
        _move(session, actor, request, "recheck",
              reason="case stage changed since the decision")
        for step in request.open_steps(StepKind.CONSENT):
            _notify_org(session, step.org_id, request, "new_task", Role.CONSENT_OFFICER)
        return request
    _move(session, actor, request, "release")
    _notify(session, request.requester_id, request, "released")
    return request


def _needs_new_consent(session, flow, actor, request) -> bool:
    """Add consent steps for handling bodies whose consent the request lacks today."""
    if request.subject_person is None:
        return False
    rules = flow.rules.on(actor.today)
    route = plan_route(session, rules, flow.calendar, requester_org=request.requester_org,
                       person=request.subject_person, categories=request.categories,
                       period_from=request.period_from, period_to=request.period_to,
                       urgency=request.urgency, day=actor.today,
                       own_scope=request.on_behalf_of_id is None)
    have = {(s.org_id, s.case_id) for s in request.steps if s.kind is StepKind.CONSENT
            and s.outcome is StepOutcome.GRANTED
            and (s.expires_on is None or s.expires_on > actor.today)}
    round_no = max((s.round for s in request.steps), default=0) + 1
    missing = [p for p in route.steps if p.kind is StepKind.CONSENT
               and (p.org_id, p.case_id) not in have]
    for planned in missing:
        session.add(RequestStep(request=request, round=round_no, kind=StepKind.CONSENT,
                                org_id=planned.org_id, case_id=planned.case_id,
                                due_on=planned.due.due if planned.due else None,
                                rule_version=rules.version))
    if missing:
        session.flush()
        session.refresh(request, ["steps"])
    return bool(missing)


def close(session: Session, actor: Actor, request_id: int, *,
          expected_version: int | None = None) -> AccessRequest:
    """The requester closes a released request."""
    request = open_request(session, actor, request_id, expected_version)
    if not is_requester(actor.user, request):
        raise Forbidden(N_("You may not do this to this request."))
    _require_state(request, "close")
    _move(session, actor, request, "close")
    return request


# --- inbox ---------------------------------------------------------------------------------


def _notify(session: Session, user_id: int, request: AccessRequest, kind: str) -> None:
    session.add(Notification(user_id=user_id, request=request, kind=kind))


def _notify_org(session: Session, org_id: int, request: AccessRequest, kind: str,
                role: Role) -> None:
    users = session.execute(select(User.id).join(UserRole).where(
        User.organisation_id == org_id, User.active.is_(True), UserRole.role == role)
    ).scalars().all()
    for user_id in users:
        _notify(session, user_id, request, kind)


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
    _timeline(session, actor, request, "extend", request.state, request.state, reason,
              {"due": due.due})
    audit.record(session, actor, "request.extend", object_type="request", object_id=request.id,
                 person_id=request.subject_person_id, purpose=reason,
                 details={"due": due.due})
    _notify(session, request.requester_id, request, "extended")
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
                parent = _parent_body(session, step.org_id, today)
                if parent is not None:
                    _notify_org(session, parent, request, "escalated", Role.APPROVER)
                    report.escalated.append(request.number)
            _system_note(session, actor, request, "overdue", {"due": request.due_on})
        elif (today <= request.due_on and left <= rules.due_soon_days
              and not request.due_soon_notified):
            request.due_soon_notified = True
            report.due_soon.append(request.number)
            for step in request.open_steps():
                _notify_assignees(session, step, request, "due_soon")
            _system_note(session, actor, request, "due_soon", {"due": request.due_on})
    returned = (select(AccessRequest).where(AccessRequest.state == RequestState.RETURNED)
                .order_by(AccessRequest.id).with_for_update(skip_locked=True, key_share=True))
    for request in session.execute(returned).scalars():
        rules = flow.rules.on(today)
        paused = vn_date(request.paused_at)
        if flow.calendar.between(paused, today) > rules.supplement_days:
            _void_open(request, actor)
            _move(session, actor, request, "expire", authorised=True,
                  reason="not supplemented in time")
            _notify(session, request.requester_id, request, "expired")
            report.expired.append(request.number)
    session.flush()
    return report


def _notify_assignees(session: Session, step: RequestStep, request: AccessRequest,
                      kind: str) -> None:
    role = Role.APPROVER if step.kind is StepKind.APPROVAL else Role.CONSENT_OFFICER
    _notify_org(session, step.org_id, request, kind, role)


def _parent_body(session: Session, org_id: int, day: dt.date) -> int | None:
    return session.execute(select(OrganisationLink.parent_id).where(
        OrganisationLink.organisation_id == org_id, OrganisationLink.valid_from <= day,
        OrganisationLink.valid_to.is_(None) | (OrganisationLink.valid_to > day))
    ).scalars().first()


def _system_note(session: Session, actor: Actor, request: AccessRequest, what: str,
                 details: dict) -> None:
    _timeline(session, actor, request, what, request.state, request.state, None, details)
    audit.record(session, actor, f"request.{what}", object_type="request",
                 object_id=request.id, details={k: str(v) for k, v in details.items()})


# --- lists and inbox -----------------------------------------------------------------------

def list_requests(session: Session, actor: Actor, view: str, *,
                  state: RequestState | None = None, urgency: Urgency | None = None,
                  limit: int = 100) -> list[AccessRequest]:
    """A dashboard list: my requests, awaiting my decision or consent, overdue in my body; each
    only of the requests the user may open (`visible_requests`)."""
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
        stmt = stmt.where(AccessRequest.state.in_(waiting), AccessRequest.due_on < actor.today,
                          AccessRequest.id.in_(on_route)
                          | AccessRequest.requester_org_id.in_(sorted(orgs))).order_by(
            AccessRequest.due_on, AccessRequest.id)
    if state is not None:
        stmt = stmt.where(AccessRequest.state == state)
    if urgency is not None:
        stmt = stmt.where(AccessRequest.urgency == urgency)
    stmt = stmt.options(selectinload(AccessRequest.subject_person),
                        selectinload(AccessRequest.requester_org),
                        selectinload(AccessRequest.steps))
    rows = [_as_seen(session, actor, r) for r in session.execute(stmt.limit(limit)).scalars()]
    audit.record(session, actor, "request.list", details={"view": view, "count": len(rows)})
    return rows


def inbox(session: Session, actor: Actor, limit: int = 100) -> list[Notification]:
    """The user's notifications, unread first, newest first (the read is audited: the
    notifications name requests and persons)."""
    assert actor.user is not None
    items = list(session.execute(
        select(Notification).where(Notification.user_id == actor.user.id)
        .order_by(Notification.read_at.is_not(None), Notification.id.desc()).limit(limit)
    ).scalars())
    audit.record(session, actor, "request.inbox", details={"count": len(items)})
    return items


def unread_count(session: Session, user: User) -> int:
    """How many notifications the user has not read."""
    return session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


def mark_read(session: Session, actor: Actor) -> int:
    """Mark all of the user's notifications read; returns how many."""
    assert actor.user is not None
    items = session.execute(select(Notification).where(
        Notification.user_id == actor.user.id, Notification.read_at.is_(None))).scalars().all()
    for item in items:
        item.read_at = actor.now
    return len(items)
