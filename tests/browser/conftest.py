"""A live server on the test database and a headless Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]


SERVED: dict = {}  # the app being served, for helpers that read its database


@pytest.fixture
def live_server(app):
    """The app served over HTTP on a free local port, with CSRF protection on."""
    app.config["WTF_CSRF_ENABLED"] = True
    SERVED["app"] = app
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    SERVED["url"] = f"http://127.0.0.1:{server.server_port}"
    yield SERVED["url"]
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless."""
    if not shutil.which(CHROMIUM):
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"Chromium is required but {CHROMIUM} is missing")
        pytest.skip("Chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser context (no cookies) with the live server as base URL."""
    context = browser.new_context(base_url=live_server, viewport={"width": 1366, "height": 900},
                                  locale="vi-VN")
    page = context.new_page()
    yield page
    context.close()


def state_purpose(page, person_id: int, purpose: str = "Quản lý hồ sơ") -> None:
    """Open the person's record as its keepers do: say first what it is opened for."""
    page.goto(f"/persons/{person_id}/purpose")
    page.get_by_label(purpose).check()
    page.get_by_role("button", name="Mở hồ sơ").click()


def shot(page, name: str) -> None:
    """Keep a screenshot for people to look at."""
    path = ARTIFACTS / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
