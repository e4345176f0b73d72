"""The statistics dashboard at scale: median and p95 server time of the whole dashboard page for a
provincial manager and the nationwide centre, with the figures kept (as served) and counted afresh
from the records (what the first viewer after they expire, or `custody sweep`, pays), next to a
bare Flask route and a signed-in page of this app that does no work, all measured in one run.

Loads N persons (default 1,000,000) with their episodes and cases, then adds the events the
movement figures count (a receipt for every episode, a release, transfer or handover for every
ended one, extensions and extractions for some), in SQL.

    python bench/stats_bench.py --persons 1000000 --backend postgresql [--keep custody_stats_1m]

With --writer, instead: the nationwide count afresh (what the sweep does every 15 minutes) while
another thread commits one small write (an audit entry, as every request writes) every 50 ms, as
a web request would meanwhile; the writes that failed ("database is locked" after the 30 s busy
wait) and the writes' commit time during the count against the same writes with no count running.

    python bench/stats_bench.py --persons 100000 --backend sqlite --writer --keep /tmp/s100k.db
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import threading
import time

from common import Baselines, load_scale, print_baselines, scratch_url, stats, timed
from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import OperationalError

from workflow.audit import chain as audit
from workflow.context import Actor
from workflow.figures import dashboard
from workflow.models import CustodyEvent, StatisticsSnapshot, User

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


class Writer:
    """A thread committing one audit entry every `pause` seconds until stopped: each commit's
    time in ms, and the failures by message."""

    def __init__(self, sessions, pause: float = 0.05) -> None:
        self.sessions, self.pause = sessions, pause
        self.samples: list[float] = []
        self.failures: dict[str, int] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        while not self.stop.is_set():
            started = time.perf_counter()
            try:
                with self.sessions() as session:
                    audit.record(session, Actor(None, "bench"), "admin.user_list",
                                 object_type="command", object_id="stats_bench")
                    session.commit()
                self.samples.append((time.perf_counter() - started) * 1000)
            except OperationalError as error:
                reason = str(error.orig)
                self.failures[reason] = self.failures.get(reason, 0) + 1
            self.stop.wait(self.pause)

    def during(self, seconds: float | None = None, work=None):
        """Run while `work()` runs (or for `seconds`); what `work` returned."""
        self.thread.start()
        try:
            if work is None:
                time.sleep(seconds or 0)
                return None
            return work()
        finally:
            self.stop.set()
            self.thread.join()


def count_with_writer(bench: Baselines, idle_seconds: float) -> None:
    """The nationwide count afresh with a writer beside it, against the writer alone."""
    sessions = bench.app.extensions["custody_sessions"]
    alone = Writer(sessions)
    alone.during(idle_seconds)
    with sessions() as session:
        manager = session.scalars(select(User).where(User.username == "manager.central")).one()
        session.execute(delete(StatisticsSnapshot).where(
            StatisticsSnapshot.organisation_id == manager.organisation_id))
        session.commit()
    rules = bench.app.extensions["custody_workflow"].rules

    def count() -> tuple[float, float]:
        with sessions() as session:
            actor = Actor(session.get(User, manager.id), "bench")
            started, cpu = time.perf_counter(), time.thread_time()
            board = dashboard.build(session, actor, rules, day=actor.today,
                                    start=dt.date(actor.today.year, 1, 1), end=actor.today,
                                    threshold=5, max_age=dt.timedelta(minutes=10))
            session.commit()
            assert board.as_of == actor.now  # counted afresh, not read back
            return time.perf_counter() - started, time.thread_time() - cpu

    beside = Writer(sessions)
    seconds, cpu = beside.during(work=count)
    # The CPU time of the counting thread (SQLite counts in it) reads the same on a busy machine.
    print(f"\nnationwide count afresh on {bench.app.config['DATABASE_URL'].split(':')[0]}: "
          f"{seconds:.2f} s ({cpu:.2f} s of CPU in this process's counting thread)")
    print(f"{'writer (a commit every 50 ms)':<34}{'commits':>8}{'failed':>8}{'median ms':>11}"
          f"{'p95 ms':>9}{'p95 / alone p95':>17}")
    alone_p95 = stats(alone.samples)[1]
    for label, writer in (("alone (baseline)", alone), ("during the count", beside)):
        median, p95 = stats(writer.samples) if writer.samples else (float("nan"),) * 2
        failed = sum(writer.failures.values())
        print(f"{label:<34}{len(writer.samples):>8}{failed:>8}{median:>11.2f}{p95:>9.2f}"
              f"{p95 / alone_p95:>17.1f}")
        for reason, n in writer.failures.items():
            print(f"    {n} × {reason}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--loads", type=int, default=40, help="page loads per user")
    parser.add_argument("--cold", type=int, default=5, help="loads counted afresh per user")
    parser.add_argument("--keep", help="reuse/keep this SQLite file or PostgreSQL database")
    parser.add_argument("--writer", action="store_true",
                        help="measure the nationwide count with a concurrent writer instead")
    parser.add_argument("--idle", type=float, default=5.0,
                        help="seconds of the writer alone (its baseline) with --writer")
    args = parser.parse_args()

    url, cleanup = scratch_url(args.backend, args.keep)
    try:
        load_scale(url, args.persons, add_events)
        bench = Baselines(url)
        if args.writer:
            count_with_writer(bench, args.idle)
            return
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
