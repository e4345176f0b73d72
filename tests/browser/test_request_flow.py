"""Article 12 in the browser: a procuracy files, the provincial police approves, the
investigation agency consents, and the procuracy sees the request approved."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import shot
from tests.browser.test_sign_in_and_search import sign_in
from tests.helpers import org
from workflow.context import Actor
from workflow.models import CustodyEpisode, Person
from workflow.records.enums import CaseStage
from workflow.requests.workdays import WorkCalendar

pytestmark = pytest.mark.browser


def person_under_investigation(db) -> Person:
    """A person held only at the Hà Nội camp whose case is under investigation today."""
    hanoi = org(db, "TTG-HANOI").id
    for person in db.execute(select(Person).join(CustodyEpisode).where(
            CustodyEpisode.facility_id == hanoi).order_by(Person.id)).scalars():
        cases = [e.case for e in person.episodes if e.case]
        if ({e.facility_id for e in person.episodes} == {hanoi} and cases and all(
                c.stage_on(Actor(None).today).stage is CaseStage.INVESTIGATION
                for c in cases)):
            return person
    raise LookupError("no such person in the demo data")


def sign_out(page) -> None:
    page.get_by_role("button", name="Đăng xuất").click()


def test_file_approve_consent_and_see_it_approved(page, backend, db):
    person = person_under_investigation(db)
    sign_in(page, "requester.vks")
    page.get_by_role("link", name="Lập yêu cầu").first.click()
    page.get_by_label("Số giấy tờ của người được yêu cầu").fill(person.identifiers[-1].value)
    page.get_by_label("Các lần tạm giữ, tạm giam", exact=True).check()
    page.get_by_label("a) Lệnh, quyết định, biên bản về bắt, tạm giữ, tạm giam").check()
    page.get_by_label("Mục đích").fill("Kiểm sát việc tạm giam theo kế hoạch quý IV")
    page.get_by_label("Căn cứ", exact=True).fill("Điều 12 Nghị định 121/2017/NĐ-CP")
    page.get_by_role("button", name="Xem trước tuyến xử lý").click()
    preview = page.locator(".route-preview")
    expect(preview).to_contain_text("Công an thành phố Hà Nội")
    expect(preview).to_contain_text("Cơ quan Cảnh sát điều tra Công an thành phố Hà Nội")
    due = WorkCalendar().add(Actor(None).today, 5).due
    expect(preview).to_contain_text(f"Dự kiến trả lời trước ngày {due:%d/%m/%Y}")
    shot(page, f"request-preview-{backend}")
    page.get_by_role("button", name="Lập và gửi yêu cầu").click()
    expect(page.get_by_text(re.compile(r"Đã gửi yêu cầu YC-2026-\d+"))).to_be_visible()
    expect(page.locator(".lead .state")).to_have_text("Chờ phê duyệt")
    number = page.locator("h1").inner_text().split()[-1]
    url = page.url
    sign_out(page)

    sign_in(page, "approver.hanoi")
    page.get_by_role("link", name="Yêu cầu", exact=True).click()
    page.get_by_role("link", name="Chờ tôi quyết định").click()
    expect(page.get_by_role("link", name=number)).to_be_visible()
    shot(page, f"queue-{backend}")
    page.get_by_role("link", name=number).click()
    page.locator("form.action-form").filter(has_text="Phê duyệt").get_by_role(
        "button", name="Phê duyệt").click()
    expect(page.locator(".panel-done h1")).to_have_text("Đã chấp thuận yêu cầu")
    expect(page.locator(".summary-list .state")).to_have_text("Chờ văn bản đồng ý")
    sign_out(page)

    sign_in(page, "consent.hanoi")
    expect(page.locator(".badge")).to_have_text("1")
    page.goto(url)
    consent = page.locator("form.action-form").filter(has_text="Số văn bản đồng ý")
    consent.get_by_label("Số văn bản đồng ý").fill("CV 125/CSĐT-ĐY")
    consent.get_by_role("button", name="Đồng ý", exact=True).click()
    expect(page.locator(".summary-list .state")).to_have_text("Đã phê duyệt")
    sign_out(page)

    sign_in(page, "requester.vks")
    page.goto(url)
    expect(page.locator(".lead .state")).to_have_text("Đã phê duyệt")
    expect(page.get_by_text("Đã phê duyệt: thông tin có thể được cung cấp.")).to_be_visible()
    timeline = page.locator("table").last
    expect(page.get_by_role("cell", name="CV 125/CSĐT-ĐY", exact=False)).to_be_visible()
    expect(page.locator(".state-diagram .node.current")).to_contain_text("Đã phê duyệt")
    assert timeline is not None
    shot(page, f"request-approved-{backend}")
