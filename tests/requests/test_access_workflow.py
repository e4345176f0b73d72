"""The Article 12 workflow: every path through the machine, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from functools import partial

import pytest
from sqlalchemy import select

from tests.helpers import org, person_at
from tests.worlds import FLOW, NOW, ask, person_with_stage, states
from workflow.enums import Role
from workflow.errors import Conflict, Forbidden, InvalidInput, NotFound
from workflow.models import AccessRequest, CustodyEpisode, Person
from workflow.records import cases, persons
from workflow.records.enums import CaseStage
from workflow.requests import decisions, filing, policy
from workflow.requests.enums import (
    Channel,
    ProvisionForm,
    RequestState,
    StepKind,
    StepOutcome,
    SubjectKind,
)
from workflow.requests.filing import RequestInput


def test_in_scope_requester_gets_direct_access(world):
    world.make_user("req.ca", "CA-HANOI", Role.REQUESTER)
    person = person_with_stage(world, CaseStage.INVESTIGATION)
    request = ask(world, "req.ca", person)
    assert request.state is RequestState.APPROVED and request.steps == []
    assert "direct access" in request.route["reasons"][1]["message"]
    world.act(decisions.release, FLOW, world.actor("req.ca"), request.id)
    assert world.reload(request.id).state is RequestState.RELEASED
    assert states(world, request.id) == ["file:draft", "submit:submitted", "route:approved",
                                         "release:released"]


def test_out_of_scope_request_needs_the_managing_body_approval(world):
    person = person_with_stage(world, CaseStage.ENFORCEMENT)
    request = ask(world, "requester.vks", person)
    assert request.state is RequestState.AWAITING_APPROVAL
    [step] = request.steps
    assert step.kind is StepKind.APPROVAL and step.org.code == "CA-HANOI"
    assert request.rule_version == "L128-2025.1" and request.due_on == dt.date(2026, 12, 1)
    world.act(decisions.approve, world.actor("approver.hanoi"), request.id,
              categories=["a_orders", "episodes"], note="Chỉ cung cấp lệnh và thời gian giam")
    request = world.reload(request.id)
    assert request.state is RequestState.APPROVED
    assert request.steps[0].granted == ["a_orders", "episodes"]
    assert request.steps[0].rule_version == "L128-2025.1"
    world.act(decisions.release, FLOW, world.actor("approver.hanoi"), request.id)
    assert world.reload(request.id).state is RequestState.RELEASED


@pytest.mark.parametrize(("stage", "handler"), [(CaseStage.INVESTIGATION, "CSDT-HANOI"),
                                                (CaseStage.PROSECUTION, "VKS-HANOI"),
                                                (CaseStage.TRIAL, "TA-HANOI")])
def test_approval_and_consent_at_each_stage_in_either_order(world, stage, handler):
    world.make_user("req.hcm", "VKS-HOCHIMINH", Role.REQUESTER)
    officer = world.make_user("consent.x", handler, Role.CONSENT_OFFICER).username
    person = person_with_stage(world, stage)
    first = ask(world, "req.hcm", person)
    assert {s.kind for s in first.steps} == {StepKind.APPROVAL, StepKind.CONSENT}
    consent = next(s for s in first.steps if s.kind is StepKind.CONSENT)
    assert consent.org.code == handler and consent.case.stage_on(NOW.date()).stage is stage
    # Approval first, then consent.
    world.act(decisions.approve, world.actor("approver.hanoi"), first.id)
    assert world.reload(first.id).state is RequestState.AWAITING_CONSENT
    world.act(decisions.grant_consent, FLOW, world.actor(officer), first.id, letter_ref="CV 12/ĐY")
    assert world.reload(first.id).state is RequestState.APPROVED
    # Consent first, then approval.
    second = ask(world, "req.hcm", person)
    world.act(decisions.grant_consent, FLOW, world.actor(officer), second.id, letter_ref="CV 13/ĐY")
    assert world.reload(second.id).state is RequestState.AWAITING_APPROVAL
    world.act(decisions.approve, world.actor("approver.hanoi"), second.id)
    assert world.reload(second.id).state is RequestState.APPROVED


def test_consent_refused_refuses_the_request(world):
    person = person_with_stage(world, CaseStage.INVESTIGATION)
    request = ask(world, "requester.vks", person)
    with pytest.raises(InvalidInput):
        world.act(decisions.refuse_consent, FLOW, world.actor("consent.hanoi"), request.id,
                  reason_code="other", text="")
    world.act(decisions.refuse_consent, FLOW, world.actor("consent.hanoi"), request.id,
              reason_code="harms_case")
    request = world.reload(request.id)
    assert request.state is RequestState.REFUSED
    assert {s.outcome for s in request.steps} == {StepOutcome.REFUSED, StepOutcome.VOID}


def test_approval_refused_with_a_catalogued_reason(world):
    person = person_with_stage(world, None)
    request = ask(world, "requester.vks", person)
    with pytest.raises(InvalidInput):
        world.act(decisions.refuse, FLOW, world.actor("approver.hanoi"), request.id,
                  reason_code="nope")
    world.act(decisions.refuse, FLOW, world.actor("approver.hanoi"),
              request.id, reason_code="purpose",
              text="Mục đích không rõ")
    request = world.reload(request.id)
    assert request.state is RequestState.REFUSED
    assert request.steps[0].reason_code == "purpose"
    with pytest.raises(Conflict):
        world.act(decisions.approve, world.actor("approver.hanoi"), request.id)


def test_returned_pauses_and_resubmission_routes_again(world):
    person = person_with_stage(world, None)
    request = ask(world, "requester.vks", person)
    world.act(decisions.return_for_supplement, FLOW, world.actor("approver.hanoi"), request.id,
              reason="Bổ sung số văn bản đề nghị")
    request = world.reload(request.id)
    assert request.state is RequestState.RETURNED and request.paused_at is not None
    with pytest.raises(Conflict):
        world.act(decisions.approve, world.actor("approver.hanoi"), request.id)
    world.act(filing.submit, FLOW, world.actor("requester.vks"), request.id)
    request = world.reload(request.id)
    assert request.state is RequestState.AWAITING_APPROVAL and request.paused_at is None
    assert [s.round for s in request.steps] == [1, 2]
    assert request.steps[0].outcome is StepOutcome.VOID
    assert states(world, request.id)[-5:] == [
        "return_for_supplement:returned", "clock_stopped:returned", "resubmit:submitted",
        "clock_resumed:submitted", "route:awaiting_approval"]


def test_withdrawn_by_the_requester_only(world):
    person = person_with_stage(world, None)
    request = ask(world, "requester.vks", person)
    with pytest.raises(Forbidden):  # on their route, but not their request
        world.act(decisions.withdraw, world.actor("approver.hanoi"), request.id)
    with pytest.raises(NotFound):  # not theirs to see at all
        world.act(decisions.withdraw, world.actor("clerk.hcm"), request.id)
    world.act(decisions.withdraw, world.actor("requester.vks"), request.id, reason="Không cần nữa")
    request = world.reload(request.id)
    assert request.state is RequestState.WITHDRAWN
    assert request.steps[0].outcome is StepOutcome.VOID


def test_stage_change_between_approval_and_release_needs_new_consent(world):
    person = person_with_stage(world, CaseStage.ENFORCEMENT)
    request = ask(world, "requester.vks", person)
    world.act(decisions.approve, world.actor("approver.hanoi"), request.id)
    # The case goes back to investigation (e.g. a retrial ordered): consent is needed again.
    case = person.episodes[-1].case
    world.act(cases.change_case_stage, world.actor("clerk.hanoi"), case.id,
              stage=CaseStage.INVESTIGATION, handling_org_id=org(world.session, "CSDT-HANOI").id,
              from_date=NOW.date())
    world.act(decisions.release, FLOW, world.actor("approver.hanoi"), request.id)
    request = world.reload(request.id)
    assert request.state is RequestState.AWAITING_CONSENT
    assert request.open_steps()[0].org.code == "CSDT-HANOI"
    world.act(decisions.grant_consent, FLOW, world.actor("consent.hanoi"), request.id,
              letter_ref="CV 99/CSĐT")
    world.act(decisions.release, FLOW, world.actor("approver.hanoi"), request.id)
    assert world.reload(request.id).state is RequestState.RELEASED


def test_deadline_skips_tet(world):
    person = person_with_stage(world, None)
    before_tet = dt.datetime(2027, 2, 3, 3, 0, tzinfo=dt.UTC)
    data = RequestInput(channel=Channel.NETWORK, subject_kind=SubjectKind.PERSON,
                        purpose="Phục vụ kiểm sát việc tạm giam theo quy định",
                        legal_basis="Điều 12", provision=ProvisionForm.SCREEN,
                        categories=["episodes"], identity_number=person.identifiers[-1].value)
    actor = world.actor("requester.vks", before_tet)
    request = world.act(filing.file_request, actor, data)
    request = world.act(filing.submit, FLOW, actor, request.id)
    assert request.due_on == dt.date(2027, 2, 17)
    skipped = {d["day"]: d["reason"] for d in request.deadline["skipped"]}
    assert "Tết Nguyên Đán" in skipped["2027-02-06"] and skipped["2027-02-13"] == "Thứ bảy"


def test_separation_of_duties(world):
    person = person_with_stage(world, CaseStage.INVESTIGATION)
    request = ask(world, "requester.vks", person)
    officer, approver = world.user("consent.hanoi"), world.user("approver.hanoi")
    day = NOW.date()
    assert policy.decider_steps(world.session, officer, request, StepKind.CONSENT, day)
    assert policy.decider_steps(world.session, approver, request, StepKind.APPROVAL, day)
    # Nobody decides on their own request…
    request.requester_id = officer.id
    assert policy.decider_steps(world.session, officer, request, StepKind.CONSENT, day) == []
    request.requester_id = approver.id
    assert policy.decider_steps(world.session, approver, request, StepKind.APPROVAL, day) == []
    # …or on a request about themselves.
    world.session.rollback()
    request = world.reload(request.id)
    approver.person_id = request.subject_person_id
    assert policy.decider_steps(world.session, approver, request, StepKind.APPROVAL, day) == []
    world.session.rollback()


def test_wrong_actor_or_state_changes_nothing(world):
    person = person_with_stage(world, CaseStage.INVESTIGATION)
    request = ask(world, "requester.vks", person)
    before = (world.reload(request.id).version, len(states(world, request.id)))
    for username, fn, kwargs, error in [
        ("consent.hanoi", decisions.approve, {}, Forbidden),
        ("approver.hanoi", partial(decisions.grant_consent, flow=FLOW), {"letter_ref": "x"},
         Forbidden),
        ("clerk.hcm", decisions.approve, {}, NotFound),
        ("requester.vks", decisions.approve, {}, Forbidden),
    ]:
        with pytest.raises(error):
            world.act(fn, actor=world.actor(username), request_id=request.id, **kwargs)
    with pytest.raises(Conflict):
        world.act(decisions.close, world.actor("requester.vks"), request.id)
    after = (world.reload(request.id).version, len(states(world, request.id)))
    assert after == before


def test_detainee_request_through_the_clerk_and_from_the_kiosk(world):
    kiosk = world.user("detainee.demo")
    person = world.session.get(Person, kiosk.person_id)
    number = person.identifiers[-1].value
    base = dict(subject_kind=SubjectKind.PERSON, purpose="Tôi muốn biết hồ sơ tạm giam của mình",
                legal_basis="Điều 12 khoản 2 điểm đ Nghị định 121/2017",
                provision=ProvisionForm.PDF, categories=["episodes"], identity_number=number)
    with pytest.raises(InvalidInput):  # a written request needs its scan
        world.act(filing.file_request, world.actor("clerk.hanoi"),
                  RequestInput(channel=Channel.WRITTEN, on_behalf_of_id=person.id, **base))
    by_clerk = world.act(filing.file_request, world.actor("clerk.hanoi"),
                         RequestInput(channel=Channel.WRITTEN, on_behalf_of_id=person.id,
                                      scan_ref="scan-001.pdf", **base))
    assert by_clerk.on_behalf_of_id == person.id
    other = person_at(world.session, "TTG-HOCHIMINH").identifiers[-1].value
    with pytest.raises(InvalidInput):
        world.act(filing.file_request, world.actor("detainee.demo"),
                  RequestInput(channel=Channel.NETWORK, **(base | {"identity_number": other})))
    own = world.act(filing.file_request, world.actor("detainee.demo"),
                    RequestInput(channel=Channel.NETWORK, **base))
    own = world.act(filing.submit, FLOW, world.actor("detainee.demo"), own.id)
    assert own.state is RequestState.AWAITING_APPROVAL


@pytest.mark.parametrize(("field", "value"), [("purpose", "ngắn"), ("legal_basis", ""),
                                              ("categories", []), ("categories", ["zzz"]),
                                              ("identity_number", "123"),
                                              ("period_from", dt.date(2030, 1, 1))])
def test_bad_requests_are_refused_and_nothing_is_saved(world, field, value):
    person = person_with_stage(world, None)
    count = len(world.session.execute(select(AccessRequest.id)).all())
    with pytest.raises(InvalidInput):
        ask(world, "requester.vks", person, **{field: value})
    assert len(world.session.execute(select(AccessRequest.id)).all()) == count


def test_episode_case_link_is_versioned(world):
    person = person_with_stage(world, CaseStage.TRIAL)
    episode = world.session.get(CustodyEpisode, person.episodes[-1].id)
    assert episode.version >= 2


def test_the_body_handling_the_case_needs_no_consent_from_itself(world):
    person = person_with_stage(world, CaseStage.PROSECUTION)
    request = ask(world, "requester.vks", person)  # the Hà Nội procuracy handles the case
    assert [s.kind for s in request.steps] == [StepKind.APPROVAL]
    assert any("handled by your organisation" in r["message"] for r in request.route["reasons"])


def test_classified_documents_need_an_approver_with_that_clearance(world):
    person = person_with_stage(world, None)
    world.act(persons.add_document, world.actor("clerk.hanoi"), person.id,
              category="a_orders", title="Báo cáo trinh sát", number="07/BC",
              issued_on=dt.date(2026, 3, 2), issuer="Phòng PC11", secrecy="mat", summary=None)
    uncleared = world.make_user("approver.plain", "CA-HANOI", Role.APPROVER)
    request = ask(world, "requester.vks", person, categories=["a_orders"])
    assert request.route["secrecy"] == "mat"
    with pytest.raises(Forbidden):
        world.act(decisions.approve, world.actor(uncleared.username), request.id)
    assert world.reload(request.id).state is RequestState.AWAITING_APPROVAL
    world.act(decisions.approve, world.actor("approver.hanoi"), request.id)  # cleared Tối mật
    assert world.reload(request.id).state is RequestState.APPROVED
    plain = ask(world, "requester.vks", person, categories=["episodes"])
    assert plain.route["secrecy"] == "none"


def test_rule_values_are_configurable(database_url):
    from web import create_app

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "x",
                      "RULE_OVERRIDES": {"L128-2025.1": {"approval_days": 7}}})
    flow = app.extensions["custody_workflow"]
    assert flow.rules.on(dt.date(2026, 11, 24)).approval_days == 7
    assert flow.rules.on(dt.date(2026, 6, 30)).approval_days == 5
    assert flow.rules.on(dt.date(2026, 6, 30)).version == "L94-2015.1"
    app.extensions["custody_engine"].dispose()
