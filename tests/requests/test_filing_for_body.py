"""Who may file (Decree 121/2017 Art. 12 §2–3): a facility's clerk and a management body's
manager file for their own body, for data outside its scope, and never decide on what they
filed; a body's statistics about its own scope need no approval; at release the managing body
is checked again and a request whose person moved under another body goes to it."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from tests.helpers import last_audit, org, person_at
from tests.worlds import FLOW, NOW, SETTINGS, ask, fresh_person, state_of, states
from workflow.documents import extracts
from workflow.documents.enums import IssuedState
from workflow.enums import Role
from workflow.errors import Forbidden, InvalidInput
from workflow.models import IssuedDocument, OrganisationLink
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

QUESTION = "Số người bị tạm giam theo từng trại trong tháng 11 năm 2026"


def statistics(world, username: str, about: str | None):
    """A statistical question filed and submitted by `username`, about the scope of the body
    coded `about` (None: the whole database)."""
    data = RequestInput(channel=Channel.NETWORK, subject_kind=SubjectKind.STATISTICS,
                        purpose="Lập báo cáo thống kê định kỳ của đơn vị",
                        legal_basis="Điều 12 Nghị định 121/2017/NĐ-CP",
                        provision=ProvisionForm.SCREEN, categories=[],
                        statistical_question=QUESTION,
                        statistics_org_id=org(world.session, about).id if about else None)
    filed = world.act(filing.file_request, world.actor(username), data)
    return world.act(filing.submit, FLOW, world.actor(username), filed.id)


# --- filing for one's own body ------------------------------------------------------------------


def test_a_facility_clerk_files_for_the_facility_about_a_person_outside_its_scope(world, db):
    person = person_at(db, "TTG-HANOI", skip_kiosk=True)
    request = ask(world, "clerk.hcm", person)
    assert request.requester.username == "clerk.hcm"
    assert request.requester_org.code == "TTG-HOCHIMINH" and request.on_behalf_of_id is None
    assert request.state in (RequestState.AWAITING_APPROVAL, RequestState.AWAITING_CONSENT)
    approvals = [s for s in request.steps if s.kind is StepKind.APPROVAL]
    assert [s.org.code for s in approvals] == ["CA-HANOI"]
    assert states(world, request.id)[:2] == ["file:draft", "submit:submitted"]


def test_a_manager_files_for_the_management_body(world, db):
    person = person_at(db, "TTG-HOCHIMINH", skip_kiosk=True)
    request = ask(world, "manager.hanoi", person)
    assert request.requester_org.code == "CA-HANOI"
    assert [s.org.code for s in request.steps if s.kind is StepKind.APPROVAL] == ["CA-HOCHIMINH"]
    assert policy.can_view(world.session, world.user("manager.hanoi"), request, NOW.date())


def test_inside_its_own_scope_a_body_reads_directly_and_files_nothing(world, db):
    person = person_at(db, "TTG-HANOI", skip_kiosk=True)
    for username in ("clerk.hanoi", "manager.hanoi"):
        with pytest.raises(InvalidInput, match="within your body's scope"):
            ask(world, username, person)
    preview = RequestInput(channel=Channel.NETWORK, subject_kind=SubjectKind.PERSON,
                           purpose="Phục vụ công tác quản lý tạm giam",
                           legal_basis="Điều 12 Nghị định 121/2017/NĐ-CP",
                           provision=ProvisionForm.PDF, categories=["episodes"],
                           identity_number=person.identifiers[-1].value)
    with pytest.raises(InvalidInput, match="within your body's scope"):
        filing.preview_route(world.session, FLOW, world.actor("manager.hanoi"), preview)


def test_only_a_person_of_a_body_that_keeps_the_database_files_for_it(world, db):
    user = world.user
    assert policy.can_file_for_body(user("clerk.hcm"))
    assert policy.can_file_for_body(user("manager.hanoi"))
    # Outside bodies file through their requesters (§3b); deciders and inspectors do not file.
    for username in ("requester.vks", "approver.hanoi", "consent.hanoi", "inspector",
                     "detainee.demo"):
        assert not policy.can_file_for_body(user(username)), username
    outsider = world.make_user("manager.vks", "VKS-HANOI", Role.MANAGER)
    assert not policy.can_file_for_body(outsider)
    person = person_at(db, "TTG-HANOI", skip_kiosk=True)
    with pytest.raises(Forbidden):
        ask(world, "manager.vks", person)
    disabled = world.make_user("clerk.off", "TTG-HOCHIMINH", Role.CLERK)
    disabled.active = False
    world.session.commit()
    assert not policy.can_file_for_body(world.user("clerk.off"))


def test_the_filer_never_decides_consents_to_or_releases_their_own_request(world, db):
    """An account holding a decider's roles besides the filer's: on its own request, none."""
    person = fresh_person(world, db, CaseStage.INVESTIGATION, unclassified=True)
    both = world.make_user("clerk.both", "TTG-HOCHIMINH", Role.CLERK, Role.APPROVER,
                           Role.CONSENT_OFFICER)
    request = ask(world, "clerk.both", person)
    # Give the filer's account the deciding bodies' places in the tree for the gates' sake: its
    # own request stays out of its hands.
    both.organisation_id = org(db, "CA-HANOI").id
    world.session.commit()
    request = world.reload(request.id)
    day = NOW.date()
    assert not policy.can_decide(world.session, both, request, day)
    assert not policy.decider_steps(world.session, both, request, StepKind.CONSENT, day)
    world.act(decisions.approve, world.actor("approver.hanoi"), request.id)
    world.act(decisions.grant_consent, FLOW, world.actor("consent.hanoi"), request.id,
              letter_ref="CV 9/ĐY")
    request = world.reload(request.id)
    assert request.state is RequestState.APPROVED
    assert not policy.can_release(world.session, both, request, day)
    assert policy.allowed_actions(world.session, world.actor("clerk.both"), request) \
        <= {"withdraw"}
    assert policy.can_release(world.session, world.user("approver.hanoi"), request, day)


# --- statistics about one's own scope (Art. 12 §3a) ---------------------------------------------


def test_statistics_about_the_bodys_own_scope_go_straight_to_preparation(world):
    request = statistics(world, "manager.hanoi", "CA-HANOI")
    assert request.state is RequestState.APPROVED and request.steps == []
    assert request.route["direct"] is True
    assert request.statistics_org.code == "CA-HANOI"
    assert policy.can_release(world.session, world.user("manager.hanoi"), request, NOW.date())
    # A facility under the body is within its scope too; so is a clerk's own facility.
    assert statistics(world, "manager.hanoi", "TTG-HANOI").state is RequestState.APPROVED
    assert statistics(world, "clerk.hcm", "TTG-HOCHIMINH").state is RequestState.APPROVED


def test_statistics_outside_the_scope_are_approved_by_the_centre_as_before(world):
    for username, about in (("manager.hanoi", None), ("manager.hanoi", "CA-HOCHIMINH"),
                            ("clerk.hcm", "CA-HANOI"),
                            # An outside body keeps no scope of the database (§3b).
                            ("requester.vks", "CA-HANOI")):
        request = statistics(world, username, about)
        assert request.state is RequestState.AWAITING_APPROVAL, (username, about)
        assert [s.org.code for s in request.steps] == ["TTCSDL"]


def test_statistics_about_a_body_that_keeps_no_data_are_refused(world):
    with pytest.raises(InvalidInput, match="keeps the database"):
        statistics(world, "manager.hanoi", "VKS-HANOI")


# --- the managing body checked again at release -------------------------------------------------


def _move_facility(db, code: str, new_parent: str, day: dt.date) -> None:
    """The facility comes under another managing body from `day` on (a reorganisation)."""
    facility = org(db, code)
    link = db.scalars(select(OrganisationLink).where(
        OrganisationLink.organisation_id == facility.id,
        OrganisationLink.valid_to.is_(None))).one()
    link.valid_to = day
    db.add(OrganisationLink(organisation_id=facility.id, parent_id=org(db, new_parent).id,
                            valid_from=day))
    db.commit()


def test_a_person_now_under_another_managing_body_is_decided_again_by_it(world, db):
    person = fresh_person(world, db, CaseStage.CLOSED, unclassified=True)
    request = ask(world, "clerk.hcm", person)
    world.act(decisions.approve, world.actor("approver.hanoi"), request.id)
    assert state_of(world, request.id) is RequestState.APPROVED
    draft = world.act(extracts.prepare_extract, SETTINGS, world.actor("approver.hanoi"),
                      request.id)
    later = NOW + dt.timedelta(days=1)
    _move_facility(db, "TTG-HANOI", "CA-HOCHIMINH", later.date())
    hanoi = world.actor("approver.hanoi", later)
    world.act(extracts.preview, hanoi, draft.id)
    world.act(extracts.release_extract, FLOW, SETTINGS, hanoi, request.id,
              document_id=draft.id, sha256=draft.sha256)

    request = world.reload(request.id)
    assert request.state is RequestState.AWAITING_APPROVAL
    assert db.get(IssuedDocument, draft.id).state is IssuedState.SUPERSEDED
    pending = request.open_steps(StepKind.APPROVAL)
    assert [s.org.code for s in pending] == ["CA-HOCHIMINH"]
    assert any(s.outcome is StepOutcome.GRANTED and s.org.code == "CA-HANOI"
               for s in request.steps)  # the earlier approval stays in the history
    timeline = states(world, request.id)
    assert timeline[-1] == "reroute:awaiting_approval"
    assert "release:released" not in timeline
    entry = last_audit(db, "request.reroute")
    assert str(entry.object_id) == str(request.id)
    assert org(db, "CA-HOCHIMINH").name in entry.details
    assert "Hồ Chí Minh" in request.transitions[-1].reason

    # The old body can no longer decide or release; the new one decides and releases.
    assert not policy.can_release(world.session, world.user("approver.hanoi"), request,
                                  later.date())
    world.make_user("approver.hcm", "CA-HOCHIMINH", Role.APPROVER)
    hcm = world.actor("approver.hcm", later)
    with pytest.raises(Forbidden):
        world.act(decisions.approve, hanoi, request.id)
    world.act(decisions.approve, hcm, request.id)
    assert state_of(world, request.id) is RequestState.APPROVED
    draft = world.act(extracts.prepare_extract, SETTINGS, hcm, request.id)
    world.act(extracts.preview, hcm, draft.id)
    released = world.act(extracts.release_extract, FLOW, SETTINGS, hcm, request.id,
                         document_id=draft.id, sha256=draft.sha256)
    assert released.state is IssuedState.RELEASED
    assert state_of(world, request.id) is RequestState.RELEASED
