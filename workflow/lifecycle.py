"""Lifecycles as data — of requests, issued documents and facility reports: each a table of rows
(trigger, from, to, who may fire it, conditions) that `transitions` runs and the diagrams are
drawn from, so that the code, the gates and the pictures cannot disagree."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from transitions import Machine, MachineError

from workflow.errors import Conflict
from workflow.i18n import N_

Facts = Mapping[str, Callable[[], bool]]


@dataclass(frozen=True)
class Row:
    """One transition of a table."""

    trigger: str
    sources: tuple[Any, ...]
    dest: Any
    actor: str
    conditions: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()
    label: str = ""  # the edge's own words where a trigger has several ways; else the trigger's


class _Model:
    """What `transitions` drives: a state, and the facts the rows' conditions name."""

    def __init__(self, state: str, facts: Facts) -> None:
        self.state = state
        self._facts = facts

    def __getattr__(self, name: str):
        facts = self.__dict__.get("_facts", {})
        if name in facts:
            return facts[name]
        raise AttributeError(name)


@dataclass(frozen=True)
class Lifecycle:
    """A table of rows over the states of one enum, with the words for its triggers."""

    states: type[Enum]
    rows: tuple[Row, ...]
    labels: Mapping[str, str]
    initial: tuple[Any, ...]  # where an object begins (a letter is issued already released)
    refusal: str = N_("This cannot be done while it is %(state)s.")

    @property
    def triggers(self) -> frozenset[str]:
        """Every trigger of the table."""
        return frozenset(row.trigger for row in self.rows)

    @property
    def finals(self) -> tuple[Any, ...]:
        """The states no row leaves."""
        return tuple(s for s in self.states if not any(s in r.sources for r in self.rows))

    def caption(self, row: Row) -> str:
        """What an edge of the diagram says."""
        return row.label or self.labels[row.trigger]

    def rows_for(self, trigger: str, state: Any) -> list[Row]:
        """The rows of the trigger that leave the state."""
        return [r for r in self.rows if r.trigger == trigger and state in r.sources]

    def allowed(self, state: Any) -> set[str]:
        """Triggers with a row leaving the state (conditions not yet checked)."""
        return {r.trigger for r in self.rows if state in r.sources}

    def fire(self, obj: Any, trigger: str, facts: Facts | None = None) -> tuple[Any, Any]:
        """Move `obj.state` by the trigger; raise Conflict if no row allows it (nothing
        changes then). Returns (from, to)."""
        if trigger not in self.triggers:
            raise Conflict(N_("Unknown action."))
        before = obj.state
        model = _Model(before.value, facts or {})
        Machine(model=model, states=[s.value for s in self.states],
                transitions=[{"trigger": r.trigger, "source": [s.value for s in r.sources],
                              "dest": r.dest.value, "conditions": list(r.conditions),
                              "unless": list(r.unless)} for r in self.rows],
                initial=model.state, auto_transitions=False, ignore_invalid_triggers=False)
        try:
            moved = getattr(model, trigger)()
        except MachineError as error:
            raise Conflict(self.refusal, state=before.label) from error
        if not moved:
            raise Conflict(self.refusal, state=before.label)
        obj.state = self.states(model.state)
        return before, obj.state

    def mermaid(self, current: Any | None = None) -> str:
        """The table drawn as a Mermaid state diagram."""
        lines = ["stateDiagram-v2"] + [f"    [*] --> {s.value}" for s in self.initial]
        seen: set[tuple[str, str, str]] = set()
        for row in self.rows:
            for source in row.sources:
                key = (source.value, row.dest.value, row.trigger)
                if key not in seen:
                    seen.add(key)
                    lines.append(f"    {source.value} --> {row.dest.value}: {row.trigger}")
        lines += [f"    {final.value} --> [*]" for final in self.finals]
        if current is not None:
            lines.append(f"    class {current.value} current")
            lines.append("    classDef current fill:#fde68a,stroke:#b45309")
        return "\n".join(lines)
