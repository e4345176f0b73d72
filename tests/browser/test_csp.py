"""The Content Security Policy forbids inline script and style: no page may break under it."""

from __future__ import annotations

import pytest

from tests.browser.test_sign_in_and_search import sign_in
from tests.helpers import SQLITE_ONLY

pytestmark = [pytest.mark.browser, SQLITE_ONLY]


def test_pages_load_without_a_single_policy_violation(page, backend):
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.goto("/login")
    page.goto("/verify?code=AAAA")
    sign_in(page, "approver.hanoi")
    for path in ("/", "/search", "/requests/", "/requests/?view=approval", "/requests/2",
                 "/requests/inbox", "/password"):
        page.goto(path)
        # Styles really apply: the top bar is laid out by the stylesheet, not by the browser.
        assert page.locator("header.topbar").evaluate(
            "e => getComputedStyle(e).display") == "flex", path
    assert problems == []
