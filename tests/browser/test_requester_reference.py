"""The requester's own reference in the browser: typed on the filing form, shown on the
request's page; a second unfinished request with it is refused with the reason."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.browser.test_request_flow import person_under_investigation
from tests.browser.test_sign_in_and_search import sign_in

pytestmark = pytest.mark.browser
REFERENCE = "VKS-HN/2026/0142"


def file(page, person, reference: str) -> None:
    page.goto("/requests/new")
    page.get_by_label("Số giấy tờ của người được yêu cầu").fill(person.identifiers[-1].value)
    page.get_by_label("Các lần tạm giữ, tạm giam", exact=True).check()
    page.get_by_label("Mục đích").fill("Kiểm sát việc tạm giam theo kế hoạch quý IV")
    page.get_by_label("Căn cứ", exact=True).fill("Điều 12 Nghị định 121/2017/NĐ-CP")
    page.get_by_label("Số hồ sơ của cơ quan đồng chí (không bắt buộc)").fill(reference)
    page.get_by_role("button", name="Lập và gửi yêu cầu").click()


def test_the_reference_is_filed_shown_and_kept_unique(page, backend, db):
    person = person_under_investigation(db)
    sign_in(page, "requester.vks")
    file(page, person, REFERENCE)
    expect(page.get_by_text(re.compile(r"Đã gửi yêu cầu YC-2026-\d+"))).to_be_visible()
    facts = page.locator("dl.facts").first
    expect(facts).to_contain_text("Số hồ sơ của cơ quan đề nghị")
    expect(facts).to_contain_text(REFERENCE)
    shot(page, f"requester-reference-{backend}")
    file(page, person, REFERENCE)
    expect(page.get_by_text(f"Cơ quan đồng chí đã có một yêu cầu chưa kết thúc mang số hồ sơ "
                            f"{REFERENCE}.")).to_be_visible()
