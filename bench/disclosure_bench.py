"""What the cell-key method costs in precision: every published table (persons held at the end of
the last month, movements over the year to its end, time held against the limit) of every body
that keeps records, counted exactly and as published, compared cell by cell; next to it, what
the suppression it replaces withheld (counts from 1 to 4, and the next smallest where a breakdown
withheld only one) over the same cells; and the time of counting every scope's tables with the
records' keys summed beside the counts, against counting them without (the same run).

    python bench/disclosure_bench.py --persons 20000 --backend sqlite [--keep FILE] [--today D]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics as stats
import time
from collections import defaultdict

from common import load_scale, scratch_url
from sqlalchemy import select
from stats_bench import add_events

from workflow.db import make_engine, make_session_factory
from workflow.figures import disclosure
from workflow.figures import statistics as figures
from workflow.models import Organisation
from workflow.organisations.scope import management_scope
from workflow.requests.rules import Rulebook

THRESHOLD = 5


def tables(session, scope, day, start, end, control):
    """(table, breakdown) → ({item: figure}, total) for one scope."""
    out = {}
    population = figures.population(session, scope, day, control)
    for dim, b in population.breakdowns.items():
        out[("population", dim)] = ({c.key: c.count for c in b.cells}, b.total)
    moves = figures.movements(session, scope, start, end, control)
    for kind, breakdowns in moves.by_kind.items():
        for dim, b in breakdowns.items():
            out[(f"movements {kind}", dim)] = ({c.key: c.count for c in b.cells}, b.total)
    held = figures.time_held(session, scope, day, Rulebook().on(day), control)
    measures = {c.key: c.count for c in population.breakdowns["measure"].cells}
    for measure, cells in held.cells.items():
        out[("time held", measure)] = ({c.key: c.count for c in cells}, measures[measure])
    return out


def suppressed(items: dict[str, int]) -> set[str]:
    """What the replaced rule withheld: 1 to 4, and the next smallest beside a lone one."""
    small = {k for k, n in items.items() if 0 < n < THRESHOLD}
    if len(small) == 1:
        others = sorted((n, k) for k, n in items.items() if n and k not in small)
        if others:
            small.add(others[0][1])
    return small


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--keep", help="reuse/keep this SQLite file or PostgreSQL database")
    parser.add_argument("--today", type=dt.date.fromisoformat, default=dt.date.today())
    args = parser.parse_args()
    url, cleanup = scratch_url(args.backend, args.keep)
    try:
        load_scale(url, args.persons, add_events)
        day, start, end = disclosure.default_reporting(args.today)
        published = disclosure.cell_key_control("bench-installation-secret", THRESHOLD)
        exact = disclosure.exact_control()
        engine = make_engine(url)
        # family → list of (true, shown) per cell; and |total − sum of shown parts|
        cells: dict[str, list[tuple[int, int]]] = defaultdict(list)
        gaps: dict[str, list[int]] = defaultdict(list)
        withheld: dict[str, int] = defaultdict(int)
        scopes, spent = 0, {"exact": 0.0, "published": 0.0}
        with make_session_factory(engine)() as session:
            for body in session.scalars(select(Organisation).order_by(Organisation.id)):
                scope = management_scope(session, body, day)
                if scope.empty:
                    continue
                scopes += 1
                began = time.perf_counter()
                truth = tables(session, scope, day, start, end, exact)
                counted = time.perf_counter()
                shown = tables(session, scope, day, start, end, published)
                spent["exact"] += counted - began
                spent["published"] += time.perf_counter() - counted
                for key, (items, total) in truth.items():
                    family = key[0].split(" ")[0]
                    shown_items, shown_total = shown[key]
                    for item, n in items.items():
                        cells[family].append((n, shown_items.get(item, 0)))
                    cells[family].append((total, shown_total))
                    gaps[family].append(abs(shown_total - sum(shown_items.values())))
                    withheld[family] += len(suppressed(items))
        engine.dispose()
        print(f"\n{args.persons:,} persons on {args.backend}; {scopes} scopes (every body "
              f"that keeps records); held on {day}, movements {start} to {end}; threshold "
              f"{THRESHOLD}")
        print(f"{'table':<11}{'cells≠0':>9}{'changed':>9}{'mean |Δ|':>10}{'mean |Δ|≥5':>12}"
              f"{'rel. err ≥20':>13}{'small':>8}{'|total−Σ|':>11}{'withheld before':>17}")
        for family, pairs in cells.items():
            nonzero = [(n, s) for n, s in pairs if n]
            big = [(n, s) for n, s in nonzero if n >= THRESHOLD]
            large = [(n, s) for n, s in nonzero if n >= 20]
            print(f"{family:<11}{len(nonzero):>9,}"
                  f"{sum(n != s for n, s in nonzero) / len(nonzero):>9.1%}"
                  f"{stats.fmean(abs(n - s) for n, s in nonzero):>10.2f}"
                  f"{stats.fmean(abs(n - s) for n, s in big) if big else 0:>12.2f}"
                  f"{stats.fmean(abs(n - s) / n for n, s in large) if large else 0:>13.2%}"
                  f"{sum(n < THRESHOLD for n, _ in nonzero) / len(nonzero):>8.1%}"
                  f"{stats.fmean(gaps[family]):>11.2f}"
                  f"{withheld[family] / len(nonzero):>17.1%}")
        every = [(n, s) for pairs in cells.values() for n, s in pairs if n]
        print(f"{'all':<11}{len(every):>9,}{sum(n != s for n, s in every) / len(every):>9.1%}"
              f"{stats.fmean(abs(n - s) for n, s in every):>10.2f}")
        print("zeros changed:", sum(1 for pairs in cells.values() for n, s in pairs
                                    if n == 0 and s != 0))
        print(f"counting every scope: exact {spent['exact']:.2f} s, published (keys summed) "
              f"{spent['published']:.2f} s, ratio {spent['published'] / spent['exact']:.2f}")
    finally:
        cleanup()


if __name__ == "__main__":
    main()
