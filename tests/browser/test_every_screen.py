"""Every page each role reaches, at a desktop's width and a phone's: nothing wider than the
screen, no serious or critical accessibility fault (axe-core, vendored), no English left on a
Vietnamese page. Pages are the same on both back-ends, so this runs on SQLite only."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shot, state_purpose
from tests.browser.test_sign_in_and_search import sign_in
from tests.helpers import SQLITE_ONLY

pytestmark = [pytest.mark.browser, SQLITE_ONLY]

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
SCREENS = os.environ.get("CUSTODY_SCREENSHOTS")  # keep a picture of every page at each width
WIDTHS = {"desktop": (1366, 900), "phone": (390, 844)}

# The pages of each role, beyond those its navigation links to; {…} from the `objects` world.
PAGES = {
    "requester.vks": ["/requests/{request}", "/requests/new", "/requests/inbox", "/password",
                      "/requests/{approved}", "/documents/{extract}/report-error",
                      "/account", "/account/notifications"],
    "approver.hanoi": ["/requests/{request}", "/requests/?view=approval", "/persons/{person}",
                       "/cases/{case}", "/requests/inbox"],
    "consent.hanoi": ["/requests/{request}", "/requests/?view=consent"],
    "clerk.hanoi": ["/persons/{person}/purpose", "/persons/{person}", "/persons/new",
                    "/cases/new", "/cases/{case}",
                    "/persons/{person}/correct", "/episodes/{episode}/events/new",
                    "/reports/{report}", "/error-reports/{error_report}",
                    "/error-reports/?all=1", "/exchange/conflicts/",
                    "/exchange/conflicts/{conflict}"],
    "inspector": ["/audit/"],
    "admin": ["/admin/users/{user}", "/admin/users/new"],
    "detainee.demo": ["/kiosk/me", "/kiosk/record", "/kiosk/requests/new", "/kiosk/end"],
    "manager.hanoi": ["/reports/{report}"],
}
# Words that are English and never Vietnamese; codes, numbers and people's names are not
# checked (they are the same in both languages).
ENGLISH = re.compile(r"\b(the|and|of|with|for|this|that|your|you|please|from|been|has|have|"
                     r"was|were|will|must|not|are|is|or|by|request|record|page|error|field|"
                     r"required|valid|value|number)\b", re.IGNORECASE)
TEXTS = """() => {
  const out = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) {
    const node = walk.currentNode, el = node.parentElement;
    if (!el || el.closest('code, .mono, script, style, [lang="en"], [translate="no"]')) continue;
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden') continue;
    const text = node.textContent.trim();
    if (text) out.push(text);
  }
  for (const el of document.querySelectorAll('[placeholder], [aria-label], [title]')) {
    for (const a of ['placeholder', 'aria-label', 'title']) {
      if (el.getAttribute(a)) out.push(el.getAttribute(a));
    }
  }
  return out;
}"""


def _links(page) -> list[str]:
    return page.eval_on_selector_all("#main-nav a",
                                     "links => links.map(a => a.pathname + a.search)")


def _check(page, url: str, role: str) -> list[str]:
    """What is wrong with the page at each width."""
    faults = []
    for name, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        wide = page.evaluate("document.documentElement.scrollWidth")
        if wide > width:
            faults.append(f"{url} at {width} px is {wide} px wide")
        if not page.evaluate("typeof axe !== 'undefined'"):
            page.evaluate(AXE)
        found = page.evaluate("""async () => (await axe.run(document, {
            resultTypes: ['violations'],
            runOnly: {type: 'tag',
                      values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}
        })).violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
           .map(v => v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '))""")
        faults += [f"{url} at {width} px: {v}" for v in found]
        if SCREENS:
            shot(page, f"screens/{role}{re.sub(r'[^a-z0-9]+', '-', url)}{name}")
    english = [t for t in page.evaluate(TEXTS) if ENGLISH.search(t)]
    faults += [f"{url}: English on a Vietnamese page: {t!r}" for t in english]
    return faults


@pytest.mark.parametrize("role", list(PAGES))
def test_every_page_fits_a_phone_reads_in_vietnamese_and_passes_axe(page, objects, role):
    sign_in(page, role)
    if role in ("clerk.hanoi", "approver.hanoi"):  # they read the record: its purpose first
        state_purpose(page, objects["person"])
    urls = list(dict.fromkeys(_links(page) + [u.format(**objects) for u in PAGES[role]]))
    faults = []
    for url in urls:
        response = page.goto(url)
        assert response.status < 400, (url, response.status)
        faults += _check(page, url, role)
    assert faults == []


def test_the_phone_menu_folds_and_opens(page, objects):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, "approver.hanoi")
    menu = page.get_by_role("button", name="Danh mục")
    nav = page.get_by_role("navigation", name="Điều hướng chính")
    expect(menu).to_be_visible()
    expect(nav).to_be_hidden()
    menu.click()
    expect(nav).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "true")
    nav.get_by_role("link", name="Yêu cầu").click()
    expect(page).to_have_url(re.compile(r"/requests/"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # A wide table scrolls inside its own region, which a keyboard can reach.
    region = page.locator(".table-scroll").first
    expect(region).to_have_attribute("tabindex", "0")
    page.set_viewport_size({"width": 1366, "height": 900})
    expect(menu).to_be_hidden()
    expect(nav).to_be_visible()
