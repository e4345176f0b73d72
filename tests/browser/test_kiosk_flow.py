"""The whole kiosk on a phone-sized screen: a clerk issues a PIN, registers the browser and
starts kiosk mode; the person signs in with number and PIN, asks in plain words, reads dated
steps and signs out; the clerk ends kiosk mode at the device."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SERVED, shot, state_purpose
from tests.browser.test_sign_in_and_search import sign_in
from tests.conftest import password_of
from tests.helpers import SQLITE_ONLY, code_for, kiosk_person

pytestmark = [pytest.mark.browser, SQLITE_ONLY]
PHONE = {"width": 390, "height": 844}


def _fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], page.url


def test_the_whole_kiosk_flow_at_390_px(page, backend):
    page.set_viewport_size(PHONE)
    with SERVED["app"].extensions["custody_sessions"]() as session:
        person = kiosk_person(session)
    sign_in(page, "clerk.hanoi")
    state_purpose(page, person, "Thực hiện tạm giữ, tạm giam")
    page.get_by_role("button", name="Cấp mã PIN dùng máy tra cứu").click()
    pin = page.locator("#kiosk-pin").inner_text().strip()
    assert re.fullmatch(r"\d{6}", pin)
    _fits(page)
    page.goto("/kiosk/devices")
    page.get_by_label("Tên máy").fill("Máy phòng thăm gặp")
    page.get_by_role("button", name="Đăng ký trình duyệt này").click()
    expect(page.get_by_text("Trình duyệt này đã là máy tra cứu")).to_be_visible()
    _fits(page)
    page.get_by_role("button", name="Bật chế độ tra cứu trên trình duyệt này").click()
    expect(page.get_by_role("heading", name="Tra cứu hồ sơ của Ông/Bà")).to_be_visible()
    _fits(page)
    page.goto("/search")  # the device shows only the kiosk now
    expect(page).to_have_url(re.compile(r"/kiosk/$"))

    page.get_by_label("Số hồ sơ hoặc số giấy tờ tùy thân").fill(str(person))
    page.get_by_label("Mã PIN (6 chữ số)").fill(pin)
    page.get_by_role("button", name="Tiếp tục").click()
    expect(page.get_by_role("heading", name=re.compile("Xin chào Ông"))).to_be_visible()
    _fits(page)
    page.get_by_role("link", name="Đề nghị cấp bản trích lục hồ sơ của tôi").first.click()
    assert page.locator("[name=legal_basis], [name=on_behalf_of_id], [name=scan]").count() == 0
    page.get_by_label("Thời gian và nơi tôi bị giữ").check()
    page.get_by_label("Bản in, do cán bộ trao tận tay").check()
    _fits(page)
    page.get_by_role("button", name="Gửi yêu cầu").click()
    expect(page.get_by_text(re.compile(r"Đã gửi ngày \d\d/\d\d/\d{4}"))).to_be_visible()
    expect(page.get_by_text("Bản trích lục sẵn sàng — hỏi cán bộ để nhận.")).to_be_visible()
    assert "đồng chí" not in page.content().lower()
    _fits(page)
    shot(page, f"kiosk-status-{backend}")
    page.get_by_role("button", name="Đăng xuất").click()
    expect(page.get_by_role("heading", name="Tra cứu hồ sơ của Ông/Bà")).to_be_visible()

    page.get_by_role("link", name="Cán bộ: kết thúc chế độ tra cứu").click()
    page.get_by_label("Tên đăng nhập").fill("clerk.hanoi")
    page.get_by_label("Mật khẩu").fill(password_of("clerk.hanoi"))
    with SERVED["app"].extensions["custody_sessions"]() as session:
        page.get_by_label("Mã từ ứng dụng xác thực").fill(code_for(session, "clerk.hanoi"))
    _fits(page)
    page.get_by_role("button", name="Kết thúc chế độ tra cứu").click()
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_text("Đã kết thúc chế độ tra cứu")).to_be_visible()
