"""The pages of who may file (Decree 121/2017 Art. 12 §2–3), at a desk's width and a phone's:
the one step that asks what a record is opened for, and a clerk filing for their facility, with
the figures of their own scope going straight to preparation."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.browser.test_sign_in_and_search import sign_in
from tests.helpers import SQLITE_ONLY, person_at

pytestmark = [pytest.mark.browser, SQLITE_ONLY]
WIDTHS = pytest.mark.parametrize("width", [390, 1366])


def _fits(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url


@WIDTHS
def test_a_clerk_says_what_a_record_is_opened_for_then_reads_it(page, db, width):
    person = person_at(db, "TTG-HANOI", skip_kiosk=True)
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "clerk.hanoi")
    page.goto(f"/persons/{person.id}")
    expect(page.get_by_role("heading", name="Vì sao đồng chí mở hồ sơ này?")).to_be_visible()
    expect(page.get_by_text(person.identifiers[-1].value)).to_have_count(0)
    _fits(page, width)
    shot(page, f"filing/purpose-{width}")
    page.get_by_role("button", name="Mở hồ sơ").click()  # nothing chosen: told so, at the top
    expect(page.locator(".error-summary")).to_contain_text("Hãy chọn mục đích.")
    page.get_by_label("Mục đích khác").check()
    page.get_by_label("Mục đích, nêu cụ thể").fill("Đối chiếu theo công văn số 12/CV")
    page.get_by_role("button", name="Mở hồ sơ").click()
    expect(page).to_have_url(re.compile(rf"/persons/{person.id}$"))
    expect(page.get_by_role("heading", name=person.full_name)).to_be_visible()
    page.goto(f"/persons/{person.id}/correct")  # asked once for this person
    expect(page.get_by_role("heading", name="Vì sao đồng chí mở hồ sơ này?")).to_have_count(0)


@WIDTHS
def test_a_clerk_files_for_the_facility_and_its_own_figures_need_no_approval(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "clerk.hcm")
    page.goto("/requests/new")
    expect(page.get_by_text("Đồng chí đề nghị nhân danh")).to_be_visible()
    _fits(page, width)
    shot(page, f"filing/new-request-{width}")
    page.get_by_label("Yêu cầu về").select_option("statistics")
    page.get_by_label("Nội dung cần thống kê").fill("Số người bị tạm giam tại trại trong tháng 11")
    expect(page.get_by_label("Số liệu về phạm vi của")).to_have_value(re.compile(r"\d+"))
    page.get_by_label("Mục đích", exact=True).fill("Lập báo cáo thống kê định kỳ của trại")
    page.get_by_label("Căn cứ", exact=True).fill("Điều 12 Nghị định 121/2017/NĐ-CP")
    page.get_by_role("button", name="Lập và gửi yêu cầu").click()
    expect(page.get_by_text("Đã phê duyệt", exact=True).first).to_be_visible()
    expect(page.get_by_text("không cần phê duyệt")).to_be_visible()
    _fits(page, width)
    shot(page, f"filing/statistics-request-{width}")
