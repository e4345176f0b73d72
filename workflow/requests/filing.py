"""Filing a request (Decree 121/2017 Art. 12 §2): the form's checks, the subject, the route
preview, and submission, which routes the request and starts its deadline."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflow.audit import chain as audit
from workflow.context import Actor
from workflow.enums import Role
from workflow.errors import Conflict, Forbidden, InvalidInput
from workflow.i18n import N_
from workflow.models import (
    AccessRequest,
    Organisation,
    Person,
    RequestStep,
    User,
)
from workflow.names import search_key
from workflow.records.identifiers import guess_kind
from workflow.records.search import person_with_number
from workflow.requests import clock
from workflow.requests.enums import (
    UNFINISHED_STATES,
    Channel,
    ProvisionForm,
    RequestCategory,
    RequestState,
    StepKind,
    StepOutcome,
    SubjectKind,
    Urgency,
)
from workflow.requests.inbox import notify, notify_org
from workflow.requests.kernel import (
    Workflow,
    calendar_of,
    deadline_json,
    move,
    open_request,
    record_transition,
    request_number,
    require_state,
    route_now,
    system_note,
)
from workflow.requests.policy import (
    can_file,
    can_file_for_body,
    files_for_body,
    is_requester,
)
from workflow.requests.requesters import (
    NO_MANDATE,
    NO_MANDATE_HERE,
    is_outside_requester,
    mandated_person_ids,
    own_mandate,
    vetting_of,
)
from workflow.requests.routing import Route, keeps_the_database, plan_route, within_scope
from workflow.requests.workdays import Pause


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
    statistics_org_id: int | None = None
    requester_reference: str | None = None
    # A requester outside the state may name the person by their mandate instead.
    mandate_id: int | None = None


# A detained person asks for their own records under this article: they are not asked for a
# legal basis or a purpose they cannot be expected to know (stored text, in the records' language).
OWN_RECORDS_BASIS = "Điểm c khoản 2 Điều 12 Nghị định 121/2017/NĐ-CP"
OWN_RECORDS_PURPOSE = "Người bị tạm giữ, tạm giam đề nghị được biết thông tin về bản thân."
# The requester's own reference names one unfinished request of its body (`_reference`).
REFERENCE_TAKEN = N_("Your body already has an unfinished request with the reference "
                     "%(reference)s.")


# --- filing --------------------------------------------------------------------------------


def _own(actor: Actor) -> bool:
    """The actor is a detained person asking about themselves (Art. 12 §2(c))."""
    return actor.user is not None and actor.user.has_role(Role.DETAINEE)


def _clean(session: Session, actor: Actor, data: RequestInput) -> dict:
    purpose = (data.purpose or "").strip()
    basis = (data.legal_basis or "").strip()
    if _own(actor):
        basis, purpose = OWN_RECORDS_BASIS, purpose or OWN_RECORDS_PURPOSE
        if data.channel is not Channel.NETWORK or data.scan_ref or data.on_behalf_of_id:
            raise InvalidInput(N_("From the kiosk you can only ask for your own records."))
    elif len(purpose) < 10:
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
        identified = data.identity_number or data.subject_name
        if data.mandate_id is not None:
            person = _mandated_subject(session, actor, data.mandate_id)
        elif _own(actor) and not identified:
            person = session.get(Person, actor.user.person_id)
        else:
            among = (mandated_person_ids(session, actor.user, actor.today)
                     if is_outside_requester(actor.user) else None)
            person = _find_subject(session, data, among)
    else:
        question = (data.statistical_question or "").strip()
        if len(question) < 10:
            raise InvalidInput(N_("State the statistical question (at least 10 characters)."))
        categories = []
    return {"channel": Channel(data.channel), "subject_kind": SubjectKind(data.subject_kind),
            "subject_person": person, "statistical_question": question,
            "statistics_org": _statistics_org(session, data),
            "categories_json": json.dumps(categories), "period_from": data.period_from,
            "period_to": data.period_to, "purpose": purpose, "legal_basis": basis,
            "provision": ProvisionForm(data.provision), "urgency": Urgency(data.urgency),
            "scan_ref": data.scan_ref}


def _statistics_org(session: Session, data: RequestInput) -> Organisation | None:
    """The body whose scope a statistical question is about (None: the whole database): one
    that keeps the database, a management body or a facility."""
    if SubjectKind(data.subject_kind) is not SubjectKind.STATISTICS \
            or data.statistics_org_id is None:
        return None
    org = session.get(Organisation, data.statistics_org_id)
    if org is None or not keeps_the_database(org):
        raise InvalidInput(N_("Choose a body that keeps the database, or the whole database."))
    return org


def _mandated_subject(session: Session, actor: Actor, mandate_id: int) -> Person:
    """The person a requester outside the state names by one of their own live mandates (a
    relative need not know the person's identity number)."""
    mandate = own_mandate(session, actor.user, mandate_id, actor.today)
    if mandate is None:
        raise InvalidInput(NO_MANDATE)
    return mandate.person


def _find_subject(session: Session, data: RequestInput, among: set[int] | None) -> Person:
    """The person the identifiers name; for a requester outside the state, only among those
    they act for (anyone else reads as no match, so nothing tells who is held)."""
    number = (data.identity_number or "").strip()
    if number:
        if guess_kind(number) is None:
            raise InvalidInput(N_("The identity number has a wrong shape."))
        person = person_with_number(session, number)
    elif data.subject_name and data.subject_birth_date:
        stmt = select(Person).where(Person.name_key == search_key(data.subject_name),
                                    Person.birth_date == data.subject_birth_date,
                                    Person.merged_into_id.is_(None))
        if among is not None:
            stmt = stmt.where(Person.id.in_(sorted(among)))
        matches = session.execute(stmt.limit(2)).scalars().all()
        if len(matches) > 1:
            raise InvalidInput(N_("Several persons have this name and date of birth: give an "
                                  "identity number."))
        person = matches[0] if matches else None
    else:
        raise InvalidInput(N_("Identify the person by identity number, or by full name and "
                              "date of birth."))
    if among is not None:
        if person is None or person.id not in among:
            raise InvalidInput(NO_MANDATE)
    elif person is None:
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
    elif files_for_body(user, None):
        if not can_file_for_body(user):
            raise Forbidden(N_("Your role does not allow this."))
        _outside_scope_only(session, actor, values["subject_person"], values["period_from"],
                           values["period_to"])
    return values, behalf


def _outside_scope_only(session: Session, actor: Actor, person: Person | None,
                       period_from: dt.date | None, period_to: dt.date | None) -> None:
    """A body files for a person's data only outside its scope: inside it, its staff read the
    record directly with the purpose of the reading (Art. 12 §3a)."""
    if person is not None and within_scope(session, actor.user.organisation, person,
                                           period_from, period_to, actor.today):
        raise InvalidInput(N_("This person's record lies within your body's scope: a request "
                              "is filed only for data outside it (Decree 121/2017, Art. 12 "
                              "§3a). Within the scope, those who keep the records read it "
                              "directly, stating the purpose."))


def file_request(session: Session, actor: Actor, data: RequestInput) -> AccessRequest:
    """Save a draft request; a detainee's own request may be filed by their facility's clerk."""
    values, behalf = _filing(session, actor, data)
    return _new_request(session, actor, actor.user, values, behalf, data.requester_reference)


def _new_request(session: Session, actor: Actor, requester: User, values: dict,
                 behalf: int | None, reference: str | None) -> AccessRequest:
    """The draft row of a checked filing, in `requester`'s name; the timeline names `actor`."""
    reference = _reference(session, requester.organisation_id, reference)
    request = AccessRequest(number=f"YC-tmp-{uuid.uuid4().hex[:24]}", requester_id=requester.id,
                            requester_org_id=requester.organisation_id, on_behalf_of_id=behalf,
                            requester_reference=reference, created_at=actor.now,
                            updated_at=actor.now, **values)
    session.add(request)
    if reference is None:
        session.flush()
    else:
        try:
            with session.begin_nested():  # two filings with one reference at once: one wins
                session.flush()
        except IntegrityError as error:
            raise Conflict(REFERENCE_TAKEN, reference=reference) from error
    request.number = request_number(actor.today, request.id)
    session.flush()
    record_transition(session, actor, request, "file", RequestState.DRAFT, RequestState.DRAFT,
                      audited={"number": request.number, "categories": request.categories},
                      purpose=request.purpose)
    return request


# --- a written form entered for a requester outside the state ---------------------------------


def _as_outsider(session: Session, actor: Actor, requester_id: int,
                 data: RequestInput) -> Actor:
    """The requester outside the state a clerk enters a signed form for, as an actor whose
    filing is checked like their own: the clerk's body (or one above it) vouched for them, the
    vouching stands, and the form came on paper, with its scan."""
    vetting = vetting_of(session, actor, requester_id)
    if not can_file(vetting.user):  # disabled, or the vouching withdrawn
        raise Conflict(N_("This requester is no longer vouched for."))
    if data.channel is not Channel.WRITTEN:
        raise InvalidInput(N_("A request entered for a requester is their signed written "
                              "form: choose the written channel and attach its scan."))
    return Actor(vetting.user, actor.ip, actor.now)


def enter_written_request(session: Session, flow: Workflow, actor: Actor, requester_id: int,
                          data: RequestInput) -> AccessRequest:
    """A requester outside the state's signed form, posted or brought to the counter, entered
    and submitted in their name by a clerk of the body that vouched for them (Art. 12 §1: the
    written channel, for those who do not use the network); their request as if they filed it,
    the timeline and the audit naming the clerk who entered it."""
    filer = _as_outsider(session, actor, requester_id, data)
    values, behalf = _filing_for(session, filer, data)
    if not values["scan_ref"]:
        raise InvalidInput(N_("A written request needs the scan of the signed form."))
    request = _new_request(session, actor, filer.user, values, behalf, data.requester_reference)
    request.submitted_at = actor.now
    move(session, actor, request, "submit", authorised=True,
         details={"entered_for": filer.user.id})
    _route(session, flow, actor, request)
    return request


def _filing_for(session: Session, filer: Actor, data: RequestInput) -> tuple[dict, int | None]:
    """The requester's filing checks, their refusals worded for the clerk entering the form."""
    try:
        return _filing(session, filer, data)
    except InvalidInput as error:
        if error.message == NO_MANDATE:
            raise InvalidInput(NO_MANDATE_HERE) from error
        raise


def preview_written_request(session: Session, flow: Workflow, actor: Actor, requester_id: int,
                            data: RequestInput) -> Route:
    """The route of a written form a clerk is about to enter, as its requester would be told."""
    filer = _as_outsider(session, actor, requester_id, data)
    _filing_for(session, filer, data)
    return _preview(session, flow, actor, filer, data)


def _reference(session: Session, org_id: int, value: str | None) -> str | None:
    """The requester's own reference as stored (None when blank): printable, at most 64
    characters, naming no other unfinished request of the body (once that one is finished,
    the reference may be used again; the database's partial unique index is the backstop)."""
    value = " ".join((value or "").split())
    if not value:
        return None
    if len(value) > 64 or not value.isprintable():
        raise InvalidInput(N_("Your reference has at most 64 printable characters."))
    held = session.scalar(select(AccessRequest.id).where(
        AccessRequest.requester_org_id == org_id, AccessRequest.requester_reference == value,
        AccessRequest.state.in_(sorted(UNFINISHED_STATES))).limit(1))
    if held is not None:
        raise Conflict(REFERENCE_TAKEN, reference=value)
    return value


def file_own_request(session: Session, flow: Workflow, actor: Actor, *,
                     categories: list[str], provision: ProvisionForm,
                     purpose: str = "") -> AccessRequest:
    """A detained person's request for their own records from the kiosk, filed and submitted;
    the legal basis (Art. 12 §2(c)) and, unless they gave one, the purpose are filled here."""
    if not _own(actor):
        raise Forbidden(N_("Your role does not allow this."))
    request = file_request(session, actor, RequestInput(
        channel=Channel.NETWORK, subject_kind=SubjectKind.PERSON, purpose=purpose,
        legal_basis="", provision=provision, categories=categories))
    return submit(session, flow, actor, request.id, expected_version=request.version)


def _behalf_of(session: Session, actor: Actor, person_id: int, values: dict) -> int:
    from workflow.records.checks import user_scope

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
    return _preview(session, flow, actor, actor, data)


def _preview(session: Session, flow: Workflow, actor: Actor, filer: Actor,
             data: RequestInput) -> Route:
    """The route `filer`'s filing would take; audited as `actor`'s."""
    values, behalf = _filing(session, filer, data)
    person = values["subject_person"]
    route = plan_route(session, flow.rules.on(actor.today), calendar_of(session, flow),
                       requester_org=filer.user.organisation, person=person,
                       categories=json.loads(values["categories_json"]),
                       period_from=values["period_from"], period_to=values["period_to"],
                       urgency=values["urgency"], day=actor.today, own_scope=behalf is None,
                       statistics_org=values["statistics_org"])
    audit.record(session, actor, "request.preview", object_type="person",
                 object_id=person.id if person else None,
                 person_id=person.id if person else None, purpose=values["purpose"],
                 details={"direct": route.direct, "steps": len(route.steps)})
    return route if route.direct else route.for_outsider()


def _route(session: Session, flow: Workflow, actor: Actor, request: AccessRequest,
           resumed: Pause | None = None) -> None:
    route = route_now(session, flow, actor, request)
    round_no = max((s.round for s in request.steps), default=0) + 1
    for step in request.open_steps():
        step.outcome, step.decided_at = StepOutcome.VOID, actor.now
    for planned in route.steps:
        session.add(RequestStep(request=request, round=round_no, kind=planned.kind,
                                org_id=planned.org_id, case_id=planned.case_id,
                                due_on=planned.due.due if planned.due else None,
                                rule_version=route.rule_version))
    request.rule_version = route.rule_version
    request.route_json = json.dumps(route.as_json(), ensure_ascii=False)
    # Resubmitted after a return: the clock resumes on the terms it was set on, the paused
    # working days added; otherwise it starts now.
    resumes = resumed is not None and route.due is not None and "start" in request.deadline
    if not resumes:
        request.due_on = route.due.due if route.due else None
        request.deadline_json = json.dumps(deadline_json(flow, route.due, route.rule_version),
                                           ensure_ascii=False)
        request.due_soon_notified = request.overdue_notified = False
    session.flush()
    session.refresh(request, ["steps"])
    if resumes:
        calendar = calendar_of(session, flow)
        before, due = clock.reckon_into(request, calendar)
        system_note(session, actor, request, "clock_resumed", {
            "why": resumed.why, "from": resumed.start, "to": resumed.end,
            "paused_working_days": clock.paused_days(resumed, calendar),
            "due_before": before, "due": due})
    move(session, actor, request, "route", authorised=True,
          details={"direct": route.direct, "steps": len(route.steps)})
    for step in request.open_steps():
        notify_org(session, step.org_id, request, "new_task",
                    Role.APPROVER if step.kind is StepKind.APPROVAL else Role.CONSENT_OFFICER)
    if request.state is RequestState.APPROVED:
        notify(session, request.requester_id, request, "decision")


def submit(session: Session, flow: Workflow, actor: Actor, request_id: int, *,
           expected_version: int | None = None) -> AccessRequest:
    """Submit a draft (or resubmit a returned request, its clock resuming); the policy then
    routes it."""
    request = open_request(session, actor, request_id, expected_version)
    if not is_requester(actor.user, request):
        raise Forbidden(N_("You may not do this to this request."))
    trigger = "resubmit" if request.state is RequestState.RETURNED else "submit"
    require_state(request, trigger)
    resumed = None
    if not can_file(actor.user):  # a vouching withdrawn since the draft was saved
        raise Forbidden(N_("Your role does not allow this."))
    if (is_outside_requester(actor.user) and request.subject_person_id is not None
            and request.subject_person_id not in mandated_person_ids(session, actor.user,
                                                                     actor.today)):
        raise InvalidInput(NO_MANDATE)  # the mandate ended since the draft was saved
    if files_for_body(actor.user, request.on_behalf_of_id):
        # The person may have come into the body's scope since the draft was saved.
        _outside_scope_only(session, actor, request.subject_person, request.period_from,
                           request.period_to)
    if trigger == "resubmit":
        stopped = clock.open_pause(request)
        resumed = Pause(stopped.start, actor.today, stopped.why) if stopped else None
    else:
        request.submitted_at = actor.now
    move(session, actor, request, trigger)
    _route(session, flow, actor, request, resumed)
    return request
