"""Extracts and letters through the pages: prepare, preview, release bound to the hash, download,
and the written notices of decisions."""

from __future__ import annotations

import hashlib
import re
import threading

import requests
from sqlalchemy import select
from werkzeug.serving import make_server

from tests.helpers import code_for, version_of
from tests.worlds import SETTINGS, World, arrange, ask, fresh_person, text_of
from workflow.documents import extracts, issuing, rendering
from workflow.documents.enums import IssuedKind, IssuedState
from workflow.models import AccessRequest, IssuedDocument
from workflow.records.enums import CaseStage
from workflow.requests import kernel
from workflow.requests.enums import RequestState


def documents(db, request_id: int) -> list[IssuedDocument]:
    db.expire_all()
    return list(db.scalars(select(IssuedDocument).where(
        IssuedDocument.request_id == request_id).order_by(IssuedDocument.id)))


def test_approver_previews_then_releases_exactly_that_document(app, client, auth, db,
                                                               tmp_path):
    with app.extensions["custody_sessions"]() as session:
        _person, request = arrange(World(session), db)
        request_id, number = request.id, request.number
    url = f"/requests/{request_id}"
    auth.login("approver.hanoi")
    page = client.get(url).get_data(as_text=True)
    assert "Lập phiếu cung cấp thông tin" in page
    assert client.post(url, data={"action": "prepare",
                                  "version": version_of(db, request_id)}).status_code == 302
    [prepared] = documents(db, request_id)
    page = client.get(url).get_data(as_text=True)
    assert prepared.sha256 in page and f"/documents/{prepared.id}/preview.pdf" in page
    preview = client.get(f"/documents/{prepared.id}/preview.pdf")
    assert preview.status_code == 200 and preview.mimetype == "application/pdf"
    assert hashlib.sha256(preview.data).hexdigest() == prepared.sha256
    assert preview.headers["Cache-Control"] == "no-store"
    # A release whose hash is not the previewed one changes nothing.
    tampered = {"action": "release", "release-document_id": str(prepared.id),
                "release-sha256": "a" * 64, "release-valid_days": "7",
                "release-download_limit": "1", "version": version_of(db, request_id)}
    response = client.post(url, data=tampered)
    assert response.status_code == 422
    assert "không phải bản đồng chí đã xem trước" in response.get_data(as_text=True)
    assert db.get(AccessRequest, request_id).state is RequestState.APPROVED
    genuine = tampered | {"release-sha256": prepared.sha256}
    check = client.post(url, data=genuine)  # first a page to check what is released, to whom
    assert check.status_code == 200 and "Kiểm tra trước khi quyết định" in check.get_data(
        as_text=True)
    assert db.get(AccessRequest, request_id).state is RequestState.APPROVED
    response = client.post(url, data=genuine | {"confirmed": "yes"})
    assert response.status_code == 302 and response.location.endswith("/done/release")
    db.expire_all()
    assert db.get(AccessRequest, request_id).state is RequestState.RELEASED
    [released] = documents(db, request_id)
    assert released.state is IssuedState.RELEASED and released.download_limit == 1
    auth.logout()

    auth.login("requester.vks")
    page = client.get(url).get_data(as_text=True)
    assert f"/documents/{released.id}/download" in page
    got = client.get(f"/documents/{released.id}/download")
    # The issued document: the previewed draft, numbered, coded and signed at release.
    assert got.status_code == 200 and hashlib.sha256(got.data).hexdigest() == released.sha256
    assert released.contents["draft_sha256"] == hashlib.sha256(preview.data).hexdigest()
    assert "attachment" in got.headers["Content-Disposition"]
    issued = text_of(got.data, tmp_path)
    assert number in issued and f"Số: {released.number}" in issued
    assert f"Mã xác thực: {released.code}" in issued and "DỰ THẢO" not in issued
    again = client.get(f"/documents/{released.id}/download")
    assert again.status_code == 410
    assert "Đã hết số lượt tải (1)" in again.get_data(as_text=True)
    assert client.get(f"/documents/{released.id}/preview.pdf").status_code == 404


def test_a_refusal_and_a_return_come_with_their_written_notices(app, client, auth, db,
                                                                tmp_path):
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        refused = ask(world, "requester.vks", fresh_person(world, db, CaseStage.CLOSED)).id
        returned = ask(world, "requester.vks", fresh_person(world, db, CaseStage.CLOSED)).id
    auth.login("approver.hanoi")
    refusal = {
        "action": "refuse", "version": version_of(db, refused), "refuse-reason_code": "purpose",
        "refuse-text": "Mục đích nêu chung chung, không gắn với nhiệm vụ kiểm sát cụ thể"}
    check = client.post(f"/requests/{refused}", data=refusal).get_data(as_text=True)
    assert "Kiểm tra trước khi quyết định" in check and "không gắn với nhiệm vụ" in check
    assert db.get(AccessRequest, refused).state is RequestState.AWAITING_APPROVAL
    response = client.post(f"/requests/{refused}", data=refusal | {"confirmed": "yes"})
    assert response.status_code == 302 and response.location.endswith("/done/refuse")
    done = client.get(response.location).get_data(as_text=True)
    response = client.post(f"/requests/{returned}", data={
        "action": "return_for_supplement", "version": version_of(db, returned),
        "return-reason": "Bổ sung quyết định phân công kiểm sát viên"})
    assert response.status_code == 302
    auth.logout()
    auth.login("requester.vks")
    [notice] = documents(db, refused)
    assert notice.kind is IssuedKind.REFUSAL and notice.state is IssuedState.RELEASED
    # the confirmation page names the notice, and a refusal is not dressed as a success
    assert "Đã từ chối yêu cầu" in done and notice.number in done
    assert "panel-refusal" in done and "panel-done" not in done
    page = client.get(f"/requests/{refused}").get_data(as_text=True)
    assert f"/documents/{notice.id}/letter.pdf" in page
    pdf = client.get(f"/documents/{notice.id}/letter.pdf")
    assert pdf.status_code == 200
    text = text_of(pdf.data, tmp_path)
    assert "từ chối cung cấp thông tin" in text
    assert "Mục đích nêu chung chung, không gắn với nhiệm vụ kiểm sát cụ thể" in text
    assert re.search(r"Số: \d\d/TB-CAHN", text)
    [back] = documents(db, returned)
    assert back.kind is IssuedKind.RETURN
    text = text_of(client.get(f"/documents/{back.id}/letter.pdf").data, tmp_path)
    assert "Bổ sung quyết định phân công kiểm sát viên" in text
    # The register numbers the two notices one after the other.
    assert (notice.org_id, back.serial) == (back.org_id, notice.serial + 1)
    auth.logout()
    auth.login("clerk.hcm")
    assert client.get(f"/documents/{notice.id}/letter.pdf").status_code == 404


def test_a_failed_render_leaves_the_request_as_it_was(app, client, auth, db, monkeypatch):
    with app.extensions["custody_sessions"]() as session:
        _person, request = arrange(World(session), db)
        request_id = request.id

    def broken(*_args, **_kwargs):
        raise RuntimeError("font cache unavailable")

    monkeypatch.setattr(rendering.Renderer, "render_pages", broken)
    auth.login("approver.hanoi")
    response = client.post(f"/requests/{request_id}", data={
        "action": "prepare", "version": version_of(db, request_id)})
    assert response.status_code == 422
    assert "Không lập được văn bản (RuntimeError: font cache unavailable)" in \
        response.get_data(as_text=True)
    assert documents(db, request_id) == []
    assert db.get(AccessRequest, request_id).state is RequestState.APPROVED


def test_the_verification_page_takes_a_typed_code(app, client, db):
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        _person, request = arrange(world, db)
        document = world.act(extracts.prepare_extract, SETTINGS,
                             world.actor("approver.hanoi"), request.id)
        world.act(extracts.preview, world.actor("approver.hanoi"), document.id)
        world.act(extracts.release_extract, kernel.Workflow(), SETTINGS,
                  world.actor("approver.hanoi"), request.id, document_id=document.id,
                  sha256=document.sha256)
        code = document.code
    response = client.get("/verify", query_string={"code": code.lower()})
    assert response.status_code == 302 and response.location.endswith(f"/verify/{code}")
    page = client.get(response.location).get_data(as_text=True)
    assert "Văn bản hợp lệ" in page and "Kiểm sát viên Vũ Thị Mai" in page
    # Four characters cannot be a code: the page says how to type one, not that it is forged.
    malformed = client.get("/verify/ZZZZ")
    assert malformed.status_code == 422
    assert "không thể là mã xác thực" in malformed.get_data(as_text=True)


def test_without_a_public_address_a_document_points_where_the_pages_are_served(app, db,
                                                                                tmp_path):
    """CUSTODY_PUBLIC_BASE_URL unset: an extract prepared through the pages of a server at
    another host and port carries that address in its verification link (and so its QR)."""
    assert not app.config["PUBLIC_BASE_URL"]
    with app.extensions["custody_sessions"]() as session:
        _person, request = arrange(World(session), db)
        request_id = request.id
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://localhost:{server.server_port}"  # the name the client wrote: its Host
    try:
        with requests.Session() as browser:
            browser.post(f"{base}/login", data={"username": "approver.hanoi",
                                                "password": "approver.hanoi#2026",
                                                "acknowledge": "y"}, timeout=30)
            with app.extensions["custody_sessions"]() as session:
                code = code_for(session, "approver.hanoi")
            browser.post(f"{base}/login/code", data={"code": code}, timeout=30)
            browser.post(f"{base}/requests/{request_id}", timeout=60, data={
                "action": "prepare", "version": version_of(db, request_id)})
            [prepared] = documents(db, request_id)
            pdf = browser.get(f"{base}/documents/{prepared.id}/preview.pdf", timeout=30)
            # The link comes with the code, at release.
            browser.post(f"{base}/requests/{request_id}", timeout=60, data={
                "action": "release", "release-document_id": str(prepared.id),
                "release-sha256": prepared.sha256, "release-valid_days": "7",
                "release-download_limit": "1", "version": version_of(db, request_id),
                "confirmed": "yes"})
    finally:
        server.shutdown()
    assert pdf.status_code == 200
    db.expire_all()
    [released] = documents(db, request_id)
    assert released.state is IssuedState.RELEASED
    text = text_of(released.pdf, tmp_path).replace(" ", "")  # the link may wrap at a dash
    assert f"{base}/verify/{released.code}" in text
    assert "127.0.0.1:5000" not in text and server.server_port != 5000


def test_the_documents_address_is_the_configured_one_else_the_served_one():
    settings = issuing.ExtractSettings(passphrase="x")
    assert issuing.verify_url(settings, "AB") == "http://127.0.0.1:5000/verify/AB"
    served = issuing.ExtractSettings(passphrase="x", serving_url=lambda: "http://h:8123/")
    assert issuing.verify_url(served, "AB") == "http://h:8123/verify/AB"
    configured = issuing.ExtractSettings(passphrase="x", base_url="https://csdl.example.vn/",
                                         serving_url=lambda: "http://h:8123/")
    assert issuing.verify_url(configured, "AB") == "https://csdl.example.vn/verify/AB"


def test_a_document_number_beyond_what_the_register_holds_is_no_such_document(
        client, auth, db, objects):
    """A forged document id past the column's range (the form takes 12 digits) is refused as
    no such document on either database, not a server error."""
    request_id = db.get(IssuedDocument, objects["extract"]).request_id
    auth.login("approver.hanoi")
    for action, fields in [
            ("revoke", {"revoke-document_id": "999999999999",
                        "revoke-reason": "Thu hồi để thử số quá lớn"}),
            ("release", {"release-document_id": "2147483648", "release-sha256": "a" * 64,
                         "release-valid_days": "3", "release-download_limit": "1"})]:
        response = client.post(f"/requests/{request_id}", data={
            "action": action, "version": version_of(db, request_id), "confirmed": "yes",
            **fields})
        assert response.status_code in (403, 404, 409, 422), action
    assert extracts.documents_of(db, request_id)[-1].state is IssuedState.RELEASED
