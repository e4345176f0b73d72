"""The decisions on a request's route (Decree 121/2017 Art. 12 §3): approve, refuse, consent or
refuse it, return for supplement, withdraw, release and close; each issues its own notices."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy.orm import Session

from workflow.context import Actor
from workflow.enums import Role, Secrecy
from workflow.errors import Conflict, Forbidden, InvalidInput
from workflow.i18n import N_
from workflow.models import (
    AccessRequest,
    RequestStep,
)
from workflow.organisations.scope import subtree_ids
from workflow.requests.enums import RequestState, StepKind, StepOutcome, SubjectKind
from workflow.requests.inbox import notify, notify_org
from workflow.requests.kernel import (
    Workflow,
    deadline_json,
    move,
    open_request,
    require_state,
    route_now,
)
from workflow.requests.policy import (
    can_fire,
    current_approvals,
    decider_steps,
    is_requester,
    require_signer,
)
from workflow.requests.requesters import standing_refusal
from workflow.requests.routing import PlannedStep
from workflow.security.permissions import can_see_secret

REFUSAL_REASONS: dict[str, str] = {
    "not_entitled": N_("The requester is not among those who may use the data "
                       "(Decree 121/2017, Art. 12 §2)."),
    "purpose": N_("The stated purpose does not justify access (Decree 121/2017, Art. 3 §3)."),
    "state_secret": N_("The data is a state secret the requester may not receive "
                       "(Law on Protection of State Secrets 117/2025/QH15)."),
    "harms_case": N_("Providing the data would harm the investigation, prosecution or trial "
                     "(Decree 121/2017, Art. 12 §3)."),
    "no_such_data": N_("The database holds no data matching the request."),
    "other": N_("Another reason, stated below."),
}


def _decide(session: Session, actor: Actor, request_id: int, kind: StepKind,
            trigger: str, expected_version: int | None
            ) -> tuple[AccessRequest, list[RequestStep]]:
    request = open_request(session, actor, request_id, expected_version)
    require_state(request, trigger)
    steps = decider_steps(session, actor.user, request, kind, actor.today)
    if not steps or not can_fire(session, actor, request, trigger):
        raise Forbidden(N_("You may not decide on this request."))
    require_signer(actor.user)
    return request, steps


def _close_step(step: RequestStep, actor: Actor, outcome: StepOutcome, **values) -> None:
    step.outcome, step.decided_at = outcome, actor.now
    # The object, not only its id: the decision's letter is signed by `decided_by` in this
    # same transaction, before a reload would fill the relationship in.
    step.decided_by = actor.user
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
    _requester_stands(request, actor)
    needed = Secrecy(request.route.get("secrecy", "none"))
    assert actor.user is not None
    if not can_see_secret(actor.user, needed):
        raise Forbidden(N_("Approving this request needs a clearance of %(level)s."),
                        level=needed.label)
    values = _granted(request, categories, period_from, period_to)
    for step in steps:
        _close_step(step, actor, StepOutcome.GRANTED, reason_text=note,
                    rule_version=request.rule_version, **values)
    move(session, actor, request, "approve", authorised=True, reason=note,
          details={"granted": json.loads(values["granted_json"])})
    notify(session, request.requester_id, request, "decision")
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
    void_open_steps(request, actor)
    move(session, actor, request, trigger, authorised=True, reason=reason_text,
          details={"reason_code": reason_code})
    notify(session, request.requester_id, request, "decision")
    _issue_notices(session, flow, actor, request)
    return request


def _issue_notices(session: Session, flow: Workflow, actor: Actor,
                   request: AccessRequest) -> None:
    # The written notice of a decision belongs to the decision (Access to Information Law:
    # a refusal is in writing): issued in the same transaction, whatever surface decided.
    if flow.notices is not None:
        flow.notices(session, actor, request.id)


def _refusal(code: str, text: str | None) -> str | None:
    if code not in REFUSAL_REASONS:
        raise InvalidInput(N_("Choose a reason from the list."))
    text = (text or "").strip() or None
    if code == "other" and (text is None or len(text) < 10):
        raise InvalidInput(N_("Explain the reason (at least 10 characters)."))
    if text and len(text) > 2000:
        raise InvalidInput(N_("The explanation is longer than 2000 characters."))
    return text


def _requester_stands(request: AccessRequest, actor: Actor) -> None:
    """Nothing is granted or released to a requester outside the state whose vouching was
    withdrawn, or whose mandate for the person is over (a lapsed one withdraws nothing)."""
    refusal = standing_refusal(request, actor.today)
    if refusal is not None:
        raise Conflict(refusal)


def void_open_steps(request: AccessRequest, actor: Actor) -> None:
    for step in request.open_steps():
        step.outcome, step.decided_at = StepOutcome.VOID, actor.now


def grant_consent(session: Session, flow: Workflow, actor: Actor, request_id: int, *,
                  letter_ref: str | None = None, categories: list[str] | None = None,
                  expires_on: dt.date | None = None, note: str | None = None,
                  letter_scan: str | None = None,
                  expected_version: int | None = None) -> AccessRequest:
    """Give the handling body's written consent. One act, one number: given here, the consent
    is the công văn the system issues in the body's register; written on paper instead, it is
    recorded by that letter's number (and its scan) and the system issues no second letter."""
    request, steps = _decide(session, actor, request_id, StepKind.CONSENT, "grant_consent",
                             expected_version)
    _requester_stands(request, actor)
    letter_ref = (letter_ref or "").strip() or None
    if letter_ref is None and letter_scan:
        raise InvalidInput(N_("Give the number of the written consent."))
    if letter_ref is not None and len(letter_ref) > 255:
        raise InvalidInput(N_("The number of the paper letter is at most 255 characters."))
    if expires_on is not None and expires_on <= actor.today:
        raise InvalidInput(N_("The consent must be valid beyond today."))
    values = _granted(request, categories, None, None)
    for step in steps:
        _close_step(step, actor, StepOutcome.GRANTED, letter_ref=letter_ref,
                    letter_scan=letter_scan, expires_on=expires_on, reason_text=note,
                    rule_version=request.rule_version, granted_json=values["granted_json"])
    move(session, actor, request, "grant_consent", authorised=True, reason=note,
          details={"letter_ref": letter_ref, "expires_on": expires_on})
    if request.state is RequestState.APPROVED:
        notify(session, request.requester_id, request, "decision")
    else:
        notify(session, request.requester_id, request, "consent")
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
    require_state(request, "return_for_supplement")
    if not can_fire(session, actor, request, "return_for_supplement"):
        raise Forbidden(N_("You may not decide on this request."))
    require_signer(actor.user)
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise InvalidInput(N_("Say what must be supplemented (at least 10 characters)."))
    move(session, actor, request, "return_for_supplement", reason=reason, authorised=True)
    notify(session, request.requester_id, request, "returned")
    _issue_notices(session, flow, actor, request)
    return request


def withdraw(session: Session, actor: Actor, request_id: int, *,
             reason: str | None = None, expected_version: int | None = None) -> AccessRequest:
    """The requester withdraws the request."""
    request = open_request(session, actor, request_id, expected_version)
    if not is_requester(actor.user, request):
        raise Forbidden(N_("You may not do this to this request."))
    require_state(request, "withdraw")
    void_open_steps(request, actor)
    move(session, actor, request, "withdraw", reason=(reason or "").strip() or None)
    return request


def release(session: Session, flow: Workflow, actor: Actor, request_id: int, *,
            expected_version: int | None = None) -> AccessRequest:
    """Release the approved data; first check the case stage again (Art. 12 §3)."""
    request = open_request(session, actor, request_id, expected_version)
    require_state(request, "release")
    if not can_fire(session, actor, request, "release"):
        raise Forbidden(N_("You may not release this request."))
    _requester_stands(request, actor)
    new_body = _moved_to(session, flow, actor, request)
    if new_body is not None:
        _reroute(session, flow, actor, request, new_body)
        return request
    if _needs_new_consent(session, flow, actor, request):
        move(session, actor, request, "recheck",
              reason="case stage changed since the decision")
        for step in request.open_steps(StepKind.CONSENT):
            notify_org(session, step.org_id, request, "new_task", Role.CONSENT_OFFICER)
        return request
    move(session, actor, request, "release")
    notify(session, request.requester_id, request, "released")
    return request


def _moved_to(session: Session, flow: Workflow, actor: Actor,
              request: AccessRequest) -> PlannedStep | None:
    """The approval today's route asks of a body the current approval does not cover (the
    person moved, or their facility came under another managing body, since the decision),
    or None: the approving body, or one under it, still manages the data."""
    if request.subject_person is None:
        return None
    route = route_now(session, flow, actor, request)
    granted = [s for s in current_approvals(request) if s.outcome is StepOutcome.GRANTED]
    for planned in route.steps:
        if planned.kind is StepKind.APPROVAL and not any(
                planned.org_id in subtree_ids(session, s.org_id, actor.today) for s in granted):
            return planned
    return None


def _reroute(session: Session, flow: Workflow, actor: Actor, request: AccessRequest,
             planned: PlannedStep) -> None:
    """Send the request to the body that manages the data now, for a fresh decision (with the
    consents the case needs today); the earlier approval stays in the history."""
    before = [s.org.name for s in current_approvals(request)]
    round_no = max((s.round for s in request.steps), default=0) + 1
    session.add(RequestStep(request=request, round=round_no, kind=StepKind.APPROVAL,
                            org_id=planned.org_id, due_on=planned.due.due if planned.due
                            else None, rule_version=flow.rules.on(actor.today).version))
    session.flush()
    session.refresh(request, ["steps"])
    _needs_new_consent(session, flow, actor, request)
    if planned.due is not None:
        request.due_on = planned.due.due
        request.deadline_json = json.dumps(
            deadline_json(flow, planned.due, flow.rules.on(actor.today).version),
            ensure_ascii=False)
    move(session, actor, request, "reroute", authorised=True,
         reason=f"Dữ liệu nay thuộc phạm vi quản lý của {planned.org_name}: chuyển để cơ quan "
                "này quyết định lại (khoản 3 Điều 12 Nghị định 121/2017/NĐ-CP).",
         details={"approved_by": before, "now_managed_by": planned.org_name})
    for step in request.open_steps():
        notify_org(session, step.org_id, request, "new_task",
                   Role.APPROVER if step.kind is StepKind.APPROVAL else Role.CONSENT_OFFICER)


def _needs_new_consent(session, flow, actor, request) -> bool:
    """Add consent steps for handling bodies whose consent the request lacks today."""
    if request.subject_person is None:
        return False
    route = route_now(session, flow, actor, request)
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
                                rule_version=route.rule_version))
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
    require_state(request, "close")
    move(session, actor, request, "close")
    return request
