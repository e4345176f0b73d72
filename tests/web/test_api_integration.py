"""The API for agencies' own systems: the requester's reference (a crosswalk), paginated
lists with Link headers, and a released extract read as data under the download's rules."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from tests.helpers import last_audit, system_token
from tests.web.test_api import body
from tests.worlds import SETTINGS, World, arrange, prepare, release, text_of
from workflow.context import Actor
from workflow.documents import extracts, reading
from workflow.errors import Gone
from workflow.models import AccessRequest, IssuedDocument


def test_the_requesters_reference_is_kept_shown_found_and_unique_while_open(app, client, db,
                                                                              auth):
    requester = system_token(app)
    filed = client.post("/api/v1/requests", headers=requester,
                        json=body(db, submit=True, requester_reference="VKS-HN/2026/0142"))
    assert filed.status_code == 201, filed.get_json()
    assert filed.get_json()["requester_reference"] == "VKS-HN/2026/0142"
    other = client.post("/api/v1/requests", headers=requester, json=body(db))
    found = client.get("/api/v1/requests?view=mine&requester_reference=VKS-HN/2026/0142",
                       headers=requester).get_json()
    assert [r["id"] for r in found] == [filed.get_json()["id"]]
    assert other.get_json()["requester_reference"] is None
    # The database holds the rule too (two filings at once: the second's insert is refused).
    with pytest.raises(IntegrityError):
        db.execute(update(AccessRequest).where(AccessRequest.id == other.get_json()["id"])
                   .values(requester_reference="VKS-HN/2026/0142"))
    db.rollback()
    # The same reference names one unfinished request of the body: refused while it is open…
    again = client.post("/api/v1/requests", headers=requester,
                        json=body(db, requester_reference="VKS-HN/2026/0142"))
    assert again.status_code == 409 and "VKS-HN/2026/0142" in again.get_json()["error"]
    # … and free again once that one is withdrawn.
    request_id = filed.get_json()["id"]
    version = client.get(f"/api/v1/requests/{request_id}", headers=requester).get_json()
    assert client.post(f"/api/v1/requests/{request_id}/withdraw", headers=requester, json={
        "version": version["version"], "reason": "Nộp lại"}).status_code == 200
    reused = client.post("/api/v1/requests", headers=requester,
                         json=body(db, requester_reference="VKS-HN/2026/0142"))
    assert reused.status_code == 201
    # Another body's software finds nothing by it (the list's rule is the single read's).
    stranger = system_token(app, "system.vks.hcm", "VKS-HOCHIMINH")
    assert client.get("/api/v1/requests?view=mine&requester_reference=VKS-HN/2026/0142",
                      headers=stranger).get_json() == []
    # Filed on the page, it is shown on the request's page.
    auth.login("requester.vks")
    response = client.post("/requests/new", data={
        **body(db), "subject_kind": "person", "provision": "pdf", "urgency": "normal",
        "channel": "network", "requester_reference": "HS 77/VKS", "action": "file"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "HS 77/VKS" in page and "Số hồ sơ của cơ quan đề nghị" in page
    db.expire_all()
    assert db.scalar(select(AccessRequest.requester_reference).order_by(
        AccessRequest.id.desc()).limit(1)) == "HS 77/VKS"


def test_lists_come_a_page_at_a_time_with_links_to_the_next(app, client, db):
    requester = system_token(app)
    ids = [client.post("/api/v1/requests", headers=requester, json=body(db)).get_json()["id"]
           for _ in range(3)]
    first = client.get("/api/v1/requests?view=mine&page_size=2", headers=requester)
    assert first.status_code == 200
    assert [r["id"] for r in first.get_json()] == sorted(ids, reverse=True)[:2]
    meta = json.loads(first.headers["X-Pagination"])
    assert meta["total"] == 3 and meta["total_pages"] == 2 and meta["next_page"] == 2
    links = dict(reversed(part.split("; ")) for part in first.headers["Link"].split(", "))
    assert set(links) == {'rel="first"', 'rel="next"', 'rel="last"'}
    following = links['rel="next"'].strip("<>").removeprefix("http://localhost")
    assert "view=mine" in following  # the list's own parameters are kept
    second = client.get(following, headers=requester)
    assert [r["id"] for r in second.get_json()] == [min(ids)]
    assert 'rel="prev"' in second.headers["Link"] and 'rel="next"' not in second.headers["Link"]
    assert client.get("/api/v1/requests?page_size=101", headers=requester).status_code == 422
    far = client.get(f"/api/v1/requests?view=mine&page={10**18}", headers=requester)
    assert far.status_code == 200 and far.get_json() == []  # past the end: nothing, no error
    assert json.loads(last_audit(db, "request.list").details)["total"] == 3
    # Another body's software: an empty list, as its single reads would be 404.
    stranger = system_token(app, "system.vks.hcm", "VKS-HOCHIMINH")
    none = client.get("/api/v1/requests?view=mine", headers=stranger)
    assert none.get_json() == [] and json.loads(none.headers["X-Pagination"])["total"] == 0
    timeline = client.get(f"/api/v1/requests/{ids[0]}/timeline?page_size=1", headers=requester)
    assert len(timeline.get_json()) == 1 and "X-Pagination" in timeline.headers


def test_a_released_extract_is_read_as_data_with_the_pdfs_fields_and_withholding(
        app, client, db, tmp_path):
    filer = system_token(app)  # the procuracy's software, named on the release
    outsider = system_token(app, "system.vks.hcm", "VKS-HOCHIMINH")  # named, another body
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        _person, request = arrange(world, db)
        extract = release(world, prepare(world, request.id), download_limit=2,
                          named=["system.vks", "system.vks.hcm"])
        extract_id = extract.id
    document = db.get(IssuedDocument, extract_id)
    read = client.get(f"/api/v1/documents/{extract_id}/contents", headers=filer)
    assert read.status_code == 200, read.get_json()
    data = read.get_json()
    assert data["document"]["sha256"] == document.sha256 and data["document"]["downloads"] == 1
    assert data["granted"] == ["a_orders", "c_identity", "episodes"]
    assert {s["category"] for s in data["sections"]} == {"a_orders", "c_identity", "episodes"}
    # The same withholding as the PDF: the refused part and the classified document counted,
    # never shown.
    assert data["withheld"] == document.contents["withheld"] and len(data["withheld"]) == 2
    raw = json.dumps(data, ensure_ascii=False)
    assert "TUYỆT-MẬT-XYZ" not in raw and "KHÔNG-ĐƯỢC-LỘ" not in raw
    # The same fields as the PDF: every title and value it holds is printed on the extract.
    pdf = text_of(document.pdf, tmp_path)
    for section in data["sections"]:
        assert section["title"] in pdf
        for value in [f["value"] for f in section["facts"]] + sum(section["rows"], []):
            assert " ".join(value.split()) in pdf, value
    assert "Lệnh tạm giam bổ sung" in raw
    # Audited as a download, and counted as one.
    entry = last_audit(db, "extract.download")
    assert entry.object_id == str(extract_id) and json.loads(entry.details)["format"] == "json"
    db.expire_all()
    assert db.get(IssuedDocument, extract_id).downloads == 1
    # A recipient outside the requesting body gets the PDF only; no download is counted.
    refused = client.get(f"/api/v1/documents/{extract_id}/contents", headers=outsider)
    assert refused.status_code == 403
    assert last_audit(db).action == "access.refused"  # naming the token that asked
    assert client.get(f"/api/v1/documents/{extract_id}/contents",
                      headers=filer).status_code == 200
    spent = client.get(f"/api/v1/documents/{extract_id}/contents", headers=filer)
    assert spent.status_code == 410 and "(2)" in spent.get_json()["error"]
    db.expire_all()
    assert db.get(IssuedDocument, extract_id).downloads == 2


def test_the_data_is_read_only_while_the_extract_is_valid(app, client, db):
    filer = system_token(app)
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        _person, request = arrange(world, db)
        extract = release(world, prepare(world, request.id), named=["system.vks"],
                          valid_days=10)
        extract_id, request_id, version = extract.id, request.id, extract.request.version
        later = Actor(world.user("system.vks"), "127.0.0.1",
                      dt.datetime.now(dt.UTC) + dt.timedelta(days=60))
        try:
            reading.read_extract(session, SETTINGS, later, extract_id)
            raise AssertionError("an expired extract was read")
        except Gone as gone:
            assert "until" in gone.message
        session.commit()
        world.act(extracts.revoke, world.actor("approver.hanoi"), request_id, extract_id,
                  reason="Cấp nhầm người nhận, thu hồi", expected_version=version)
    revoked = client.get(f"/api/v1/documents/{extract_id}/contents", headers=filer)
    assert revoked.status_code == 410 and "Cấp nhầm" in revoked.get_json()["error"]
    db.expire_all()
    assert db.get(IssuedDocument, extract_id).downloads == 0
