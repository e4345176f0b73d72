"""Requesters outside the state (Decree 121/2017 Art. 12 §3b, issue 16): a law firm's lawyer and
a detained person's relative, vouched for by the camp that checked their papers, ask only about
the person they act for, always through the managing body's approval, never for state secrets;
the lawyer sees who read the client's record as the client does."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import select

from tests.helpers import kiosk_person, last_audit, org, person_at
from tests.worlds import FLOW, NOW, World, ask, prepare, release
from workflow.audit import tracker
from workflow.context import SYSTEM
from workflow.documents.contents import granted_contents
from workflow.enums import Role, Secrecy
from workflow.errors import Conflict, Forbidden, InvalidInput, NotFound
from workflow.models import IssuedDocument, Mandate, Person, RecordDocument, User
from workflow.organisations.enums import OrgKind
from workflow.records.enums import CaseStage, DocumentCategory
from workflow.records.persons import view_person
from workflow.records.reading import ReadPurpose
from workflow.requests import decisions, filing, policy, requesters
from workflow.requests.enums import (
    Channel,
    MandateGround,
    RequesterKind,
    RequestState,
    StepKind,
)
from workflow.requests.routing import NON_STATE_REASON
from workflow.requests.rules import DEFAULT_RULESETS
from workflow.security import accounts
from workflow.security.permissions import Permission, can

WITHHELD = DEFAULT_RULESETS[-1].tracker_withheld_stages


def _client(db) -> Person:
    return db.get(Person, kiosk_person(db))


def _mandate(db, username: str) -> Mandate:
    user = db.scalars(select(User).where(User.username == username)).one()
    return db.scalars(select(Mandate).where(Mandate.user_id == user.id)).one()


def _register(world: World, username: str, **overrides) -> int:
    values = dict(kind=RequesterKind.OTHER, full_name="Phạm Thị Thu", username=username,
                  password="a test passphrase", email=None,
                  identity_document="CCCD 001190001111", credential=None)
    values.update(overrides)
    return world.act(requesters.register_requester, world.actor("clerk.hanoi"),
                     **values).user_id


def test_the_demo_lawyer_and_relative_are_vouched_for_and_act_for_the_kiosk_person(world, db):
    lawyer = world.user("lawyer.demo")
    assert lawyer.organisation.kind is OrgKind.LAW_FIRM
    assert lawyer.roles == {Role.REQUESTER} and lawyer.clearance is Secrecy.NONE
    relative = world.user("relative.demo")
    assert relative.organisation.kind is OrgKind.INDIVIDUAL
    assert relative.organisation.name == relative.full_name  # an organisation of one
    vetting = requesters.live_vetting(lawyer)
    assert vetting.kind is RequesterKind.LAWYER and vetting.vouched_by_org.code == "TTG-HANOI"
    assert _mandate(db, "lawyer.demo").person_id == kiosk_person(db)
    assert _mandate(db, "relative.demo").ground is MandateGround.AUTHORISATION


def test_a_lawyer_files_about_their_client_and_the_managing_body_decides(world, db):
    request = ask(world, "lawyer.demo", _client(db))
    assert request.requester_org.kind is OrgKind.LAW_FIRM
    approvals = [s for s in request.steps if s.kind is StepKind.APPROVAL]
    assert [s.org.code for s in approvals] == ["CA-HANOI"]
    assert NON_STATE_REASON in request.route_json
    assert request.state in (RequestState.AWAITING_APPROVAL, RequestState.AWAITING_CONSENT)
    # Like any requester outside the scope, they are told who decides, not the case or stage.
    assert not policy.can_see_cases(world.session, world.user("lawyer.demo"), request,
                                    NOW.date())


def test_about_anyone_else_no_match_and_no_person_read_alike(world, db):
    stranger = person_at(db, "TTG-HANOI", skip_kiosk=True)
    with pytest.raises(InvalidInput) as other:
        ask(world, "relative.demo", stranger)
    with pytest.raises(InvalidInput) as nobody:
        ask(world, "relative.demo", stranger, identity_number="001099999999")
    assert str(other.value) == str(nobody.value) == requesters.NO_MANDATE
    with pytest.raises(InvalidInput, match="None of the persons you act for"):
        ask(world, "relative.demo", stranger, identity_number=None,
            subject_name=stranger.full_name, subject_birth_date=stranger.birth_date)


def test_outside_the_state_nobody_reads_records_or_holds_a_clearance(world, db):
    lawyer = world.user("lawyer.demo")
    for permission in (Permission.SEARCH_RECORDS, Permission.READ_RECORDS):
        assert not can(lawyer, permission)
    with pytest.raises(NotFound):
        world.act(view_person, world.actor("lawyer.demo"), kiosk_person(db),
                  ReadPurpose("keeping"))
    with pytest.raises(InvalidInput, match="no clearance"):
        world.act(accounts.update_user, world.actor("admin"), lawyer.id,
                  roles={Role.REQUESTER}, active=True, clearance=Secrecy.CONFIDENTIAL)
    with pytest.raises(InvalidInput, match="only files requests"):
        world.act(accounts.update_user, world.actor("admin"), lawyer.id,
                  roles={Role.REQUESTER, Role.CLERK}, active=True, clearance=Secrecy.NONE)


def test_state_secrets_are_withheld_from_their_extract(world, db):
    person = _client(db)
    episode = person.episodes[-1]
    db.add(RecordDocument(person_id=person.id, episode_id=episode.id,
                          category=DocumentCategory.ORDERS, title="Tài liệu MẬT-CỦA-LUẬT-SƯ",
                          number="9/M", issued_on=episode.start_date, issuer="Công an",
                          secrecy=Secrecy.CONFIDENTIAL))
    db.commit()
    request = ask(world, "lawyer.demo", _client(db))
    world.act(decisions.approve, world.actor("approver.hanoi"), request.id,
              categories=["a_orders", "episodes"])
    if world.reload(request.id).state is RequestState.AWAITING_CONSENT:
        world.act(decisions.grant_consent, FLOW, world.actor("consent.hanoi"), request.id,
                  letter_ref="CV 1/ĐY")
    request = world.reload(request.id)
    assert request.state is RequestState.APPROVED
    grant, sections, withheld = granted_contents(request, NOW.date(), None)
    assert grant.secrecy is Secrecy.NONE
    assert "MẬT-CỦA-LUẬT-SƯ" not in repr(sections)
    assert any("không cung cấp cho tổ chức, cá nhân ngoài" in line for line in withheld)
    document = prepare(world, request.id)
    assert document.secrecy is Secrecy.NONE


def test_without_vouching_or_after_it_is_withdrawn_nothing_is_filed(world, db):
    # An administrator may make an account at a law firm; it files nothing until vouched for.
    firm = world.user("lawyer.demo").organisation
    bare = accounts.create_user(world.session, SYSTEM, username="lawyer.bare",
                                full_name="Luật sư chưa xác minh", organisation_id=firm.id,
                                roles={Role.REQUESTER}, password="a test passphrase")
    world.session.commit()
    assert not policy.can_file(bare)
    request = world.act(filing.file_request, world.actor("lawyer.demo"),
                        _input(_client(db)))
    world.act(requesters.withdraw_vetting, world.actor("clerk.hanoi"),
              world.user("lawyer.demo").id)
    assert not policy.can_file(world.user("lawyer.demo"))
    # Their unfinished requests are withdrawn with the vouching, the draft among them.
    assert world.reload(request.id).state is RequestState.WITHDRAWN
    with pytest.raises((Forbidden, Conflict)):
        world.act(filing.submit, FLOW, world.actor("lawyer.demo"), request.id)
    with pytest.raises(Conflict):
        world.act(requesters.withdraw_vetting, world.actor("clerk.hanoi"),
                  world.user("lawyer.demo").id)
    assert last_audit(db, "requester.withdraw").actor_id == world.user("clerk.hanoi").id


def _input(person: Person) -> filing.RequestInput:
    from workflow.requests.enums import Channel, ProvisionForm, SubjectKind

    return filing.RequestInput(
        channel=Channel.NETWORK, subject_kind=SubjectKind.PERSON,
        purpose="Phục vụ việc bào chữa cho thân chủ", legal_basis="Điều 12 Nghị định 121/2017",
        provision=ProvisionForm.PDF, categories=["episodes"],
        identity_number=person.identifiers[-1].value)


def test_a_mandate_that_ended_withdraws_the_requests_about_the_person(world, db):
    draft = world.act(filing.file_request, world.actor("relative.demo"), _input(_client(db)))
    sent = ask(world, "relative.demo", _client(db))
    mandate = _mandate(db, "relative.demo")
    world.act(requesters.end_mandate, world.actor("clerk.hanoi"), mandate.id)
    for request_id in (draft.id, sent.id):
        request = world.reload(request_id)
        assert request.state is RequestState.WITHDRAWN
        assert request.transitions[-1].actor_id == world.user("clerk.hanoi").id
        assert "không còn đại diện" in request.transitions[-1].reason
    with pytest.raises(Conflict):
        world.act(requesters.end_mandate, world.actor("clerk.hanoi"), mandate.id)


def test_a_mandate_past_its_end_date_stops_a_draft_and_every_decision(world, db):
    draft = world.act(filing.file_request, world.actor("relative.demo"), _input(_client(db)))
    sent = ask(world, "relative.demo", _client(db))
    later = dt.datetime(2027, 6, 1, 3, 0, tzinfo=dt.UTC)  # the authorisation ran to 21/05/2027
    with pytest.raises(InvalidInput, match="None of the persons you act for"):
        world.act(filing.submit, FLOW, world.actor("relative.demo", later), draft.id)
    with pytest.raises(Conflict, match="no longer acts for this person"):
        world.act(decisions.approve, world.actor("approver.hanoi", later), sent.id,
                  categories=["episodes"])
    assert world.reload(sent.id).state is not RequestState.APPROVED


def test_nothing_is_downloaded_once_the_vouching_is_withdrawn(world, db):
    request = ask(world, "lawyer.demo", _client(db), categories=["episodes"])
    world.act(decisions.approve, world.actor("approver.hanoi"), request.id,
              categories=["episodes"])
    if world.reload(request.id).state is RequestState.AWAITING_CONSENT:
        world.act(decisions.grant_consent, FLOW, world.actor("consent.hanoi"), request.id,
                  letter_ref="CV 2/ĐY")
    document = release(world, prepare(world, request.id))
    assert policy.download_refusal(document, NOW.date()) is None
    world.act(requesters.withdraw_vetting, world.actor("clerk.hanoi"),
              world.user("lawyer.demo").id)
    db.expire_all()
    refusal = policy.download_refusal(db.get(IssuedDocument, document.id), NOW.date())
    assert refusal is not None and "No body vouches for you any longer" in refusal.message


def test_a_facility_records_and_ends_the_mandates_of_the_persons_it_holds(world, db):
    """A person transferred elsewhere: the new facility records their lawyer's mandate though
    another body vouched for the lawyer, and only it can end it."""
    there = person_at(db, "TTG-HOCHIMINH", skip_kiosk=True)
    here = person_at(db, "TTG-HANOI", skip_kiosk=True)
    hcm = world.actor("clerk.hcm")
    paper = dict(ground=MandateGround.DEFENCE, reference="Thông báo 3/TB",
                 valid_from=NOW.date())
    # A wrong username and a person elsewhere read alike: neither is told apart.
    refusals = set()
    for name, person in (("nobody.here", there), ("clerk.hanoi", there),
                         ("lawyer.demo", here)):
        with pytest.raises(InvalidInput) as refused:
            world.act(requesters.record_mandate_named, hcm, name,
                      identity_number=person.identifiers[-1].value, **paper)
        refusals.add(str(refused.value))
    assert len(refusals) == 1
    mandate = world.act(requesters.record_mandate_named, hcm, "lawyer.demo",
                        identity_number=there.identifiers[-1].value, **paper)
    assert mandate.id in {m.id for m in world.act(requesters.mandates_in_scope, hcm)}
    assert last_audit(db, "requester.mandates").person_id == there.id
    assert mandate.id not in {m.id for m in world.act(
        requesters.mandates_in_scope, world.actor("clerk.hanoi"))}
    with pytest.raises(NotFound):
        world.act(requesters.end_mandate, world.actor("clerk.hanoi"), mandate.id)
    world.act(requesters.end_mandate, hcm, mandate.id)


def test_ending_one_mandate_leaves_the_requests_another_still_covers(world, db):
    user_id = _register(world, "thu.pham")
    person = person_at(db, "TTG-HANOI", skip_kiosk=True)
    clerk = world.actor("clerk.hanoi")
    number = person.identifiers[-1].value
    paper = dict(ground=MandateGround.AUTHORISATION, reference="Giấy ủy quyền")
    # A renewal recorded in advance: from the day after the first ends.
    first = world.act(requesters.record_mandate, clerk, user_id, identity_number=number,
                      valid_from=NOW.date(), valid_to=NOW.date() + dt.timedelta(days=10),
                      **paper)
    later = world.act(requesters.record_mandate, clerk, user_id, identity_number=number,
                      valid_from=NOW.date() + dt.timedelta(days=11), **paper)
    with pytest.raises(Conflict):  # but not one overlapping them
        world.act(requesters.record_mandate, clerk, user_id, identity_number=number,
                  valid_from=NOW.date() + dt.timedelta(days=5), **paper)
    request = ask(world, "thu.pham", person)
    world.act(requesters.end_mandate, clerk, later.id)  # not in force yet: nothing withdrawn
    assert world.reload(request.id).state is not RequestState.WITHDRAWN
    world.act(requesters.end_mandate, clerk, first.id)
    assert world.reload(request.id).state is RequestState.WITHDRAWN


def test_only_clerks_of_bodies_keeping_the_database_vouch(world, db):
    for username in ("requester.vks", "approver.hanoi", "admin", "lawyer.demo",
                     "consent.hanoi", "manager.hanoi"):
        with pytest.raises(Forbidden):
            world.act(requesters.register_requester, world.actor(username),
                      kind=RequesterKind.OTHER, full_name="Phạm Thị Thu", username="x.other",
                      password="a test passphrase", email=None,
                      identity_document="CCCD 001190001111", credential=None)
        assert not requesters.can_vouch(world.user(username))


def test_a_representative_names_the_organisation_and_it_is_reused(world, db):
    with pytest.raises(InvalidInput, match="name it"):
        _register(world, "rep.one", kind=RequesterKind.REPRESENTATIVE, credential="ĐKKD 0101")
    first = _register(world, "rep.one", kind=RequesterKind.REPRESENTATIVE, credential="ĐKKD 01",
                      organisation_name="Hội Bảo trợ Thử nghiệm",
                      organisation_kind=OrgKind.NON_STATE_ORGANISATION)
    second = _register(world, "rep.two", kind=RequesterKind.REPRESENTATIVE, credential="ĐKKD 01",
                       organisation_name="hội bảo trợ thử nghiệm",
                       organisation_kind=OrgKind.NON_STATE_ORGANISATION)
    assert (world.session.get(User, first).organisation_id
            == world.session.get(User, second).organisation_id)
    # A law firm of the same name is another organisation, not that one.
    third = _register(world, "rep.three", kind=RequesterKind.LAWYER, credential="Thẻ 1",
                      organisation_name="Hội Bảo trợ Thử nghiệm",
                      organisation_kind=OrgKind.LAW_FIRM)
    assert world.session.get(User, third).organisation_id != world.session.get(
        User, first).organisation_id


def test_the_lawyer_sees_who_read_the_clients_record_and_nobody_else_does(world, db):
    from tests.records.test_own_reads import _under_case

    _under_case(world, db, CaseStage.TRIAL)  # nothing withheld at trial
    world.act(view_person, world.actor("approver.hanoi"), kiosk_person(db),
              ReadPurpose("keeping"))
    mandate = _mandate(db, "lawyer.demo")
    person, seen = world.act(tracker.client_reads, world.actor("lawyer.demo"), mandate.id,
                             WITHHELD)
    assert person.id == kiosk_person(db)
    own = world.act(tracker.own_reads, world.actor("detainee.demo"), WITHHELD)
    assert {r.body for r in seen.reads} >= {org(db, "CA-HANOI").name}
    assert {(r.body, r.what) for r in seen.reads} <= {(r.body, r.what) for r in own.reads} | {
        (world.user("detainee.demo").organisation.name, r.what) for r in seen.reads}
    assert last_audit(db, "record.client_reads").person_id == kiosk_person(db)
    # The relative is not counsel; other accounts hold no such mandate; an ended one shows nothing.
    for username in ("relative.demo", "requester.vks", "clerk.hanoi"):
        with pytest.raises(NotFound):
            world.act(tracker.client_reads, world.actor(username), mandate.id, WITHHELD)
    world.act(requesters.end_mandate, world.actor("clerk.hanoi"), mandate.id)
    with pytest.raises(NotFound):
        world.act(tracker.client_reads, world.actor("lawyer.demo"), mandate.id, WITHHELD)


def test_reads_withheld_from_the_person_are_withheld_from_the_lawyer(world, db):
    from tests.records.test_own_reads import _under_case

    _under_case(world, db, CaseStage.INVESTIGATION)
    world.act(view_person, world.actor("approver.hanoi"), kiosk_person(db),
              ReadPurpose("keeping"))
    _person, seen = world.act(tracker.client_reads, world.actor("lawyer.demo"),
                              _mandate(db, "lawyer.demo").id, WITHHELD)
    assert org(db, "CA-HANOI").name not in {r.body for r in seen.reads}
    assert [w.stage for w in seen.withheld] == [CaseStage.INVESTIGATION]


# --- the written channel: a clerk enters a posted form in the requester's name ---------------


def _written(person: Person, scan: str | None = "scans/thu-de-nghi.pdf") -> filing.RequestInput:
    data = _input(person)
    data.channel, data.scan_ref = Channel.WRITTEN, scan
    return data


def test_a_clerk_enters_a_posted_form_in_the_relatives_name(world, db):
    relative = world.user("relative.demo")
    request = world.act(filing.enter_written_request, FLOW, world.actor("clerk.hanoi"),
                        relative.id, _written(_client(db)))
    assert request.requester_id == relative.id
    assert request.requester_org_id == relative.organisation_id
    assert request.channel is Channel.WRITTEN and request.scan_ref
    assert request.state in (RequestState.AWAITING_APPROVAL, RequestState.AWAITING_CONSENT)
    clerk = world.user("clerk.hanoi")
    assert {t.actor_id for t in request.transitions if t.trigger in ("file", "submit")} == {
        clerk.id}
    assert last_audit(db, "request.submit").actor_id == clerk.id
    # The request is the relative's to follow, not the clerk's.
    assert policy.can_view(world.session, relative, request, NOW.date())
    assert not policy.can_view(world.session, clerk, request, NOW.date())


def test_a_posted_form_is_checked_as_the_requester_would_be(world, db):
    relative = world.user("relative.demo")
    stranger = person_at(db, "TTG-HANOI", skip_kiosk=True)
    with pytest.raises(NotFound):  # another province's clerk did not vouch for them
        world.act(filing.enter_written_request, FLOW, world.actor("clerk.hcm"), relative.id,
                  _written(_client(db)))
    with pytest.raises(InvalidInput, match="written channel"):
        world.act(filing.enter_written_request, FLOW, world.actor("clerk.hanoi"), relative.id,
                  _input(_client(db)))
    with pytest.raises(InvalidInput, match="scan"):
        world.act(filing.enter_written_request, FLOW, world.actor("clerk.hanoi"), relative.id,
                  _written(_client(db), scan=None))
    with pytest.raises(InvalidInput, match="does not act for a person with these"):
        world.act(filing.enter_written_request, FLOW, world.actor("clerk.hanoi"), relative.id,
                  _written(stranger))
    route = world.act(filing.preview_written_request, FLOW, world.actor("clerk.hanoi"),
                      relative.id, _written(_client(db)))
    assert not route.direct and route.steps[0].org_name == org(db, "CA-HANOI").name
    world.act(requesters.withdraw_vetting, world.actor("clerk.hanoi"), relative.id)
    with pytest.raises(Conflict):
        world.act(filing.enter_written_request, FLOW, world.actor("clerk.hanoi"), relative.id,
                  _written(_client(db)))


def test_the_entry_page_is_the_vouching_clerks_alone(client, auth, db):
    relative = db.scalars(select(User).where(User.username == "relative.demo")).one()
    auth.login("clerk.hanoi")
    page = client.get(f"/requests/new?for={relative.id}")
    assert page.status_code == 200
    assert "Nguyễn Thị Hoa" in page.data.decode() and "đứng tên người đó" in page.data.decode()
    assert client.get("/requests/new?for=abc").status_code == 404
    assert client.get("/requests/new?for=999999").status_code == 404
    person = _client(db)
    response = client.post(f"/requests/new?for={relative.id}", content_type="multipart/form-data",
                           data={"subject_kind": "person",
                                 "identity_number": person.identifiers[-1].value,
                                 "categories": ["episodes"], "purpose": "Gia đình cần biết",
                                 "legal_basis": "Điều 12 Nghị định 121/2017", "provision": "pdf",
                                 "urgency": "normal", "channel": "written", "action": "submit",
                                 "scan": (io.BytesIO(b"%PDF-1.7\n%signed form\n"), "form.pdf")})
    assert response.status_code == 302 and f"/requesters/{relative.id}" in response.location
    auth.logout()
    for username in ("clerk.hcm", "requester.vks", "approver.hanoi"):
        auth.login(username)
        assert client.get(f"/requests/new?for={relative.id}").status_code == 404, username
        auth.logout()


def test_the_lawyer_is_never_told_which_private_person_asked(world, db):
    from tests.records.test_own_reads import _under_case

    _under_case(world, db, CaseStage.TRIAL)
    ask(world, "relative.demo", _client(db))
    _person, seen = world.act(tracker.client_reads, world.actor("lawyer.demo"),
                              _mandate(db, "lawyer.demo").id, WITHHELD)
    bodies = {r.body for r in seen.reads}
    assert "Nguyễn Thị Hoa" not in bodies
    assert "Tổ chức, cá nhân ngoài cơ quan nhà nước" in bodies


def test_organisations_are_joined_only_where_the_body_registered_them(world, db):
    firm = world.user("lawyer.demo").organisation
    # The Hồ Chí Minh camp never saw the Hà Nội firm's papers: a new organisation of its own.
    other = world.act(requesters.register_requester, world.actor("clerk.hcm"),
                      kind=RequesterKind.LAWYER, full_name="Luật sư Lê Văn Tám",
                      username="lawyer.hcm", password="a test passphrase", email=None,
                      identity_document="CCCD 079080001234", credential="Thẻ 9/LS",
                      organisation_name=firm.name.upper(), organisation_kind=OrgKind.LAW_FIRM)
    assert other.user.organisation_id != firm.id
    # Hà Nội's camp did: its second lawyer joins the firm; a relative never joins one.
    colleague = _register(world, "lawyer.two", kind=RequesterKind.LAWYER, credential="Thẻ 2",
                          organisation_name=firm.name, organisation_kind=OrgKind.LAW_FIRM)
    assert world.session.get(User, colleague).organisation_id == firm.id
    relative = _register(world, "relative.two", kind=RequesterKind.RELATIVE,
                         organisation_name=firm.name, organisation_kind=OrgKind.LAW_FIRM)
    assert world.session.get(User, relative).organisation.kind is OrgKind.INDIVIDUAL
    with pytest.raises(InvalidInput, match="cannot be used"):
        _register(world, "admin")


def test_every_list_of_theirs_is_audited(world, db):
    world.act(requesters.vettings_seen, world.actor("clerk.hanoi"))
    assert last_audit(db, "requester.list").actor_id == world.user("clerk.hanoi").id
    world.act(requesters.my_mandates, world.actor("lawyer.demo"))
    assert last_audit(db, "requester.clients").person_id == kiosk_person(db)
    world.act(requesters.mandates_seen, world.actor("clerk.hanoi"),
              world.user("lawyer.demo").id)
    assert last_audit(db, "requester.mandates").person_id == kiosk_person(db)


def test_a_relative_names_the_person_by_the_mandate(world, db, client, auth):
    mine, theirs = _mandate(db, "relative.demo"), _mandate(db, "lawyer.demo")
    data = _input(_client(db))
    data.identity_number, data.mandate_id = None, mine.id
    request = world.act(filing.file_request, world.actor("relative.demo"), data)
    assert request.subject_person_id == mine.person_id
    data.mandate_id = theirs.id  # another requester's mandate: as if there were none
    with pytest.raises(InvalidInput, match="None of the persons you act for"):
        world.act(filing.file_request, world.actor("relative.demo"), data)
    data.mandate_id = mine.id  # a clerk cannot borrow it either
    with pytest.raises(InvalidInput):
        world.act(filing.file_request, world.actor("clerk.hcm"), data)
    auth.login("relative.demo")
    page = client.get(f"/requests/new?mandate={mine.id}")
    assert page.status_code == 200 and _client(db).full_name in page.data.decode()
    assert client.get(f"/requests/new?mandate={theirs.id}").status_code == 404
    response = client.post(f"/requests/new?mandate={mine.id}", data={
        "mandate_id": str(mine.id), "subject_kind": "person", "categories": ["episodes"],
        "purpose": "Gia đình cần biết thời hạn tạm giam", "provision": "pdf",
        "legal_basis": "Điều 12 Nghị định 121/2017", "urgency": "normal",
        "channel": "network", "action": "submit"})
    assert response.status_code == 302, response.data.decode()[:2000]
