"""A body's work queue clicked through at a phone's width and a desk's: the approver takes a
request, filters to their own, selects two and extends them with one reason, after checking."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SERVED, shot
from tests.browser.test_sign_in_and_search import sign_in
from tests.helpers import SQLITE_ONLY
from tests.requests.test_work_queue import _asked
from tests.worlds import World
from workflow.models import AccessRequest

pytestmark = [pytest.mark.browser, SQLITE_ONLY]


def _fits(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url


@pytest.mark.parametrize("width", [390, 1366])
def test_an_approver_takes_then_extends_two_requests_at_once(page, db, width):
    page.set_viewport_size({"width": width, "height": 844 if width < 800 else 900})
    with SERVED["app"].extensions["custody_sessions"]() as session:
        first, second = (r.number for r in _asked(World(session), db, 2))
    sign_in(page, "approver.hanoi")
    page.goto("/requests/?view=approval")
    row = page.locator("tbody tr").filter(has_text=first)
    expect(row).to_contain_text("chưa có người nhận")
    _fits(page, width)
    shot(page, f"work-queue-{width}")
    row.get_by_role("button", name="Nhận xử lý").click()
    expect(page.get_by_text("Đồng chí đã nhận xử lý yêu cầu.")).to_be_visible()
    page.get_by_role("link", name="Của tôi (hoặc tôi dự phòng)").click()
    expect(page.locator("tbody")).to_contain_text(first)
    expect(page.locator("tbody")).not_to_contain_text(second)
    page.get_by_role("link", name="Tất cả").click()
    for number in (first, second):
        page.get_by_label(f"Chọn {number}").check()
    page.get_by_label("Gia hạn thời hạn giải quyết").check()
    page.get_by_label("Lý do, ghi vào từng yêu cầu đã chọn").fill(
        "Cần thêm thời gian xác minh theo chỉ đạo")
    page.get_by_role("button", name="Tiếp tục").click()
    expect(page.get_by_role("heading", name="Kiểm tra trước khi quyết định")).to_be_visible()
    expect(page.locator("dl.summary-list")).to_contain_text(first)
    _fits(page, width)
    shot(page, f"work-queue-check-{width}")
    page.get_by_role("button", name="Xác nhận").click()
    expect(page.get_by_text("Đã thực hiện cho 2 yêu cầu.")).to_be_visible()
    extended = db.query(AccessRequest).filter(AccessRequest.number.in_([first, second])).all()
    db.expire_all()
    assert all(r.extended for r in db.query(AccessRequest).filter(
        AccessRequest.number.in_([first, second])))
    assert len(extended) == 2
