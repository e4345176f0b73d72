"""The gates of access requests (workflow/request_policy.py), and the holes of issue 12 they
close: each test here failed on the code before the gates."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import Auth
from tests.helpers import last_audit, org, person_at, system_token, version_of
from tests.worlds import (
    SETTINGS,
    World,
    arrange,
    ask,
    fresh_person,
    person_with_stage,
    prepare,
    release,
)
from workflow.context import Actor
from workflow.documents import letters
from workflow.documents.enums import IssuedKind, IssuedState
from workflow.enums import Role, Secrecy
from workflow.errors import NotFound
from workflow.models import (
    AccessRequest,
    AuditEntry,
    IssuedDocument,
    Person,
    RecordDocument,
    User,
)
from workflow.records.enums import CaseStage, DocumentCategory
from workflow.requests import decisions, enums, filing, kernel, queries
from workflow.requests import policy as request_policy


def preview_body(person, **extra) -> dict:
    """The request form, asking to preview the route."""
    return {"subject_kind": "person", "identity_number": person.identifiers[-1].value,
            "categories": ["a_orders", "episodes"],
            "purpose": "Kiểm sát việc tạm giam theo kế hoạch",
            "legal_basis": "Điều 12 Nghị định 121/2017", "provision": "pdf",
            "urgency": "normal", "channel": "network", "action": "preview", **extra}


# --- finding 5: the route preview -----------------------------------------------------------


def test_the_kiosk_previews_no_route(app, client, auth, db):
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        other = person_with_stage(world, CaseStage.INVESTIGATION)
        case_number, body = other.episodes[-1].case.number, preview_body(other)
    auth.login("detainee.demo")
    page = client.post("/requests/new", data=body)  # the officials' form: not the kiosk's
    html = page.get_data(as_text=True)
    assert page.status_code == 403
    assert case_number not in html and "Cơ quan CSĐT" not in html


def test_an_outsider_learns_who_decides_not_the_case_or_its_secrets(app, client, auth, db):
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        person = person_with_stage(world, CaseStage.INVESTIGATION)
        session.add(RecordDocument(person_id=person.id, episode_id=person.episodes[-1].id,
                                   category=DocumentCategory.ORDERS, title="Lệnh mật",
                                   number="9/M", issued_on=person.episodes[-1].start_date,
                                   issuer="Cơ quan điều tra", secrecy=Secrecy.SECRET))
        session.commit()
        case_number, body, person_id = (person.episodes[-1].case.number, preview_body(person),
                                        person.id)
    auth.login("requester.vks")
    page = client.post("/requests/new", data=body)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    # Which bodies will decide, as filing will need…
    assert "Công an thành phố Hà Nội" in html
    assert "Cơ quan Cảnh sát điều tra Công an thành phố Hà Nội" in html
    # …but not the case, its stage, or whether classified documents exist.
    preview = html.split("route-preview")[1]
    assert case_number not in html and "giai đoạn" not in preview
    assert "tài liệu độ" not in preview
    entry = last_audit(db, "request.preview")
    assert (entry.actor_name, entry.person_id) == ("requester.vks", person_id)


def test_an_inspector_cannot_preview_and_the_refusal_is_audited(app, client, auth, db):
    person = person_at(db, "TTG-HANOI", skip_kiosk=True)
    auth.login("inspector")
    assert client.post("/requests/new", data=preview_body(person)).status_code == 403
    assert last_audit(db).action == "access.refused"


def test_a_manager_previews_no_route_to_its_own_scope(app, client, auth, db):
    """A manager files for the body outside its scope; inside it, there is nothing to ask."""
    person = person_at(db, "TTG-HANOI", skip_kiosk=True)
    auth.login("manager.hanoi")
    response = client.post("/requests/new", data=preview_body(person))
    assert response.status_code == 422
    assert "thuộc phạm vi quản lý của cơ quan, đơn vị đồng chí" in response.data.decode()
    assert last_audit(db).action == "form.rejected"


def test_the_preview_inside_ones_scope_shows_the_whole_route(app, db):
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        person = person_with_stage(world, CaseStage.INVESTIGATION)
        requester = world.make_user("req.cahn", "CA-HANOI", Role.REQUESTER)
        data = filing.RequestInput(
            channel=enums.Channel.NETWORK, subject_kind=enums.SubjectKind.PERSON,
            purpose="Quản lý tạm giam trong phạm vi", legal_basis="Điều 12 khoản 3 điểm a",
            provision=enums.ProvisionForm.PDF, categories=["episodes"],
            identity_number=person.identifiers[-1].value)
        route = filing.preview_route(session, kernel.Workflow(), Actor(requester), data)
        assert route.direct
        assert any("Rules applied" in r.message for r in route.reasons)


def test_a_filed_request_tells_an_outside_requester_no_more_than_its_preview(app, auth, db):
    """After filing, as before it: the requester outside the scope learns which bodies decide,
    not the case's number or stage; the deciders on the route see both."""
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        person = person_with_stage(world, CaseStage.INVESTIGATION)
        request_id = ask(world, "requester.vks", person).id
        number = person.episodes[-1].case.number
        session.commit()
    auth.login("requester.vks")
    page = auth.client.get(f"/requests/{request_id}").get_data(as_text=True)
    assert number not in page and "Công an" in page
    assert "điều tra" in page  # the consent reason, told in the outsider's words
    approver = Auth(app.test_client())
    approver.login("approver.hanoi")
    assert number in approver.client.get(f"/requests/{request_id}").get_data(as_text=True)
    # The API: an outside body's software sees its own request the same way.
    headers = system_token(app)
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        system_request = ask(world, "system.vks", person).id
        session.commit()
    body = app.test_client().get(f"/api/v1/requests/{system_request}", headers=headers).json
    assert number not in str(body)
    assert {s["case_number"] for s in body["steps"]} == {None}
    assert body["route"]["facility_ids"] == [] and body["route"]["secrecy"] == "none"
    listed = app.test_client().get("/api/v1/requests", headers=headers).json
    assert number not in str(listed)


# --- finding 7: lists show only what the detail page shows ----------------------------------


def test_the_overdue_list_shows_only_requests_the_user_may_open(app, client, db):
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        request = ask(world, "requester.vks", person_with_stage(world, CaseStage.CLOSED))
        request_id = request.id
        colleague = world.make_user("req.vks2", "VKS-HANOI", Role.REQUESTER)
        late = Actor(colleague, "127.0.0.1", dt.datetime.combine(
            request.due_on + dt.timedelta(days=3), dt.time(3), dt.UTC))
        listed = [r.id for r in queries.list_requests(session, late, "overdue")]
        with pytest.raises(NotFound):
            queries.get_request(session, late, request_id)
        session.rollback()
    assert request_id not in listed


def test_every_list_of_every_account_is_what_its_detail_pages_show(app, db):
    """`visible_requests` (SQL) and `can_view` (Python) agree on every demo request for every
    account, and no list holds a request the account cannot open."""
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        ask(world, "requester.vks", person_with_stage(world, CaseStage.INVESTIGATION))
        requests = session.scalars(select(AccessRequest)).all()
        day = dt.date(2026, 12, 31)  # late enough for the demo's requests to be overdue
        checked = 0
        for user in session.scalars(select(User)).unique():
            actor = Actor(user, "127.0.0.1", dt.datetime.combine(day, dt.time(3), dt.UTC))
            seen = set(session.scalars(select(AccessRequest.id).where(
                request_policy.visible_requests(session, user, day))))
            assert seen == {r.id for r in requests
                            if request_policy.can_view(session, user, r, day)}, user.username
            for view in request_policy.lists_of(user):
                listed = {r.id for r in queries.list_requests(session, actor, view)}
                assert listed <= seen, (user.username, view)
                checked += len(listed)
        session.rollback()
    assert checked > 0


# --- finding 10: an action on a document names its request ----------------------------------


def test_revoke_accepts_only_an_extract_of_the_request_on_the_page(app, client, auth, db):
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        _person, approved = arrange(world, db)
        extract = release(world, prepare(world, approved.id))
        refused = ask(world, "requester.vks", fresh_person(world, db, CaseStage.CLOSED))
        world.act(decisions.refuse, kernel.Workflow(notices=letters.notices(SETTINGS)),
                  world.actor("approver.hanoi"), refused.id, reason_code="purpose")
        notice = session.scalars(select(IssuedDocument).where(
            IssuedDocument.request_id == refused.id)).one()
        ids = (approved.id, extract.id, notice.id)
    approved_id, extract_id, notice_id = ids
    auth.login("approver.hanoi")
    url = f"/requests/{approved_id}"
    forged = {"action": "revoke", "revoke-reason": "Thu hồi để thử nghiệm tấn công",
              "version": version_of(db, approved_id), "revoke-document_id": str(notice_id)}
    assert client.post(url, data=forged).status_code == 404
    db.expire_all()
    assert db.get(IssuedDocument, notice_id).state is IssuedState.RELEASED
    assert last_audit(db).action == "access.refused"
    # Without the version the page was made on, it is a stale page: nothing is done.
    stale = forged | {"revoke-document_id": str(extract_id)}
    del stale["version"]
    response = client.post(url, data=stale)
    assert response.status_code == 302
    assert "chưa có gì được thực hiện" in client.get(response.location).get_data(as_text=True)
    db.expire_all()
    assert db.get(IssuedDocument, extract_id).state is IssuedState.RELEASED
    # The real one, from its own page, with the version: checked first, then revoked.
    real = stale | {"version": version_of(db, approved_id)}
    assert "Kiểm tra trước khi quyết định" in client.post(url, data=real).get_data(as_text=True)
    db.expire_all()
    assert db.get(IssuedDocument, extract_id).state is IssuedState.RELEASED
    assert client.post(url, data=real | {"confirmed": "yes"}).status_code == 302
    db.expire_all()
    assert db.get(IssuedDocument, extract_id).state is IssuedState.REVOKED


# --- operations own their effects: the API's refusal comes with its notice -------------------


def test_a_refusal_issues_its_written_notice_whatever_the_surface(app, db):
    """The notice is the refusal's own effect (issued by `access.refuse` with the application's
    settings), not the page's: the API's refusal route calls the same operation."""
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        request_id = ask(world, "requester.vks", fresh_person(world, db, CaseStage.CLOSED)).id
        world.act(decisions.refuse, app.extensions["custody_workflow"],
                  world.actor("approver.hanoi"), request_id, reason_code="purpose",
                  expected_version=version_of(db, request_id))
    db.expire_all()
    kinds = db.scalars(select(IssuedDocument.kind).where(
        IssuedDocument.request_id == request_id)).all()
    assert kinds == [IssuedKind.REFUSAL]


# --- finding 12: reads of the inbox are audited ----------------------------------------------


def test_reading_the_inbox_is_audited(client, auth, db):
    auth.login("approver.hanoi")
    before = db.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "request.inbox"))
    assert client.get("/requests/inbox").status_code == 200
    entry = last_audit(db, "request.inbox")
    assert entry.actor_name == "approver.hanoi"
    assert db.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "request.inbox")) == before + 1


def test_the_gates_refuse_a_disabled_account(app, db):
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        request = ask(world, "requester.vks", person_with_stage(world, CaseStage.CLOSED))
        user = world.user("requester.vks")
        user.active = False
        day = dt.date(2026, 11, 24)
        assert not request_policy.can_view(session, user, request, day)
        assert not request_policy.can_file(user)
        assert session.scalar(select(func.count()).select_from(AccessRequest).where(
            request_policy.visible_requests(session, user, day))) == 0
        session.rollback()
    assert org(db, "VKS-HANOI").id


# --- finding 9: nothing is written before the form is valid; filing is limited per account ---


def _uploads(app) -> list[str]:
    folder = Path(app.instance_path) / "uploads"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_rejected_form_leaves_no_file_and_an_accepted_one_keeps_its_scan(app, client, auth,
                                                                          db):
    me = db.get(Person, db.execute(select(User.person_id).where(
        User.username == "detainee.demo")).scalar_one())
    auth.login("clerk.hanoi")
    body = {"subject_kind": "person", "identity_number": me.identifiers[-1].value,
            "categories": ["episodes"], "legal_basis": "Điều 12 khoản 2 điểm đ",
            "provision": "pdf", "urgency": "normal", "channel": "written",
            "on_behalf_of_id": str(me.id), "action": "submit"}
    scan = b"%PDF-1.7\n%signed form\n"
    rejected = client.post("/requests/new", content_type="multipart/form-data", data=body | {
        "purpose": "ngắn", "scan": (io.BytesIO(scan), "form.pdf")})
    assert rejected.status_code == 422
    assert _uploads(app) == []
    accepted = client.post("/requests/new", content_type="multipart/form-data", data=body | {
        "purpose": "Tôi muốn biết hồ sơ tạm giam của mình", "scan": (io.BytesIO(scan),
                                                                     "form.pdf")})
    assert accepted.status_code == 302
    filed = db.scalars(select(AccessRequest).order_by(AccessRequest.id.desc())).first()
    assert _uploads(app) == [filed.scan_ref]
    assert (Path(app.instance_path) / "uploads" / filed.scan_ref).read_bytes() == scan


def test_a_rejected_consent_leaves_no_letter_scan(app, client, auth, db):
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        request_id = ask(world, "requester.vks",
                         person_with_stage(world, CaseStage.INVESTIGATION)).id
    auth.login("consent.hanoi")
    response = client.post(f"/requests/{request_id}", content_type="multipart/form-data", data={
        "action": "grant_consent", "version": version_of(db, request_id),
        "consent-letter_ref": "CV 7/ĐY", "consent-categories": ["a_orders"],
        "consent-expires_on": "2020-01-01",
        "consent-letter_scan": (io.BytesIO(b"%PDF-1.4 consent"), "letter.pdf")})
    assert response.status_code == 422
    assert _uploads(app) == []


def test_filing_is_limited_per_account(app, client, auth, db):
    app.config["RATELIMIT_FILING"] = "2 per hour"
    person = person_at(db, "TTG-HANOI", skip_kiosk=True)
    auth.login("requester.vks")
    body = preview_body(person)
    statuses = [client.post("/requests/new", data=body).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    other = app.test_client()
    Auth(other).login("clerk.hanoi")
    assert other.post("/requests/new", data=body).status_code != 429


def test_api_previews_and_filings_count_against_the_same_limit(app, db):
    """Finding 9 on a served app: the API's route preview had no limit at all. Previews and
    filings of an account, on the pages and the API, now count against one limit."""
    app.config["RATELIMIT_FILING"] = "2 per hour"
    person = person_at(db, "TTG-HANOI", skip_kiosk=True)
    headers = system_token(app)
    body = {k: v for k, v in preview_body(person).items() if k != "action"}
    api = app.test_client()
    previews = [api.post("/api/v1/requests/preview", json=body, headers=headers).status_code
                for _ in range(2)]
    assert previews == [200, 200]
    assert api.post("/api/v1/requests/preview", json=body, headers=headers).status_code == 429
    assert api.post("/api/v1/requests", json=body, headers=headers).status_code == 429


def test_the_server_counts_limits_in_one_store_or_runs_one_worker(app, runner, monkeypatch):
    """With the in-memory limit store each gunicorn worker would count its own (finding 9 got
    through 5 workers × 30): `serve` then runs one worker, and refuses more."""
    from gunicorn.app.base import BaseApplication

    seen = {}
    monkeypatch.setattr(BaseApplication, "run", lambda self: seen.update(
        workers=self.cfg.workers))
    assert runner.invoke(args=["serve"]).exit_code == 0 and seen["workers"] == 1
    refused = runner.invoke(args=["serve", "--workers", "3"])
    assert refused.exit_code != 0 and "CUSTODY_RATELIMIT_STORAGE_URI" in refused.output
    app.config["RATELIMIT_STORAGE_URI"] = "redis://127.0.0.1:6379/0"
    assert runner.invoke(args=["serve", "--workers", "3"]).exit_code == 0
    assert seen["workers"] == 3


def test_the_unread_count_read_with_the_user_follows_what_the_request_adds_and_reads(app):
    from workflow.requests import inbox
    from workflow.security import sessions

    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        request = ask(world, "requester.vks", person_with_stage(world, CaseStage.CLOSED))
        user = world.user("approver.hanoi")
        session.flush()
        before = inbox.unread_count(session, user)
        sessions.load_signed_in(session, user.id, None)  # as every page's user loader does
        assert inbox.unread_count(session, user) == before
        inbox.notify(session, user.id, request, "new_task")
        assert inbox.unread_count(session, user) == before + 1
        sessions.load_signed_in(session, user.id, None)
        inbox.mark_read(session, Actor(user, "test"))
        assert inbox.unread_count(session, user) == 0
        session.rollback()
