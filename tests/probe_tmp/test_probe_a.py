from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from tests.helpers import kiosk_person, last_audit, org, person_at
from tests.worlds import FLOW, NOW, World, ask, prepare
from workflow.audit import tracker
from workflow.enums import Role, Secrecy
from workflow.errors import Conflict, Forbidden, InvalidInput, NotFound
from workflow.models import CustodyEpisode, Mandate, Person, User, AccessRequest
from workflow.requests import decisions, filing, policy, requesters
from workflow.requests.enums import Channel, MandateGround, RequesterKind, RequestState, SubjectKind, ProvisionForm
from workflow.requests.rules import DEFAULT_RULESETS
from workflow.security import accounts
from workflow.context import SYSTEM

WITHHELD = DEFAULT_RULESETS[-1].tracker_withheld_stages


def _client(db):
    return db.get(Person, kiosk_person(db))


def _mandate(db, username):
    user = db.scalars(select(User).where(User.username == username)).one()
    return db.scalars(select(Mandate).where(Mandate.user_id == user.id)).one()


def _input(person, **kw):
    d = filing.RequestInput(channel=Channel.NETWORK, subject_kind=SubjectKind.PERSON,
        purpose="Phục vụ việc bào chữa cho thân chủ", legal_basis="Điều 12 Nghị định 121/2017",
        provision=ProvisionForm.PDF, categories=["episodes"],
        identity_number=person.identifiers[-1].value)
    for k, v in kw.items():
        setattr(d, k, v)
    return d


def test_relative_name_shown_to_lawyer(world, db):
    from tests.records.test_own_reads import _under_case
    from workflow.records.enums import CaseStage
    _under_case(world, db, CaseStage.TRIAL)
    ask(world, "relative.demo", _client(db), categories=["episodes"])
    person, seen = world.act(tracker.client_reads, world.actor("lawyer.demo"),
                             _mandate(db, "lawyer.demo").id, WITHHELD)
    print("LAWYER SEES", [(r.body, r.what) for r in seen.reads])
    assert "Nguyễn Thị Hoa" in {r.body for r in seen.reads}


def test_transfer_mandate_unendable(world, db):
    client = _client(db)
    later = NOW.date() + dt.timedelta(days=1)
    last = client.episodes[-1]
    print("episodes", [(e.facility.code, e.start_date, e.end_date) for e in client.episodes])
    last.end_date = later
    db.add(CustodyEpisode(person_id=client.id, facility_id=org(db, "TTG-HOCHIMINH").id,
                          measure=last.measure, start_date=later, legal_basis="chuyển trại"))
    db.commit()
    m = _mandate(db, "lawyer.demo")
    lawyer_id = m.user_id
    at = NOW + dt.timedelta(days=2)
    with pytest.raises(NotFound):
        world.act(requesters.end_mandate, world.actor("clerk.hanoi", at), lawyer_id, m.id)
    # HCM cannot see the vetting (web) ...
    with pytest.raises(NotFound):
        world.act(requesters.vetting_of, world.actor("clerk.hcm", at), lawyer_id)
    # ...the Hanoi clerk's page no longer lists it
    assert world.act(requesters.mandates_seen, world.actor("clerk.hanoi", at), lawyer_id) == []
    # the lawyer still files about the person, now in HCM
    data = _input(client)
    r = world.act(filing.file_request, world.actor("lawyer.demo", at), data)
    r = world.act(filing.submit, FLOW, world.actor("lawyer.demo", at), r.id)
    print("filed after transfer", r.state, [s.org.code for s in r.steps])
    # service-level end by HCM works although its web page 404s
    world.act(requesters.end_mandate, world.actor("clerk.hcm", at), lawyer_id, m.id)
    print("HCM ended via service")


def test_release_after_mandate_end(world, db):
    request = ask(world, "relative.demo", _client(db), categories=["episodes"])
    m = _mandate(db, "relative.demo")
    world.act(requesters.end_mandate, world.actor("clerk.hanoi"), m.user_id, m.id)
    world.act(requesters.withdraw_vetting, world.actor("clerk.hanoi"), m.user_id)
    world.act(decisions.approve, world.actor("approver.hanoi"), request.id, categories=["episodes"])
    if world.reload(request.id).state is RequestState.AWAITING_CONSENT:
        world.act(decisions.grant_consent, FLOW, world.actor("consent.hanoi"), request.id, letter_ref="CV 1")
    print("state after approval with mandate ended + vouching withdrawn:", world.reload(request.id).state)
    doc = prepare(world, request.id)
    print("prepared", doc.id)


def test_outsider_statistics(world, db):
    data = filing.RequestInput(channel=Channel.NETWORK, subject_kind=SubjectKind.STATISTICS,
        purpose="Nghiên cứu thống kê số người bị tạm giam", legal_basis="Điều 12 Nghị định 121/2017",
        provision=ProvisionForm.PDF, categories=[],
        statistical_question="Bao nhiêu người bị tạm giam tại trại Hà Nội theo tháng?",
        statistics_org_id=org(db, "TTG-HANOI").id)
    r = world.act(filing.file_request, world.actor("relative.demo"), data)
    r = world.act(filing.submit, FLOW, world.actor("relative.demo"), r.id)
    print("STATS", r.state, [ (s.kind, s.org.code) for s in r.steps], r.route_json[:400])


def test_outsider_on_behalf(world, db):
    with pytest.raises(InvalidInput) as e:
        world.act(filing.file_request, world.actor("lawyer.demo"),
                  _input(_client(db), channel=Channel.WRITTEN, scan_ref="x.pdf", on_behalf_of_id=_client(db).id))
    print("on_behalf:", e.value)
    with pytest.raises(InvalidInput) as e:
        world.act(filing.enter_written_request, FLOW, world.actor("clerk.hanoi"), world.user("lawyer.demo").id,
                  _input(_client(db), channel=Channel.WRITTEN, scan_ref="x.pdf", on_behalf_of_id=_client(db).id))
    print("enter on_behalf:", e.value)


def test_enter_by_other_branch_and_roles(world, db):
    rel = world.user("relative.demo").id
    for u in ("clerk.ntg", "clerk.hcm", "approver.hanoi", "manager.hanoi", "admin", "inspector" , "requester.vks", "lawyer.demo", "detainee.demo"):
        try:
            world.user(u)
        except Exception:
            print("no user", u); continue
        try:
            world.act(filing.enter_written_request, FLOW, world.actor(u), rel,
                      _input(_client(db), channel=Channel.WRITTEN, scan_ref="x.pdf"))
            print("ENTERED BY", u)
        except Exception as e:
            print(u, type(e).__name__, e)


def test_reference_oracle_shared_firm(world, db):
    # HCM clerk registers someone naming the same law firm
    firm = world.user("lawyer.demo").organisation
    v = world.act(requesters.register_requester, world.actor("clerk.hcm"), kind=RequesterKind.LAWYER,
                  full_name="Kẻ Lạ", username="intruder", password="a test passphrase", email=None,
                  identity_document="CCCD 079000000001", credential="Thẻ LS 1",
                  organisation_name=firm.name.upper(), organisation_kind=firm.kind)
    print("intruder org same as firm:", v.user.organisation_id == firm.id)
    r = world.act(filing.file_request, world.actor("lawyer.demo"), _input(_client(db), requester_reference="HS-BAO-CHUA-42"))
    # intruder: reference collision reveals colleague's reference
    try:
        world.act(filing.file_request, world.actor("intruder"), _input(_client(db), requester_reference="HS-BAO-CHUA-42"))
    except Exception as e:
        print("intruder ref:", type(e).__name__, e)
