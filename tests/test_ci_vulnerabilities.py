"""CI's fallback vulnerability check (when pip-audit's services cannot be reached): a known
vulnerability of an installed release fails it unless waived; what PyPI cannot vouch for is
listed, not passed silently."""

from __future__ import annotations

import importlib.util
from importlib.metadata import version
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / ".ci" / "pypi_vulnerabilities.py"


def load():
    spec = importlib.util.spec_from_file_location("pypi_vulnerabilities", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_vulnerable_release_fails_unless_waived(monkeypatch, tmp_path, capsys):
    check = load()
    flask = version("flask")

    def answer(name: str):
        if name == "flask":
            return {"info": {"version": flask},
                    "vulnerabilities": [{"id": "GHSA-test-0001", "aliases": ["CVE-2099-1"]}]}
        if name == "jinja2":
            return {"info": {"version": "999.0"}, "vulnerabilities": []}
        return None  # no answer

    monkeypatch.setattr(check, "latest", answer)
    monkeypatch.setattr(check, "WAIVERS", tmp_path / "none.txt")
    assert check.main() == 1
    out = capsys.readouterr().out
    assert f"VULNERABLE flask {flask}: GHSA-test-0001 CVE-2099-1" in out
    assert "not checked: jinja2" in out and "(latest 999.0)" in out
    waivers = tmp_path / "waivers.txt"
    waivers.write_text("# id, then why\nGHSA-test-0001 not reachable: we never call it\n")
    monkeypatch.setattr(check, "WAIVERS", waivers)
    assert check.main() == 0
