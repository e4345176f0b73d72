"""The statistics dashboard at scale: median and p95 server time of the whole dashboard page for a
provincial manager and the nationwide centre, with the figures kept (as served) and counted afresh
from the records (what the first viewer after they expire, or `custody sweep`, pays), next to a
bare Flask route and a signed-in page of this app that does no work, all measured in one run.

Loads N persons (default 1,000,000) with their episodes and cases, then adds the events the
movement figures count (a receipt for every episode, a release, transfer or handover for every
ended one, extensions and extractions for some), in SQL.

    python bench/stats_bench.py --persons 1000000 --backend postgresql [--keep custody_stats_1m]
"""

from __future__ import annotations

import argparse
import statistics

from common import Baselines, load_scale, print_baselines, scratch_url, stats, timed
from sqlalchemy import func, select, text

from workflow.models import CustodyEvent

USERS = {"province (CA-HANOI)": "manager.hanoi", "nationwide (TTCSDL)": "manager.central"}
# Events in SQL, each kind from a deterministic share of episodes (by id), all portable.
EVENTS = [
    "INSERT INTO custody_event (episode_id, kind, occurred_on, version, created_at) "
    "SELECT id, 'receipt', start_date, 1, CURRENT_TIMESTAMP FROM custody_episode",
    "INSERT INTO custody_event (episode_id, kind, occurred_on, version, created_at) "
    "SELECT id, CASE WHEN id % 10 = 0 THEN 'transfer' WHEN id % 3 = 0 AND measure = 'detention' "
    "THEN 'handover_for_sentence' ELSE 'release' END, end_date, 1, CURRENT_TIMESTAMP "
    "FROM custody_episode WHERE end_date IS NOT NULL",
    "INSERT INTO custody_event (episode_id, kind, occurred_on, version, created_at) "
    "SELECT id, 'extension', start_date + {plus3}, 1, CURRENT_TIMESTAMP FROM custody_episode "
    "WHERE id % 4 = 0 AND (end_date IS NULL OR end_date > start_date + {plus3})",
    "INSERT INTO custody_event (episode_id, kind, occurred_on, version, created_at) "
    "SELECT id, 'extraction', start_date + {plus1}, 1, CURRENT_TIMESTAMP FROM custody_episode "
    "WHERE id % 7 = 0 AND (end_date IS NULL OR end_date > start_date + {plus1})",
]


def add_events(session) -> None:
    """The events the movement figures count, written in SQL for every episode at once."""
    pg = session.get_bind().dialect.name == "postgresql"
    for sql in EVENTS:
        if not pg:  # SQLite keeps dates as text: date arithmetic through date()
            sql = (sql.replace("start_date + {plus3}", "date(start_date, '+3 days')")
                   .replace("start_date + {plus1}", "date(start_date, '+1 days')"))
        session.execute(text(sql.format(plus3=3, plus1=1)))
    events = session.scalar(select(func.count()).select_from(CustodyEvent))
    print(f"added {events:,} events")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--loads", type=int, default=40, help="page loads per user")
    parser.add_argument("--cold", type=int, default=5, help="loads counted afresh per user")
    parser.add_argument("--keep", help="reuse/keep this SQLite file or PostgreSQL database")
    args = parser.parse_args()

    url, cleanup = scratch_url(args.backend, args.keep)
    try:
        load_scale(url, args.persons, add_events)
        bench = Baselines(url)
        sizes, results = [], []
        clients = {label: bench.client_as(username) for label, username in USERS.items()}
        # Counted afresh from the records at every load (kept figures switched off): what the
        # first viewer after the figures expire would wait, and what `custody sweep` spends.
        bench.app.config["STATISTICS_MAX_AGE_MINUTES"] = 0
        for label, client in clients.items():
            timed(client, "GET", "/statistics/")
            samples = [timed(client, "GET", "/statistics/")[0] for _ in range(args.cold)]
            results.append((label, "dashboard, counted afresh", *stats(samples)))
        bench.app.config["STATISTICS_MAX_AGE_MINUTES"] = 10
        for label, client in clients.items():
            for _ in range(3):  # warm-up: the first load counts and keeps the figures
                timed(client, "GET", "/statistics/")
            samples = []
            for _ in range(args.loads):
                ms, size = timed(client, "GET", "/statistics/")
                samples.append(ms)
                sizes.append(size)
            results.append((label, "dashboard (kept figures)", *stats(samples)))
        base = bench.measure(int(statistics.median(sizes)), "clerk.hanoi", args.loads * 5)
        bare_p95 = base["bare"][1]
        print(f"\n{args.persons:,} persons on {args.backend}; {args.loads} dashboard loads per "
              f"row (today, this year so far); page size {int(statistics.median(sizes)):,} bytes")
        print(f"{'user scope':<26}{'page':<30}{'median ms':>10}{'p95 ms':>9}"
              f"{'p95 / bare p95':>16}")
        for label, page, median, p95 in results:
            print(f"{label:<26}{page:<30}{median:>10.2f}{p95:>9.2f}{p95 / bare_p95:>16.1f}")
        print_baselines(base)
    finally:
        cleanup()


if __name__ == "__main__":
    main()
