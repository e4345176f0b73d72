"""Requesters outside the state, clicked through at a phone's width and a desk's: the camp's
clerk registers a relative after checking their papers, records whom they act for and ends it
after a check page; the demo's lawyer opens the persons they act for and who read the record."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SERVED, shot
from tests.browser.test_request_flow import sign_out
from tests.browser.test_sign_in_and_search import sign_in
from tests.helpers import SQLITE_ONLY, kiosk_person, org
from tests.records.test_own_reads import _read, _under_case
from tests.worlds import World
from workflow.models import Person
from workflow.records.enums import CaseStage

pytestmark = [pytest.mark.browser, SQLITE_ONLY]


def _fits(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url


def _menu(page, width: int) -> None:
    if width < 800:  # the navigation folds behind its menu button on a phone
        page.get_by_role("button", name="Danh mục").click()


@pytest.mark.parametrize("width", [390, 1366])
def test_a_clerk_registers_a_relative_and_the_lawyer_sees_who_read(page, db, width):
    page.set_viewport_size({"width": width, "height": 844 if width < 800 else 900})
    with SERVED["app"].extensions["custody_sessions"]() as session:
        world = World(session)
        _under_case(world, db, CaseStage.TRIAL)  # at trial nothing is withheld
        _read(world, db, "approver.hanoi")
    person = db.get(Person, kiosk_person(db))
    number = person.identifiers[-1].value
    sign_in(page, "clerk.hanoi")
    _menu(page, width)
    page.get_by_role("link", name="Tổ chức, cá nhân đề nghị").click()
    expect(page.get_by_role("heading", name="Tổ chức, cá nhân đề nghị")).to_be_visible()
    expect(page.locator(".case-list")).to_contain_text("Luật sư Trần Minh Chính")
    page.get_by_role("link", name="Đăng ký người đề nghị").click()
    # Sent empty: every missing answer is said, and nothing is registered.
    page.get_by_role("button", name="Đăng ký và xác nhận").click()
    expect(page.locator(".error-summary, .alert-error").first).to_be_visible()
    page.get_by_label("Tư cách người đề nghị").select_option(label="Cá nhân khác")
    page.get_by_label("Họ và tên").fill("Phạm Thị Thu")
    page.get_by_label("Giấy tờ tùy thân đã kiểm tra").fill("CCCD 001190001111")
    page.get_by_label("Tên đăng nhập").fill(f"thu.pham.{width}")
    page.get_by_label("Mật khẩu ban đầu").fill("một mật khẩu đủ dài")
    _fits(page, width)
    shot(page, f"requester-register-{width}")
    page.get_by_role("button", name="Đăng ký và xác nhận").click()
    expect(page.get_by_role("heading", name="Phạm Thị Thu")).to_be_visible()
    expect(page.get_by_role("status").first).to_contain_text("Đã đăng ký Phạm Thị Thu")

    page.get_by_label("Số định danh của người bị tạm giữ, tạm giam").fill(number)
    page.get_by_label("Giấy ủy quyền của người này").check()
    page.get_by_label("Số, ngày của giấy tờ").fill("Giấy ủy quyền ngày 24/11/2026")
    page.get_by_label("Có hiệu lực từ").fill("24/11/2026")
    page.get_by_role("button", name="Ghi nhận việc đại diện").click()
    row = page.locator(".case-list li").filter(has_text=person.full_name)
    expect(row).to_contain_text("Giấy ủy quyền của người này")
    _fits(page, width)
    shot(page, f"requester-show-{width}")
    row.get_by_role("link", name="Chấm dứt việc đại diện này").click()
    expect(page.get_by_role("heading", name="Kiểm tra trước khi quyết định")).to_be_visible()
    _fits(page, width)
    shot(page, f"requester-end-mandate-{width}")
    page.get_by_role("button", name="Xác nhận: chấm dứt việc đại diện").click()
    # Back on the mandates of the camp's persons, whoever vouched for the requester.
    expect(page.get_by_role("heading", name="Việc đại diện cho người thuộc phạm vi quản lý")
           ).to_be_visible()
    expect(page.locator(".case-list li").filter(has_text="Phạm Thị Thu")).to_contain_text(
        "Đã chấm dứt ngày")
    expect(page.locator(".case-list li").filter(has_text="Luật sư Trần Minh Chính")
           ).not_to_contain_text("Đã chấm dứt")
    _fits(page, width)
    shot(page, f"mandates-{width}")
    sign_out(page)

    sign_in(page, "lawyer.demo")
    _menu(page, width)
    page.get_by_role("link", name="Người tôi đại diện").click()
    row = page.locator(".case-list li").filter(has_text=person.full_name)
    expect(row).to_contain_text("Người bào chữa đã đăng ký cho người này")
    _fits(page, width)
    shot(page, f"clients-{width}")
    row.get_by_role("link", name="Ai đã xem hồ sơ").click()
    expect(page.get_by_role("heading", name=f"Ai đã xem hồ sơ của {person.full_name}")
           ).to_be_visible()
    assert "Lê Thu Hà" not in page.content()  # never an officer's name
    expect(page.locator(".reads-list").first).to_contain_text(org(db, "CA-HANOI").name)
    _fits(page, width)
    shot(page, f"client-reads-{width}")
    # The lawyer asks about the client without typing the client's identity number.
    page.goto("/clients")
    page.locator(".case-list li").filter(has_text=person.full_name).get_by_role(
        "link", name="Đề nghị cung cấp thông tin về người này").click()
    expect(page.get_by_text(f"Về {person.full_name}, người Ông/Bà đại diện.")).to_be_visible()
    page.locator("input[name=categories]").first.check()
    page.get_by_label("Mục đích").fill("Phục vụ việc bào chữa cho thân chủ")
    page.get_by_label("Căn cứ", exact=True).fill("Điều 12 Nghị định 121/2017/NĐ-CP")
    _fits(page, width)
    shot(page, f"client-request-{width}")
    page.get_by_role("button", name="Lập và gửi yêu cầu").click()
    expect(page.get_by_role("status").first).to_contain_text("Đã gửi yêu cầu")
