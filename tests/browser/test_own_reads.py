"""Who read my record, clicked through at a phone's width and a desk's: the body handling the
case checks, then discloses the reads it withheld; the person at the kiosk then sees the bodies
that read their record, by day, and never an officer's name."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SERVED, shot
from tests.browser.test_request_flow import sign_out
from tests.browser.test_sign_in_and_search import sign_in
from tests.helpers import SQLITE_ONLY, org
from tests.records.test_own_reads import _read, _under_case
from tests.worlds import World
from workflow.records.enums import CaseStage

pytestmark = [pytest.mark.browser, SQLITE_ONLY]


def _fits(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url


@pytest.mark.parametrize("width", [390, 1366])
def test_the_handling_body_discloses_and_the_person_sees_who_read(page, db, width):
    page.set_viewport_size({"width": width, "height": 844 if width < 800 else 900})
    with SERVED["app"].extensions["custody_sessions"]() as session:
        world = World(session)
        case = _under_case(world, db, CaseStage.INVESTIGATION)
        _read(world, db, "approver.hanoi")
        _read(world, db, "clerk.hanoi")
    police = org(db, "CA-HANOI").name
    sign_in(page, "detainee.demo")
    page.get_by_role("link", name="Ai đã xem hồ sơ của tôi").click()
    expect(page.get_by_role("heading", name="Ai đã xem hồ sơ của tôi")).to_be_visible()
    expect(page.get_by_role("note")).to_contain_text(case.number)
    assert police not in page.locator(".reads-list strong").all_inner_texts()
    _fits(page, width)
    shot(page, f"own-reads-withheld-{width}")

    kiosk, page = page, page.context.browser.new_context(
        base_url=SERVED["url"], viewport=page.viewport_size, locale="vi-VN").new_page()
    sign_in(page, "consent.hanoi")
    if width < 800:  # the navigation folds behind its menu button on a phone
        page.get_by_role("button", name="Danh mục").click()
    page.get_by_role("link", name="Lượt xem hồ sơ đang giữ kín với đương sự").click()
    row = page.locator(".case-list li").filter(has_text=case.number)
    expect(row).to_contain_text("Chưa cho đương sự biết lượt xem nào")
    _fits(page, width)
    shot(page, f"handled-cases-{width}")
    row.get_by_role("link", name="Cho đương sự biết các lượt xem đến nay").click()
    expect(page.get_by_role("heading", name="Kiểm tra trước khi quyết định")).to_be_visible()
    _fits(page, width)
    shot(page, f"disclose-reads-check-{width}")
    page.get_by_role("button", name="Xác nhận: cho họ biết các lượt xem").click()
    expect(page.locator(".case-list li").filter(has_text=case.number)).to_contain_text(
        "Đã cho đương sự biết các lượt xem đến")
    sign_out(page)
    page.context.close()

    page = kiosk
    page.reload()
    expect(page.locator(".reads-list").first).to_be_visible()
    assert police in page.locator(".reads-list strong").all_inner_texts()
    assert "Đỗ Quang Huy" not in page.content() and "approver.hanoi" not in page.content()
    _fits(page, width)
    shot(page, f"own-reads-{width}")
