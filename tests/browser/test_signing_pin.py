"""An approver with a signing token of their own, on a phone and a desk: the check page asks the
token's PIN, a wrong one is said plainly and asked again, the right one signs and seals."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SERVED, shot
from tests.browser.test_sign_in_and_search import sign_in
from tests.documents.test_personal_signature import HAVE_SOFTHSM, PIN
from tests.helpers import SQLITE_ONLY
from tests.worlds import World
from workflow.documents import tokens, verification
from workflow.models import AccessRequest, IssuedDocument
from workflow.requests.enums import RequestState

pytestmark = [pytest.mark.browser, SQLITE_ONLY,
              pytest.mark.skipif(not HAVE_SOFTHSM, reason="SoftHSM2 is not installed")]


def _enrol(username: str) -> None:
    app = SERVED["app"]
    settings = app.extensions["custody_documents"]
    with app.extensions["custody_sessions"]() as session:
        tokens.enrol_dev(session, settings.signing_tokens, World(session).user(username), PIN,
                         passphrase=settings.passphrase, now=dt.datetime.now(dt.UTC),
                         crl_url=None)
        session.commit()


@pytest.mark.parametrize("width", [390, 1366])
def test_a_refusal_is_signed_with_the_pin_typed_on_its_check_page(page, objects, width):
    request_id = objects["request"]
    _enrol("approver.hanoi")
    page.set_viewport_size({"width": width, "height": 844 if width < 800 else 900})
    sign_in(page, "approver.hanoi")
    page.goto(f"/requests/{request_id}")
    refuse = page.locator("form.action-form").filter(has_text="Lý do")
    refuse.get_by_label("Mục đích nêu ra không phù hợp").check()
    refuse.get_by_label("Giải thích").fill("Không nêu vụ việc cụ thể nào cần kiểm sát")
    refuse.get_by_role("button", name="Từ chối").click()
    pin = page.get_by_label("Mã PIN của thiết bị ký số")
    expect(pin).to_be_visible()
    expect(page.locator("#pin-hint")).to_contain_text("chứng thư số cá nhân")
    shot(page, f"pin-check-{width}")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    pin.fill("000000")
    page.get_by_role("button", name=re.compile("Xác nhận: từ chối")).click()
    expect(page.locator(".error-summary a[href=\"#pin\"]")).to_contain_text("Mã PIN không đúng")
    expect(page.locator("#pin-error")).to_contain_text("Mã PIN không đúng")
    expect(page.get_by_label("Mã PIN của thiết bị ký số")).to_have_value("")
    shot(page, f"pin-wrong-{width}")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    with SERVED["app"].extensions["custody_sessions"]() as session:
        assert session.get(AccessRequest, request_id).state is RequestState.AWAITING_APPROVAL
    page.get_by_label("Mã PIN của thiết bị ký số").fill(PIN)
    page.get_by_role("button", name=re.compile("Xác nhận: từ chối")).click()
    expect(page.locator(".panel")).to_contain_text("Đã từ chối yêu cầu")
    with SERVED["app"].extensions["custody_sessions"]() as session:
        notice = session.query(IssuedDocument).filter_by(request_id=request_id).one()
        check = verification.check_file(session, notice.pdf)
        assert check.ok and "Đỗ Quang Huy" in check.signature.person
