"""The other people at work: a clerk registering a person, an inspector checking the audit
chain, an administrator creating an account, a detained person at the kiosk."""

from __future__ import annotations

import re

import pyotp
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.browser.test_sign_in_and_search import sign_in
from tests.helpers import SQLITE_ONLY

pytestmark = [pytest.mark.browser, SQLITE_ONLY]


def test_clerk_registers_a_person_after_fixing_a_wrong_number(page, backend):
    sign_in(page, "clerk.hanoi")
    page.get_by_role("link", name="Tiếp nhận người mới").first.click()
    page.get_by_label("Họ và tên").fill("Đặng Thị Hường")
    page.get_by_label("Ngày sinh").fill("1992-07-15")
    page.get_by_label("Giới tính").select_option("female")
    page.get_by_label("Số giấy tờ").fill("0011920")
    page.get_by_label("Biện pháp").select_option("detention")
    page.get_by_label("Ngày bắt đầu").fill("2026-11-03")
    page.get_by_label("Căn cứ (số lệnh, quyết định)").fill("Lệnh tạm giam số 45/LTG")
    page.get_by_role("button", name="Tiếp nhận", exact=True).click()
    expect(page.get_by_text("Số định danh cá nhân (CCCD) gồm 12 chữ số.")).to_be_visible()
    expect(page.get_by_label("Họ và tên")).to_have_value("Đặng Thị Hường")
    shot(page, f"person-new-error-{backend}")
    page.get_by_label("Số giấy tờ").fill("001192000777")
    page.get_by_role("button", name="Tiếp nhận", exact=True).click()
    expect(page.get_by_text("Đã tiếp nhận vào hồ sơ: Đặng Thị Hường.")).to_be_visible()
    expect(page.get_by_role("cell", name="001192000777")).to_be_visible()


def test_inspector_filters_the_trail_and_verifies_the_chain(page, backend):
    sign_in(page, "clerk.hanoi")
    page.get_by_role("button", name="Đăng xuất").click()
    sign_in(page, "inspector")
    page.get_by_role("link", name="Nhật ký truy cập").first.click()
    page.get_by_label("Người thực hiện (tên đăng nhập)").fill("clerk.hanoi")
    page.get_by_role("button", name="Lọc").click()
    rows = page.locator("table.audit tbody tr")
    expect(rows.first).to_contain_text("auth.logout")
    assert all("clerk.hanoi" in text for text in rows.all_inner_texts())
    page.get_by_role("button", name="Kiểm tra chuỗi nhật ký").click()
    expect(page.get_by_text(re.compile(r"Chuỗi nhật ký toàn vẹn: đã kiểm tra \d+ bản ghi"))
           ).to_be_visible()
    shot(page, f"audit-{backend}")


def test_admin_creates_an_account_that_can_sign_in(page, backend):
    sign_in(page, "admin")
    page.get_by_role("link", name="Tài khoản", exact=True).click()
    page.get_by_role("link", name="Tạo tài khoản").click()
    page.get_by_label("Tên đăng nhập").fill("canbo.moi")
    page.get_by_label("Họ và tên").fill("Cán bộ Mới")
    page.get_by_label("Đơn vị").select_option(label="Nhà tạm giữ số 2 Công an thành phố Hà Nội")
    page.get_by_label("Cán bộ quản lý hồ sơ").check()
    page.get_by_label("Mật khẩu ban đầu").fill("mot cum tu that dai")
    page.get_by_role("button", name="Lưu").click()
    expect(page.get_by_text("Đã tạo tài khoản canbo.moi.")).to_be_visible()
    shot(page, f"accounts-{backend}")
    page.get_by_role("button", name="Đăng xuất").click()
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill("canbo.moi")
    page.get_by_label("Mật khẩu").fill("mot cum tu that dai")
    page.get_by_label("Tôi đã đọc thông báo trên").check()
    page.get_by_role("button", name="Đăng nhập").click()
    # First sign-in: set up the authenticator app with the key shown, confirm with its code.
    expect(page.get_by_role("heading", name="Thiết lập xác thực hai lớp")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    assert page.locator(".qr svg").count() == 1
    shot(page, f"enrol-{backend}")
    page.get_by_label("Mã từ ứng dụng xác thực").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Xác nhận và đăng nhập").click()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    page.get_by_role("link", name="Tôi đã lưu: tiếp tục").click()
    expect(page.get_by_text("Nhà tạm giữ số 2 Công an thành phố Hà Nội").first).to_be_visible()


def test_detained_person_sees_their_own_record_in_plain_words(page, backend):
    sign_in(page, "detainee.demo")
    page.get_by_role("link", name="Xem hồ sơ của tôi", exact=True).click()
    expect(page.get_by_role("heading", name="Hồ sơ của tôi")).to_be_visible()
    expect(page.get_by_text(re.compile("Bạn đang bị giam giữ tại Trại tạm giam"))).to_be_visible()
    expect(page.get_by_role("link", name="Tra cứu hồ sơ")).to_have_count(0)
    shot(page, f"kiosk-{backend}")
