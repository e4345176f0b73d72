"""A long extract in the browser: the approver asks for it, the page says it is being prepared
and how far it is, and — with nobody touching it — shows the draft once the worker is done."""

from __future__ import annotations

import dataclasses

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import shot
from tests.browser.test_sign_in_and_search import sign_in
from tests.conftest import REDIS
from tests.operations.test_jobs import _work
from tests.worlds import World, arrange
from workflow.jobs import queues
from workflow.models import IssuedDocument

pytestmark = pytest.mark.browser


def test_the_page_of_a_long_extract_finishes_by_itself(app, page, backend, db, queue_name):
    # This installation queues every extract on Redis (as a long one is queued).
    app.extensions["custody_documents"] = dataclasses.replace(
        app.extensions["custody_documents"], queue_over_pages=0)
    dispatcher = queues.OnRedis(REDIS, queue_name)
    app.extensions["custody_jobs"] = dispatcher
    app.extensions["custody_sessions"].kw["info"][queues.DISPATCHER] = dispatcher
    with app.extensions["custody_sessions"]() as session:
        _person, request = arrange(World(session), db)
        request_id = request.id

    sign_in(page, "approver.hanoi")
    page.goto(f"/requests/{request_id}")
    page.get_by_role("button", name="Lập phiếu cung cấp thông tin").click()
    expect(page.get_by_role("heading", name="Đang lập phiếu cung cấp thông tin")).to_be_visible()
    expect(page.get_by_text("Trang này tự cập nhật sau vài giây")).to_be_visible()
    expect(page.get_by_role("button", name="Lập phiếu cung cấp thông tin")).to_have_count(0)
    shot(page, f"extract-job-{backend}")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, f"extract-job-phone-{backend}")

    _work(app, queue_name)  # the worker takes it; the page is not touched
    draft = db.scalars(select(IssuedDocument).where(
        IssuedDocument.request_id == request_id)).one()
    expect(page.locator(".action-form").filter(has_text="Cấp đúng văn bản này")).to_contain_text(
        draft.sha256, timeout=15_000)
    expect(page.get_by_role("heading", name="Đang lập phiếu cung cấp thông tin")).to_have_count(0)
