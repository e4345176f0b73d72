"""Every page each role reaches is valid HTML by the W3C's own checker (the Nu Html Checker,
`vnu.jar` from npm, run on a JRE): the pages are what assistive technologies and browsers parse.
`make test` fetches the checker; CI requires it (REQUIRE_HTML_CHECKER)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.browser.test_every_screen import PAGES
from tests.conftest import Auth

VNU = Path(os.environ.get("VNU_JAR", Path(__file__).resolve().parents[2] / ".cache" / "vnu"
                          / "package" / "build" / "dist" / "vnu.jar"))
pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def _checker() -> Path:
    if VNU.exists() and shutil.which("java"):
        return VNU
    if os.environ.get("REQUIRE_HTML_CHECKER"):
        pytest.fail(f"the HTML checker is required: java and {VNU} (make test fetches it)")
    pytest.skip("the HTML checker (java and vnu.jar) is not installed")


def _nav(html: str) -> list[str]:
    nav = re.search(r'<nav class="sidebar" id="main-nav".*?</nav>', html, re.S)
    return re.findall(r'href="([^"]+)"', nav.group(0)) if nav else []


def test_every_page_of_every_role_is_valid_html(app, objects, tmp_path):
    jar = _checker()
    pages = {"/login": app.test_client().get("/login").get_data(as_text=True)}
    for role, extra in PAGES.items():
        client = app.test_client()
        assert Auth(client).login(role).status_code == 302, role
        if role in ("clerk.hanoi", "approver.hanoi"):  # they read the record: its purpose first
            Auth(client).purpose(objects["person"])
        home = client.get("/").get_data(as_text=True)
        for url in dict.fromkeys(_nav(home) + [u.format(**objects) for u in extra]):
            response = client.get(url)
            assert response.status_code == 200, (role, url, response.status_code)
            pages[f"{role} {url}"] = response.get_data(as_text=True)
    files = {}
    for i, (name, html) in enumerate(pages.items()):
        path = tmp_path / f"page{i}.html"
        path.write_text(html)
        files[path.name] = name
    result = subprocess.run(["java", "-jar", str(jar), "--errors-only", "--format", "json",
                             *map(str, sorted(tmp_path.glob("page*.html")))],
                            capture_output=True, text=True, timeout=300)
    messages = json.loads(result.stderr or "{}").get("messages", [])
    errors = [f"{files.get(m.get('url', '').rsplit('/', 1)[-1])}: line {m.get('lastLine')}: "
              f"{m['message']}" for m in messages if m.get("type") == "error"]
    assert len(pages) > 40
    assert errors == [], "\n".join(errors)
