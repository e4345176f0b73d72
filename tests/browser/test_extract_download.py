"""An extract in the browser: the approver prepares and previews it, releases it, the requester
downloads exactly that file, and anyone else gets 404 on the same link."""

from __future__ import annotations

import hashlib
import re
import subprocess

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import shot
from tests.browser.test_request_flow import sign_out
from tests.browser.test_sign_in_and_search import sign_in
from tests.worlds import World, arrange
from workflow.documents.enums import IssuedState
from workflow.models import IssuedDocument

pytestmark = pytest.mark.browser


def test_prepare_release_download_and_404_for_others(app, page, backend, db, tmp_path):
    with app.extensions["custody_sessions"]() as session:
        _person, request = arrange(World(session), db)
        request_id, number = request.id, request.number

    sign_in(page, "approver.hanoi")
    page.goto(f"/requests/{request_id}")
    page.get_by_role("button", name="Lập phiếu cung cấp thông tin").click()
    expect(page.get_by_text("Đã thực hiện: lập phiếu cung cấp thông tin.")).to_be_visible()
    prepared = db.scalars(select(IssuedDocument).where(
        IssuedDocument.request_id == request_id)).one()
    expect(page.locator(".action-form").filter(has_text="Cấp đúng văn bản này")).to_contain_text(
        prepared.sha256)
    page.get_by_label("Số lượt được tải").fill("2")
    shot(page, f"extract-release-{backend}")
    release_form = page.locator(".action-form").filter(has_text="Cấp đúng văn bản này")
    # Not without having opened the document first...
    release_form.get_by_role("button", name="Cung cấp").click()
    expect(page.locator(".error-summary")).to_contain_text("Hãy mở bản xem trước")
    # ...so the approver opens it (a new tab), then releases it.
    release_form = page.locator(".action-form").filter(has_text="Cấp đúng văn bản này")
    with page.context.expect_page() as opened:
        release_form.get_by_role("link", name=re.compile("bản dự thảo phiếu")).click()
    opened.value.close()
    release_form.get_by_label("Số lượt được tải").fill("2")
    release_form.get_by_role("button", name="Cung cấp").click()
    # What is released, to whom, until when, is checked before it is done...
    expect(page.get_by_role("heading", name="Kiểm tra trước khi quyết định")).to_be_visible()
    expect(page.locator(".summary-list")).to_contain_text("bản dự thảo phiếu")
    expect(page.locator(".summary-list")).to_contain_text("Số lần được tải")
    page.get_by_role("button", name="Xác nhận: cung cấp").click()
    # ...and the confirmation says what was done.
    expect(page.locator(".panel-done h1")).to_have_text("Đã cung cấp thông tin")
    expect(page.locator(".summary-list")).to_contain_text("Đã cung cấp")
    sign_out(page)

    sign_in(page, "requester.vks")
    page.goto(f"/requests/{request_id}")
    link = page.get_by_role("link", name="Tải phiếu cung cấp thông tin")
    expect(link).to_be_visible()
    shot(page, f"extract-requester-{backend}")
    with page.expect_download() as info:
        link.click()
    download = info.value
    path = tmp_path / "downloaded.pdf"
    download.save_as(path)
    data = path.read_bytes()
    db.expire_all()
    released = db.get(IssuedDocument, prepared.id)
    assert released.state is IssuedState.RELEASED and released.downloads == 1
    assert hashlib.sha256(data).hexdigest() == released.sha256
    assert released.number.endswith("/PCCTT-CAHN") and f"Số: {released.number}" in subprocess.run(
        ["pdftotext", str(path), "-"], check=True, capture_output=True, text=True).stdout
    text = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout
    assert number in text and "PHIẾU CUNG CẤP THÔNG TIN" in text
    href = link.get_attribute("href")
    sign_out(page)

    for other in ("clerk.hanoi", "consent.hanoi"):
        sign_in(page, other)
        response = page.goto(href)
        assert response is not None and response.status == 404, other
        sign_out(page)
    db.expire_all()
    assert db.get(IssuedDocument, prepared.id).downloads == 1
