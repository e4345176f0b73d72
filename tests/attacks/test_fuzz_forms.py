"""Hypothesis over every form of every page: each page of the route matrix is opened by a role
that may open it, every POST form on it is found in the HTML, and generated values (text of any
script, control characters, huge numbers, impossible dates, markup, SQL) are posted to it. No
answer may be a 5xx."""

from __future__ import annotations

import json
import os
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.attacks.test_access_matrix import MATRIX
from tests.conftest import Auth
from tests.helpers import person_at
from workflow.models import User

# Inputs per form (51 forms of every role): 15 in `make test`, 200 in `make fuzz`.
EXAMPLES = int(os.environ.get("CUSTODY_FUZZ_FORM_EXAMPLES", "15"))
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SKIP_ACTIONS = ("/logout", "/language")  # they only sign out or switch the language
pytestmark = pytest.mark.fuzz

NASTY = st.sampled_from([
    "", " ", "0", "-1", "9" * 40, "1e308", "NaN", "2026-02-30", "0000-00-00", "9999-12-31",
    "1900-01-01", "<script>alert(1)</script>", "' OR 1=1 --", "\x00", "\u202e", "../../etc",
    "Nguyễn Văn An", "a" * 5000, "true", "on", "[]", "{}"])
VALUES = st.one_of(NASTY, st.text(max_size=200), st.integers().map(str),
                   st.dates().map(str))


class Forms(HTMLParser):
    """The POST forms of a page: their action and the names and values of their fields."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self.current: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "get").lower() == "post":
            self.current = {"action": attrs.get("action"), "fields": {}}
            self.forms.append(self.current)
        elif self.current is not None and tag in ("input", "select", "textarea", "option"):
            if tag == "option" and self.current.get("select"):
                self.current["fields"].setdefault(self.current["select"], []).append(
                    attrs.get("value", ""))
                return
            name = attrs.get("name")
            if name and tag != "option":
                self.current["fields"].setdefault(name, []).append(attrs.get("value") or "")
                if tag == "select":
                    self.current["select"] = name

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None
        elif tag == "select" and self.current is not None:
            self.current.pop("select", None)


def _field_strategy(fields: dict[str, list[str]], forged: list[str]):
    """Each field: one of its own values (a hidden action, an option) or anything at all; a
    field that names an object (`…id`, `version`) also the ids of other actors' objects."""
    def values_of(name: str, values: list[str]):
        own = st.sampled_from([v for v in values if v is not None] or [""])
        if name.endswith("id") or name == "version":
            return st.one_of(own, st.sampled_from(forged), VALUES)
        return st.one_of(own, VALUES, st.lists(VALUES, max_size=3))

    return st.fixed_dictionaries({}, optional={
        name: values_of(name, values) for name, values in fields.items()
        if name != "csrf_token"})


def _forged_ids(db, held: dict) -> list[str]:
    """Ids of objects of every kind the tests hold, and of another province's persons, episodes
    and users: what an attacker would put in a hidden field."""
    hcm = person_at(db, "TTG-HOCHIMINH")
    users = db.scalars(select(User.id)).all()
    ids = {v for v in held.values() if isinstance(v, int)} | {hcm.id, hcm.episodes[-1].id}
    return sorted(map(str, ids | set(users)))


def test_no_generated_form_input_gets_a_server_error(app, db, objects, backend):  # noqa: F811
    # The sign-in form is posted hundreds of times here: the rate limits are another test's.
    app.config.update(RATELIMIT_SIGN_IN="100000 per minute", RATELIMIT_CODE="100000 per minute")
    forged = _forged_ids(db, objects)
    posted: dict[str, int] = {}
    clients: dict[str, object] = {}
    done: set[tuple] = set()
    # Every role signs in first (a kiosk needs its facility's clerk before anything is fuzzed),
    # and the forms that end or lock sessions (sign-in, password, re-authentication) come last:
    # fuzzed first, they signed every account out and left the other forms untried.
    pages = [(e, v) for e, v in MATRIX.items()
             if not e.startswith(("api", "static", "documents."))]
    pages.sort(key=lambda item: item[0].startswith("auth."))
    for role in {r for _e, (_u, table) in pages for r, status in table.items() if status == 200}:
        clients[role] = app.test_client()
        if role != "anonymous":
            assert Auth(clients[role]).login(role).status_code == 302, role
    for _endpoint, (url_template, table) in pages:
        url = url_template.format(**objects)
        for role in [r for r, status in table.items() if status == 200]:
            client = clients[role]
            page = client.get(url)
            if page.status_code != 200 or page.mimetype != "text/html":
                continue
            parser = Forms()
            parser.feed(page.get_data(as_text=True))
            for form in parser.forms:
                target = form["action"] or url
                key = (role, target, tuple(sorted(form["fields"])))
                if target.startswith(SKIP_ACTIONS) or key in done:
                    continue
                done.add(key)
                _fuzz(client, target, form["fields"], posted, f"{role}: {target}", forged)
    assert len(posted) >= 30, posted  # every form of every role, not only the sign-in's
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"fuzz-forms-{backend}.json").write_text(json.dumps(
        {"total": sum(posted.values()), "per_form": posted}, indent=1, ensure_ascii=False))


def _fuzz(client, target: str, fields: dict[str, list[str]], posted: dict, label: str,
          forged: list[str]) -> None:
    @given(data=_field_strategy(fields, forged))
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def run(data):
        response = client.post(target, data=data)
        posted[label] = posted.get(label, 0) + 1
        assert response.status_code < 500, (label, data, response.get_data(as_text=True)[:300])

    run()
