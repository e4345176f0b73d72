"""The JSON API: bearer tokens only, the same policies and audit, errors as JSON, OpenAPI."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.helpers import last_audit, person_at, system_token
from workflow.context import Actor
from workflow.models import AccessRequest, AuditEntry, IssuedDocument, User
from workflow.requests import decisions


def body(db, **extra) -> dict:
    person = person_at(db, "TTG-HANOI", skip_kiosk=True)
    return {"identity_number": person.identifiers[-1].value, "categories": ["episodes"],
            "purpose": "Kiểm sát việc tạm giam theo kế hoạch", "legal_basis": "Điều 12 NĐ 121",
            **extra}


def test_openapi_document_lists_every_operation(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operations = {(path, method) for path, item in spec["paths"].items() for method in item}
    assert operations >= {
        ("/api/v1/requests", "post"), ("/api/v1/requests", "get"),
        ("/api/v1/requests/preview", "post"), ("/api/v1/requests/{request_id}", "get"),
        ("/api/v1/requests/{request_id}/submit", "post"),
        ("/api/v1/requests/{request_id}/approve", "post"),
        ("/api/v1/requests/{request_id}/refuse", "post"),
        ("/api/v1/requests/{request_id}/consent", "post"),
        ("/api/v1/requests/{request_id}/refuse-consent", "post"),
        ("/api/v1/requests/{request_id}/withdraw", "post"),
        ("/api/v1/requests/{request_id}/return", "post"),
        ("/api/v1/requests/{request_id}/timeline", "get")}
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


@pytest.mark.parametrize("header", [None, "Bearer nope", "Bearer cst_forged", "Basic abc"])
def test_no_valid_token_no_access(client, header):
    headers = {"Authorization": header} if header else {}
    assert client.get("/api/v1/requests", headers=headers).status_code == 401


def test_a_signed_in_browser_session_is_not_enough(client, auth):
    auth.login("requester.vks")
    assert client.get("/api/v1/requests").status_code == 401


def test_file_submit_and_timeline_over_the_api_decisions_on_the_pages(app, client, db):
    requester = system_token(app)  # the procuracy's software, a system account
    preview = client.post("/api/v1/requests/preview", json=body(db), headers=requester)
    assert preview.status_code == 200 and preview.get_json()["direct"] is False
    filed = client.post("/api/v1/requests", json=body(db, submit=True), headers=requester)
    assert filed.status_code == 201, filed.get_json()
    request_id = filed.get_json()["id"]
    assert filed.get_json()["state"] in ("awaiting_approval", "awaiting_consent")
    assert last_audit(db, "request.file").actor_name == "system.vks"
    assert request_id in [r["id"] for r in client.get("/api/v1/requests?view=mine",
                                                      headers=requester).get_json()]
    seen = client.get(f"/api/v1/requests/{request_id}", headers=requester).get_json()["version"]
    unversioned = client.post(f"/api/v1/requests/{request_id}/approve", json={},
                              headers=requester)
    assert unversioned.status_code == 422  # a decision names the version it was made on
    # A decision needs a person's fresh two-factor sign-in, which no token gives.
    refused = client.post(f"/api/v1/requests/{request_id}/approve", json={"version": seen},
                          headers=requester)
    assert refused.status_code == 403 and "error" in refused.get_json()
    assert db.get(AccessRequest, request_id).state == filed.get_json()["state"]
    with app.extensions["custody_sessions"]() as session:
        approver = session.scalars(select(User).where(User.username == "approver.hanoi")).one()
        decisions.approve(session, Actor(approver), request_id, expected_version=seen)
        session.commit()
    stale = client.post(f"/api/v1/requests/{request_id}/withdraw", json={"version": seen},
                        headers=requester)
    assert stale.status_code == 409 and "error" in stale.get_json()
    timeline = client.get(f"/api/v1/requests/{request_id}/timeline", headers=requester)
    assert [t["trigger"] for t in timeline.get_json()] == ["file", "submit", "route", "approve"]


def test_policies_hold_over_the_api(app, client, db):
    requester = system_token(app)
    other = system_token(app, "system.vks.hcm", "VKS-HOCHIMINH")
    filed = client.post("/api/v1/requests", json=body(db, submit=True), headers=requester)
    request_id = filed.get_json()["id"]
    assert client.get(f"/api/v1/requests/{request_id}", headers=other).status_code == 404
    response = client.post(f"/api/v1/requests/{request_id}/approve", json={"version": 1},
                           headers=other)
    assert response.status_code == 404
    refused = db.execute(select(AuditEntry).where(AuditEntry.action == "access.refused")
                         .order_by(AuditEntry.seq.desc())).scalars().first()
    assert refused.actor_name == "system.vks.hcm"
    bad = client.post("/api/v1/requests", json={"purpose": "x"}, headers=requester)
    assert bad.status_code == 422


def test_a_requesters_software_lists_downloads_and_verifies_its_documents(app, db):
    """The documents of a request over the API, with the pages' gates and audit: the filer sees
    the released extract and the consent letter and downloads the extract (counted); another
    body's software sees nothing of them; a code verifies as on the public page."""
    from tests.worlds import SETTINGS, World, ask, person_with_stage, prepare, release
    from workflow.documents import letters
    from workflow.records.enums import CaseStage
    from workflow.requests.kernel import Workflow

    filer = system_token(app, "system.vks", "VKS-HANOI", "requester")
    other = system_token(app, "system.vks.hcm", "VKS-HOCHIMINH", "requester")
    flow = Workflow(notices=letters.notices(SETTINGS))
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        request = ask(world, "system.vks", person_with_stage(world, CaseStage.INVESTIGATION))
        world.act(decisions.approve, world.actor("approver.hanoi"), request.id)
        world.act(decisions.grant_consent, flow, world.actor("consent.hanoi"), request.id)
        extract = release(world, prepare(world, request.id))
        request_id, extract_id, code, sha = request.id, extract.id, extract.code, extract.sha256
    client = app.test_client()
    listed = client.get(f"/api/v1/requests/{request_id}/documents", headers=filer)
    assert listed.status_code == 200
    kinds = {(d["kind"], d["access"]) for d in listed.get_json()}
    assert kinds == {("extract", "download"), ("consent", "letter")}
    [letter_id] = [d["id"] for d in listed.get_json() if d["kind"] == "consent"]
    pdf = client.get(f"/api/v1/documents/{extract_id}/download", headers=filer)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF") and pdf.headers["X-Document-SHA256"] == sha
    assert last_audit(db, "extract.download").object_id == str(extract_id)
    assert client.get(f"/api/v1/documents/{letter_id}/letter", headers=filer).status_code == 200
    # The list shows what the page shows: no verification code, no hash (they come with the
    # file).
    assert all("code" not in d and "sha256" not in d for d in listed.get_json())
    # Another body's software: as if none of it existed, and its attempt counts no download.
    for path in (f"/requests/{request_id}/documents", f"/documents/{extract_id}/download",
                 f"/documents/{letter_id}/letter"):
        assert client.get(f"/api/v1{path}", headers=other).status_code == 404, path
    db.expire_all()
    assert db.get(IssuedDocument, extract_id).downloads == 1
    checked = client.get(f"/api/v1/verify/{code.lower().replace('-', ' ')}", headers=other)
    assert checked.status_code == 200
    assert checked.get_json()["genuine"] is True and checked.get_json()["sha256"] == sha
    assert client.get("/api/v1/verify/AAAA-BBBB-CCCC-DDDD", headers=other).status_code == 404
