"""A records clerk signs in, searches without diacritics, opens a record, corrects it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SERVED, shot
from tests.conftest import password_of
from tests.helpers import SQLITE_ONLY, code_for, kiosk_person, person_at, register_kiosk
from web.kiosk.device import COOKIE as KIOSK_COOKIE
from workflow.demo.world import DEMO_KIOSK_PIN, DETAINEE_ACCOUNT

pytestmark = [pytest.mark.browser, SQLITE_ONLY]


def kiosk_sign_in(page, number: str | None = None, pin: str = DEMO_KIOSK_PIN) -> None:
    """Make this browser a kiosk of the demo detainee's facility and sign in there."""
    app = SERVED["app"]
    _device, secret = register_kiosk(app)
    page.context.add_cookies([{"name": KIOSK_COOKIE, "value": secret, "url": SERVED["url"],
                               "httpOnly": True, "sameSite": "Strict"}])
    with app.extensions["custody_sessions"]() as session:
        number = number or str(kiosk_person(session))
    page.goto("/kiosk/")
    page.get_by_label("Số hồ sơ hoặc số giấy tờ tùy thân").fill(number)
    page.get_by_label("Mã PIN (6 chữ số)").fill(pin)
    page.get_by_role("button", name="Tiếp tục").click()
    page.wait_for_url(lambda url: url.endswith("/kiosk/me"))


def sign_in(page, username: str) -> None:
    if username == DETAINEE_ACCOUNT.username:
        kiosk_sign_in(page)
        return
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(password_of(username))
    page.get_by_label("Tôi đã đọc thông báo trên").check()
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("heading", name="Đăng nhập: mã xác thực")).to_be_visible()
    with SERVED["app"].extensions["custody_sessions"]() as session:
        code = code_for(session, username)
    page.get_by_label("Mã từ ứng dụng xác thực").fill(code)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(lambda url: "/login" not in url)


def test_clerk_signs_in_searches_and_opens_a_record(page, backend):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_text("hệ thống thông tin hạn chế")).to_be_visible()
    shot(page, f"login-{backend}")
    sign_in(page, "clerk.hanoi")
    expect(page.get_by_role("heading", name=re.compile("Xin chào"))).to_be_visible()
    shot(page, f"home-clerk-{backend}")

    page.get_by_label("Họ tên hoặc số giấy tờ").fill("nguyen van")
    page.get_by_role("button", name="Tra cứu").first.click()
    expect(page.get_by_role("heading", name=re.compile(r"Tìm thấy \d+ người"))).to_be_visible()
    rows = page.locator("table.table tbody tr")
    assert rows.count() > 0
    for name in rows.locator("td:first-child").all_inner_texts():
        assert name.startswith("Nguyễn Văn")
    shot(page, f"search-{backend}")

    rows.first.locator("a").click()
    page.get_by_label("Quản lý hồ sơ").check()  # a record of one's scope: its purpose first
    page.get_by_role("button", name="Mở hồ sơ").click()
    expect(page.get_by_role("heading", name="Các lần tạm giữ, tạm giam")).to_be_visible()
    expect(page.get_by_role("heading", name="Lịch sử hồ sơ")).to_be_visible()
    shot(page, f"person-{backend}")

    page.get_by_role("link", name="Đính chính thông tin").click()
    page.get_by_label("Quê quán").fill("Xã Đông Anh, Hà Nội")
    page.get_by_role("button", name="Lưu đính chính").click()
    # The error summary takes the focus, lists the field and its link puts the cursor there.
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    summary.get_by_role("link", name=re.compile("Lý do đính chính")).click()
    expect(page.get_by_label("Lý do đính chính")).to_be_focused()
    page.get_by_label("Lý do đính chính").fill("Bổ sung quê quán theo lý lịch")
    page.get_by_role("button", name="Lưu đính chính").click()
    expect(page.get_by_text("Đã lưu đính chính thành phiên bản 2")).to_be_visible()
    expect(page.get_by_text("Bổ sung quê quán theo lý lịch")).to_be_visible()
    shot(page, f"person-corrected-{backend}")


def test_english_switch_and_out_of_scope_record(page, backend, db):
    stranger = person_at(db, "TTG-HOCHIMINH")
    sign_in(page, "clerk.ntg")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("link", name="Search records")).to_be_visible()
    response = page.goto(f"/persons/{stranger.id}")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    expect(page.get_by_text(stranger.full_name)).to_have_count(0)
    shot(page, f"not-found-en-{backend}")
