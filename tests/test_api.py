"""The JSON API: bearer tokens only, the same policies and audit, errors as JSON, OpenAPI."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.helpers import last_audit, person_at
from workflow.models import AuditEntry


@pytest.fixture
def token(runner):
    def issue(username: str) -> dict:
        result = runner.invoke(args=["create-token", "--username", username, "--name", "test"])
        assert result.exit_code == 0, result.output
        return {"Authorization": f"Bearer {result.output.strip()}"}
    return issue


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


def test_file_submit_approve_and_timeline_over_the_api(client, db, token):
    requester, approver = token("requester.vks"), token("approver.hanoi")
    preview = client.post("/api/v1/requests/preview", json=body(db), headers=requester)
    assert preview.status_code == 200 and preview.get_json()["direct"] is False
    filed = client.post("/api/v1/requests", json=body(db, submit=True), headers=requester)
    assert filed.status_code == 201, filed.get_json()
    request_id = filed.get_json()["id"]
    assert filed.get_json()["state"] in ("awaiting_approval", "awaiting_consent")
    assert last_audit(db, "request.file").actor_name == "requester.vks"
    queue = client.get("/api/v1/requests?view=approval", headers=approver).get_json()
    assert request_id in [r["id"] for r in queue]
    seen = client.get(f"/api/v1/requests/{request_id}", headers=approver).get_json()["version"]
    unversioned = client.post(f"/api/v1/requests/{request_id}/approve", json={},
                              headers=approver)
    assert unversioned.status_code == 422  # a decision names the version it was made on
    approved = client.post(f"/api/v1/requests/{request_id}/approve", json={"version": seen},
                           headers=approver)
    assert approved.status_code == 200
    again = client.post(f"/api/v1/requests/{request_id}/approve", json={"version": seen},
                        headers=approver)
    assert again.status_code == 409 and "error" in again.get_json()
    timeline = client.get(f"/api/v1/requests/{request_id}/timeline", headers=requester)
    assert [t["trigger"] for t in timeline.get_json()] == ["file", "submit", "route", "approve"]


def test_policies_hold_over_the_api(client, db, token):
    requester, officer = token("requester.vks"), token("clerk.hcm")
    filed = client.post("/api/v1/requests", json=body(db, submit=True), headers=requester)
    request_id = filed.get_json()["id"]
    assert client.get(f"/api/v1/requests/{request_id}", headers=officer).status_code == 404
    response = client.post(f"/api/v1/requests/{request_id}/approve", json={"version": 1},
                           headers=officer)
    assert response.status_code == 404
    refused = db.execute(select(AuditEntry).where(AuditEntry.action == "access.refused")
                         .order_by(AuditEntry.seq.desc())).scalars().first()
    assert refused.actor_name == "clerk.hcm"
    bad = client.post("/api/v1/requests", json={"purpose": "x"}, headers=requester)
    assert bad.status_code == 422
