"""Vietnamese first, English on request; every message has its Vietnamese translation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent


def test_pages_speak_vietnamese_by_default_and_english_on_request(client, auth):
    page = client.get("/login").data.decode()
    assert '<html lang="vi">' in page and "Đăng nhập" in page
    client.post("/language", data={"lang": "en", "next": "/login"})
    page = client.get("/login").data.decode()
    assert '<html lang="en">' in page and "Sign in" in page
    auth.login("clerk.hanoi")
    assert "Search records" in client.get("/").data.decode()


def test_error_pages_speak_the_users_language(client, auth):
    auth.login("clerk.hanoi")
    assert "Không tìm thấy" in client.get("/persons/99999999").data.decode()
    client.post("/language", data={"lang": "en"})
    assert "Not found" in client.get("/persons/99999999").data.decode()


def test_unknown_language_is_ignored(client):
    client.post("/language", data={"lang": "xx"})
    assert '<html lang="vi">' in client.get("/login").data.decode()


def test_every_message_has_a_vietnamese_translation(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F",
                    str(ROOT / "babel.cfg"), "-k", "N_", "-k", "_l", "-k", "lazy_gettext",
                    "-o", str(pot), str(ROOT)], check=True, capture_output=True, cwd=ROOT)
    with pot.open("rb") as f:
        wanted = {m.id for m in read_po(f) if m.id}
    with (ROOT / "web/translations/vi/LC_MESSAGES/messages.po").open("rb") as f:
        catalog = read_po(f)
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy
                  and all(m.string if isinstance(m.string, tuple) else [m.string])}
    assert sorted(map(str, wanted - translated)) == []
