"""The deadline explainer in the browser: the days not counted open on a click, the clock's
stop and the day off by decision are shown in Vietnamese, the page fits a phone, and an approver
extends the deadline by the working days they choose."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.browser.test_sign_in_and_search import sign_in
from tests.worlds import FLOW, NOW, World, ask, person_with_stage
from workflow.context import Actor
from workflow.requests import calendar, decisions, filing
from workflow.requests.enums import CalendarChange

pytestmark = pytest.mark.browser
ENGLISH = ("working days", "Days not counted", "weekend", "clock stopped", "Extensions",
           "day off by decision")


def _on(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(3, 0), dt.UTC)


def _returned_and_resubmitted(app) -> int:
    """A request of 24/11 whose 27/11 became a day off, returned on 26/11, resubmitted 30/11."""
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        request = ask(world, "requester.vks", person_with_stage(world, None))
        world.act(calendar.change_day, FLOW, Actor(None, "cli", NOW), dt.date(2026, 11, 27),
                  CalendarChange.DAY_OFF, "Thông báo 6150/TB: nghỉ bù")
        world.act(decisions.return_for_supplement, FLOW,
                  world.actor("approver.hanoi", _on(dt.date(2026, 11, 26))), request.id,
                  reason="Bổ sung số công văn đề nghị")
        world.act(filing.submit, FLOW, world.actor("requester.vks", _on(dt.date(2026, 11, 30))),
                  request.id)
        return request.id


def test_the_explainer_fits_a_phone_and_an_approver_extends(page, app, backend):
    request_id = _returned_and_resubmitted(app)
    sign_in(page, "approver.hanoi")
    page.goto(f"/requests/{request_id}")
    explainer = page.locator(".deadline-explainer")
    expect(explainer).to_contain_text("Tính 5 ngày làm việc kể từ ngày 24/11/2026: hạn 03/12/2026.")
    expect(explainer).to_contain_text("26/11/2026 – 30/11/2026, trả lại để bổ sung")
    day_off = explainer.get_by_text("ngày nghỉ theo quyết định: Thông báo 6150/TB: nghỉ bù")
    expect(day_off).to_be_hidden()
    explainer.get_by_text("Các ngày không tính").click()
    expect(day_off).to_be_visible()
    expect(explainer).to_contain_text("ngày nghỉ cuối tuần")
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        shot(page, f"request-deadline-{width}-{backend}")
        text = page.locator("main").inner_text()
        assert not [word for word in ENGLISH if word in text]
    page.set_viewport_size({"width": 1366, "height": 900})
    extend = page.locator("form.action-form").filter(has_text="Số ngày làm việc")
    extend.get_by_label("Lý do").fill("Cần xác minh thêm với trại tạm giam")
    extend.get_by_label("Số ngày làm việc").fill("3")
    extend.get_by_role("button", name="Gia hạn").click()
    expect(page.locator(".panel-done h1")).to_have_text("Đã gia hạn")
    page.goto(f"/requests/{request_id}")
    expect(page.locator(".deadline-explainer")).to_contain_text(
        "Cần xác minh thêm với trại tạm giam")
    expect(page.locator("main")).to_contain_text("thêm 3 ngày làm việc: hạn 03/12/2026")
