"""The mail preferences page at a desk's width and a phone's: reached from "My account", the
address shown, a choice saved and kept; its pictures are the README's."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import SERVED
from tests.browser.test_sign_in_and_search import sign_in
from tests.helpers import SQLITE_ONLY
from workflow.models import MailPreference, User
from workflow.notifications.enums import MailDelivery, MailTopic

pytestmark = [pytest.mark.browser, SQLITE_ONLY]
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screens"


@pytest.mark.parametrize("width", [390, 1366])
def test_a_user_chooses_a_daily_digest_for_new_tasks(page, width):
    with SERVED["app"].extensions["custody_sessions"]() as session:
        user = session.scalars(select(User).where(User.username == "approver.hanoi")).one()
        user.email = "approver.hanoi@example.vn"
        session.commit()
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "approver.hanoi")
    page.get_by_role("link", name="Tài khoản của tôi").click()
    expect(page.locator("#email")).to_have_text("approver.hanoi@example.vn")
    page.get_by_role("link", name="Thư thông báo").click()
    tasks = page.get_by_role("group", name="Yêu cầu mới cơ quan tôi phải quyết định")
    expect(tasks.get_by_label("Gửi thư ngay cho từng thông báo")).to_be_checked()
    tasks.get_by_label("Một thư mỗi ngày tổng hợp tất cả").check()
    page.get_by_role("button", name="Lưu").click()
    expect(page.get_by_text("Đã lưu cách nhận thư thông báo.")).to_be_visible()
    expect(tasks.get_by_label("Một thư mỗi ngày tổng hợp tất cả")).to_be_checked()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=str(DOCS / f"{'phone' if width < 760 else 'desktop'}-mail.png"),
                    full_page=True)
    with SERVED["app"].extensions["custody_sessions"]() as session:
        row = session.get(MailPreference, (user.id, MailTopic.TASKS))
        assert row is not None and row.delivery is MailDelivery.DIGEST
