"""The machine's table: no backdoor, every state reachable, and the drawn diagram up to date."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from workflow.requests.enums import RequestState
from workflow.requests.machine import TABLE, TRIGGERS, mermaid

ROOT = Path(__file__).resolve().parents[2]


def test_every_state_is_reachable_from_draft():
    reached, frontier = {RequestState.DRAFT}, [RequestState.DRAFT]
    while frontier:
        state = frontier.pop()
        for row in TABLE:
            if state in row.sources and row.dest not in reached:
                reached.add(row.dest)
                frontier.append(row.dest)
    assert reached == set(RequestState)


def test_final_states_have_no_way_out():
    finals = {RequestState.REFUSED, RequestState.WITHDRAWN, RequestState.CLOSED,
              RequestState.EXPIRED}
    assert not [row for row in TABLE if finals & set(row.sources)]


def test_no_automatic_to_state_triggers():
    assert not [t for t in TRIGGERS if t.startswith("to_")]


def test_readme_diagrams_are_generated_from_the_tables():
    from workflow.documents.states import LIFECYCLE as DOCUMENTS
    from workflow.figures.reports import LIFECYCLE as REPORTS
    from workflow.records.error_reports import LIFECYCLE as ERRORS
    from workflow.restriction.lifecycle import LIFECYCLE as RESTRICTION

    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```mermaid\n(.*?)\n```", readme, re.S)
    assert blocks == [mermaid(), REPORTS.mermaid(), RESTRICTION.mermaid(), DOCUMENTS.mermaid(),
                      ERRORS.mermaid()]


def test_every_lifecycle_changes_state_only_through_its_rows():
    """No lifecycle has an automatic `to_<state>` trigger, every row's trigger has its words,
    and a trigger from a state no row leaves is refused and changes nothing."""
    from workflow.documents.enums import IssuedState
    from workflow.documents.states import LIFECYCLE as DOCUMENTS
    from workflow.errors import Conflict
    from workflow.figures.reports import LIFECYCLE as REPORTS
    from workflow.records.error_reports import LIFECYCLE as ERRORS
    from workflow.requests.machine import LIFECYCLE as REQUESTS
    from workflow.restriction.lifecycle import LIFECYCLE as RESTRICTION

    for lifecycle in (REQUESTS, REPORTS, DOCUMENTS, ERRORS, RESTRICTION):
        assert all(lifecycle.caption(row) for row in lifecycle.rows)

    class Doc:
        state = IssuedState.REVOKED

    doc = Doc()
    with pytest.raises(Conflict):
        DOCUMENTS.fire(doc, "release")
    assert doc.state is IssuedState.REVOKED
    doc.state = IssuedState.PREPARED
    assert DOCUMENTS.fire(doc, "release") == (IssuedState.PREPARED, IssuedState.RELEASED)


def test_every_trigger_and_edge_has_its_words_once():
    from workflow.requests.machine import LABELS, LIFECYCLE

    assert TRIGGERS - {"route"} == set(LABELS)
    assert all(LIFECYCLE.caption(row) for row in TABLE)
    assert {LIFECYCLE.caption(row) for row in TABLE if row.trigger == "route"} >= {
        "route: approval needed", "route: consent needed", "route: direct access"}
