"""The request state machine drawn as SVG from `workflow.machine.TABLE` (no script, no fetch):
states in columns by their distance from `draft`, final states in the last column, transitions
as arrows whose names show on hover."""

from __future__ import annotations

from collections import defaultdict

from flask_babel import gettext
from markupsafe import Markup, escape

from workflow.requests.enums import RequestState
from workflow.requests.machine import LIFECYCLE, TABLE

W, H, GAP_X, GAP_Y, PAD = 150, 38, 90, 26, 16


def _layers() -> dict[RequestState, int]:
    finals = {s for s in RequestState if not any(s in row.sources for row in TABLE)}
    depth = {RequestState.DRAFT: 0}
    frontier = [RequestState.DRAFT]
    while frontier:
        nxt = []
        for state in frontier:
            for row in TABLE:
                if state in row.sources and row.dest not in depth and row.dest not in finals:
                    depth[row.dest] = depth[state] + 1
                    nxt.append(row.dest)
        frontier = nxt
    last = max(depth.values()) + 1
    return depth | {state: last for state in finals}


def state_diagram(current: RequestState | None = None) -> Markup:
    """An SVG of the machine with the current state highlighted."""
    depth = _layers()
    columns: dict[int, list[RequestState]] = defaultdict(list)
    for state in RequestState:
        columns[depth[state]].append(state)
    pos = {}
    for col, states in columns.items():
        for row, state in enumerate(states):
            pos[state] = (PAD + col * (W + GAP_X), PAD + row * (H + GAP_Y))
    width = PAD * 2 + len(columns) * W + (len(columns) - 1) * GAP_X
    height = PAD * 2 + max(len(s) for s in columns.values()) * (H + GAP_Y)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="state-diagram" role="img" '
             f'viewBox="0 0 {width} {height}" aria-label="{escape(gettext("Request states"))}">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
             'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
             'fill="#64748b"/></marker></defs>']
    drawn = set()
    for row in TABLE:
        for source in row.sources:
            key = (source, row.dest)
            if key in drawn:
                continue
            drawn.add(key)
            parts.append(_edge(pos[source], pos[row.dest], gettext(LIFECYCLE.caption(row))))
    for state, (x, y) in pos.items():
        cls = "node current" if state is current else "node"
        parts.append(f'<g class="{cls}"><rect x="{x}" y="{y}" width="{W}" height="{H}" rx="8"/>'
                     f'<text x="{x + W / 2}" y="{y + H / 2 + 4}" text-anchor="middle">'
                     f'{escape(gettext(state.label))}</text></g>')
    parts.append("</svg>")
    # Every text placed in the SVG went through escape(); the rest is numbers and fixed markup.
    return Markup("".join(parts))  # noqa: S704


def _edge(a: tuple[float, float], b: tuple[float, float], label: str) -> str:
    (ax, ay), (bx, by) = a, b
    if a == b:  # a transition that keeps the state: a small loop above the box
        x, y = ax + W - 30, ay
        return (f'<path class="edge" d="M {x} {y} c 10 -22 30 -22 26 2" '
                f'marker-end="url(#arrow)"><title>{escape(label)}</title></path>')
    start = (ax + W, ay + H / 2) if bx > ax else (ax, ay + H / 2) if bx < ax else (
        ax + W / 2, ay + (H if by > ay else 0))
    end = (bx, by + H / 2) if bx > ax else (bx + W, by + H / 2) if bx < ax else (
        bx + W / 2, by + (0 if by > ay else H))
    return (f'<path class="edge" d="M {start[0]} {start[1]} L {end[0]} {end[1]}" '
            f'marker-end="url(#arrow)"><title>{escape(label)}</title></path>')
