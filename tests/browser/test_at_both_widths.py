"""Defects of issue 14 that the page-by-page checks do not click through, each at a desk's width
and a phone's: a verification code typed the way people type it, the inspector finding who
looked at a person by the number on their card, a decision that survives re-authentication."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import SERVED, state_purpose
from tests.browser.test_request_flow import sign_out
from tests.browser.test_sign_in_and_search import sign_in
from tests.conftest import password_of
from tests.helpers import SQLITE_ONLY, code_for, person_at
from workflow.models import ExchangeConflict

pytestmark = [pytest.mark.browser, SQLITE_ONLY]
WIDTHS = pytest.mark.parametrize("width", [390, 1366])


def _fits(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@WIDTHS
def test_a_code_typed_with_o_for_zero_and_spaces_verifies(page, objects, width):
    page.set_viewport_size({"width": width, "height": 900})
    typed = objects["code"].lower().replace("0", "o").replace("1", "l").replace("-", " ")
    page.goto("/verify")
    page.get_by_label("Mã xác thực").fill(typed)
    page.get_by_role("button", name="Kiểm tra").click()
    expect(page.get_by_role("heading", name="Văn bản hợp lệ")).to_be_visible()
    _fits(page, width)
    page.goto("/verify")
    page.get_by_role("button", name="Kiểm tra").click()  # blank: told what to type
    expect(page.locator(".error-summary")).to_contain_text("Nhập mã xác thực")


@WIDTHS
def test_the_inspector_finds_who_viewed_a_person_by_the_number_on_their_card(page, db, width):
    person = person_at(db, "TTG-HANOI")
    number = person.identifiers[-1].value
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "clerk.hanoi")
    state_purpose(page, person.id)
    expect(page.get_by_text(number)).to_be_visible()
    sign_out(page)
    sign_in(page, "inspector")
    page.goto("/audit/")
    grouped = " ".join(number[i:i + 4] for i in range(0, len(number), 4))
    page.get_by_label(re.compile("Hồ sơ: họ tên")).fill(grouped)
    page.get_by_role("button", name="Lọc").click()
    expect(page.get_by_text(f"Nhật ký về {person.full_name}")).to_be_visible()
    expect(page.locator("table.audit tbody")).to_contain_text("clerk.hanoi")
    assert number not in page.url
    _fits(page, width)


@WIDTHS
def test_a_refusal_typed_before_re_authentication_is_not_lost(page, objects, width):
    from workflow.models import UserSession

    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "approver.hanoi")
    with SERVED["app"].extensions["custody_sessions"]() as session:  # signed in 31 minutes ago
        for row in session.scalars(select(UserSession).where(UserSession.ended_at.is_(None))):
            row.authenticated_at -= dt.timedelta(minutes=31)
        session.commit()
    page.goto(f"/requests/{objects['request']}")
    refuse = page.locator("form.action-form").filter(has_text="Lý do")
    refuse.get_by_label("Mục đích nêu ra không phù hợp").check()
    refuse.get_by_label("Giải thích").fill("Không gắn với vụ việc nào đang kiểm sát")
    refuse.get_by_role("button", name="Từ chối").click()
    expect(page.get_by_text("30 phút")).to_be_visible()
    page.get_by_label("Mật khẩu").fill(password_of("approver.hanoi"))
    with SERVED["app"].extensions["custody_sessions"]() as session:
        code = code_for(session, "approver.hanoi")
    page.get_by_label("Mã từ ứng dụng xác thực").fill(code)
    page.get_by_role("button", name="Xác nhận và tiếp tục").click()
    expect(page.get_by_role("heading", name="Kiểm tra trước khi quyết định")).to_be_visible()
    expect(page.locator(".summary-list")).to_contain_text("Không gắn với vụ việc nào")
    _fits(page, width)
    page.get_by_role("button", name=re.compile("Xác nhận: từ chối")).click()
    expect(page.locator(".panel-refusal")).to_contain_text("Đã từ chối yêu cầu")


def test_a_senders_overlong_name_does_not_widen_the_conflict_pages(page, objects, db):
    conflict = db.get(ExchangeConflict, objects["conflict"])
    data = conflict.data
    data["data"]["full_name"] = "Nguyễn" + "X" * 150  # a sender's value, one unbroken word
    conflict.data_json = json.dumps(data)
    db.commit()
    page.set_viewport_size({"width": 390, "height": 900})
    sign_in(page, "clerk.hanoi")
    for url in (f"/exchange/conflicts/{conflict.id}", "/exchange/conflicts/"):
        page.goto(url)
        expect(page.get_by_text("Nguyễn" + "X" * 150).first).to_be_visible()
        _fits(page, 390)
