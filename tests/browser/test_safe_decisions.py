"""Decisions that cannot be undone, as an approver meets them on a phone and a desk: nothing is
chosen for them, they check what will happen before it happens, and are told what was done."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SERVED, shot
from tests.browser.test_request_flow import person_under_investigation
from tests.browser.test_sign_in_and_search import sign_in
from tests.helpers import SQLITE_ONLY
from workflow.models import AccessRequest, IssuedDocument
from workflow.requests.enums import RequestState

pytestmark = [pytest.mark.browser, SQLITE_ONLY]


def _state(request_id: int) -> RequestState:
    with SERVED["app"].extensions["custody_sessions"]() as session:
        return session.get(AccessRequest, request_id).state


@pytest.mark.parametrize("width", [390, 1366])
def test_a_refusal_needs_a_chosen_reason_a_check_and_ends_on_what_was_done(page, objects,
                                                                          width):
    request_id = objects["request"]
    page.set_viewport_size({"width": width, "height": 844 if width < 800 else 900})
    sign_in(page, "approver.hanoi")
    page.goto(f"/requests/{request_id}")
    refuse = page.locator("form.action-form").filter(has_text="Lý do")
    reasons = refuse.get_by_role("group", name="Lý do")
    expect(reasons.get_by_role("radio")).to_have_count(6)
    for radio in reasons.get_by_role("radio").all():
        expect(radio).not_to_be_checked()  # nothing chosen for the signer
    refuse.get_by_role("button", name="Từ chối").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Hãy chọn lý do")
    assert _state(request_id) is RequestState.AWAITING_APPROVAL
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    refuse = page.locator("form.action-form").filter(has_text="Lý do")
    refuse.get_by_label("Mục đích nêu ra không phù hợp").check()
    refuse.get_by_label("Giải thích").fill("Không nêu vụ việc cụ thể nào cần kiểm sát")
    refuse.get_by_role("button", name="Từ chối").click()
    expect(page.get_by_role("heading", name="Kiểm tra trước khi quyết định")).to_be_visible()
    expect(page.locator(".summary-list")).to_contain_text("Không nêu vụ việc cụ thể")
    expect(page.locator(".warning-text")).to_contain_text("Không thể hoàn tác")
    shot(page, f"refuse-check-{width}")
    assert _state(request_id) is RequestState.AWAITING_APPROVAL
    # Going back keeps what was typed and chosen.
    page.get_by_role("button", name="Quay lại để sửa").click()
    refuse = page.locator("form.action-form").filter(has_text="Lý do")
    expect(refuse.get_by_label("Giải thích")).to_have_value(
        "Không nêu vụ việc cụ thể nào cần kiểm sát")
    expect(refuse.get_by_label("Mục đích nêu ra không phù hợp")).to_be_checked()
    refuse.get_by_role("button", name="Từ chối").click()
    page.get_by_role("button", name=re.compile("Xác nhận: từ chối")).click()

    panel = page.locator(".panel")
    expect(panel).to_contain_text("Đã từ chối yêu cầu")
    assert "panel-refusal" in panel.get_attribute("class")  # not dressed as a success
    with SERVED["app"].extensions["custody_sessions"]() as session:
        notice = session.query(IssuedDocument).filter_by(request_id=request_id).one()
        number = notice.number
    expect(page.locator(".summary-list")).to_contain_text(number)
    shot(page, f"refuse-done-{width}")
    assert _state(request_id) is RequestState.REFUSED
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_search_results_survive_back_and_the_language_switch(page):
    sign_in(page, "clerk.hanoi")
    page.goto("/search")
    page.get_by_label("Họ tên hoặc số giấy tờ").fill("nguyen van")
    page.get_by_role("button", name="Tra cứu").click()
    heading = page.get_by_role("heading", name=re.compile(r"Tìm thấy \d+ người"))
    expect(heading).to_be_visible()
    assert "?s=" in page.url and "nguyen" not in page.url.lower()
    page.locator("table.table tbody tr a").first.click()
    expect(page.get_by_label("Quản lý hồ sơ")).to_be_visible()  # the record asks its purpose
    page.go_back()  # no "Confirm Form Resubmission": the results page is a GET
    expect(heading).to_be_visible()
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name=re.compile(r"\d+ persons? found"))).to_be_visible()
    expect(page.get_by_label("Name or identity number")).to_have_value("nguyen van")


def test_the_route_preview_is_brought_into_view(page, db):
    person = person_under_investigation(db)
    sign_in(page, "requester.vks")
    page.goto("/requests/new")
    page.get_by_label("Số giấy tờ của người được yêu cầu").fill(person.identifiers[-1].value)
    page.get_by_label("Các lần tạm giữ, tạm giam", exact=True).check()
    page.get_by_label("Mục đích").fill("Kiểm sát việc tạm giam theo kế hoạch quý IV")
    page.get_by_label("Căn cứ", exact=True).fill("Điều 12 Nghị định 121/2017/NĐ-CP")
    page.get_by_role("button", name="Xem trước tuyến xử lý").click()
    preview = page.locator(".route-preview")
    expect(preview).to_be_focused()
    expect(preview).to_be_in_viewport()
