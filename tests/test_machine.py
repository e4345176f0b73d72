"""The machine's table: no backdoor, every state reachable, and the drawn diagram up to date."""

from __future__ import annotations

import re
from pathlib import Path

from workflow.enums import RequestState
from workflow.requests.machine import TABLE, TRIGGERS, mermaid

ROOT = Path(__file__).resolve().parent.parent


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


def test_readme_diagram_is_generated_from_the_table():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```mermaid\n(.*?)\n```", readme, re.S)
    assert block is not None
    assert block.group(1) == mermaid()


def test_every_trigger_and_edge_has_its_words_once():
    from workflow.requests.machine import LABELS, TABLE, TRIGGERS

    assert TRIGGERS - {"route"} == set(LABELS)
    assert all(row.caption for row in TABLE)
    assert {row.caption for row in TABLE if row.trigger == "route"} >= {
        "route: approval needed", "route: consent needed", "route: direct access"}
