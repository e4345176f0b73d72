"""The approver's queue with 100,000 requests in the database: median and p95 server time of
the "awaiting my decision" page, next to a bare Flask route and the app's signed-in floor.

    python bench/queue_bench.py --requests 100000 --backend postgresql
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random

from common import Baselines, print_baselines, refresh_statistics, scratch_url, stats, timed
from sqlalchemy import func, insert, select

from workflow import schema
from workflow.context import SYSTEM
from workflow.db import make_engine, make_session_factory
from workflow.demo.world import load_demo
from workflow.models import AccessRequest, CustodyEpisode, Organisation, Person, RequestStep, User
from workflow.organisations.tree import province_slug

STATES = [("awaiting_approval", 25), ("awaiting_consent", 10), ("approved", 10),
          ("released", 30), ("closed", 10), ("refused", 10), ("returned", 5)]
TODAY = dt.date(2026, 11, 24)


def load(url: str, requests: int, persons: int) -> None:
    """Demo persons, then `requests` requests spread over the provinces (bulk, for speed)."""
    engine = make_engine(url)
    schema.upgrade(engine)
    with make_session_factory(engine)() as session:
        if session.scalar(select(func.count()).select_from(AccessRequest)) >= requests:
            print("reusing the loaded requests")
            engine.dispose()
            refresh_statistics(url)
            return
        load_demo(session, SYSTEM, persons=persons, seed=2017, details=False)
        rng = random.Random(11)
        codes = {o.id: o for o in session.execute(select(Organisation)).scalars()}
        by_code = {o.code: o.id for o in codes.values()}
        subjects = session.execute(select(Person.id, CustodyEpisode.facility_id).join(
            CustodyEpisode)).all()
        requester = session.execute(select(User).where(User.username == "requester.vks")
                                    ).scalar_one()
        now = dt.datetime(2026, 11, 24, 2, tzinfo=dt.UTC)
        start = (session.scalar(select(func.max(AccessRequest.id))) or 0) + 1
        states, weights = zip(*STATES, strict=True)
        for chunk in range(0, requests, 5000):
            rows, steps = [], []
            for i in range(start + chunk, start + min(chunk + 5000, requests)):
                person_id, facility_id = rng.choice(subjects)
                province = codes[facility_id].province
                body = by_code.get(f"CA-{province_slug(province)}") if province else None
                body = body or by_code["C11"]
                state = rng.choices(states, weights)[0]
                due = TODAY + dt.timedelta(days=rng.randint(-10, 15))
                rows.append({
                    "id": i, "number": f"YC-B-{i:07d}", "state": state, "version": 3,
                    "requester_id": requester.id, "requester_org_id": requester.organisation_id,
                    "channel": "network", "subject_kind": "person", "subject_person_id": person_id,
                    "categories": json.dumps(["episodes"]), "purpose": "Kiểm sát việc tạm giam",
                    "legal_basis": "Điều 12 NĐ 121/2017", "provision": "pdf",
                    "urgency": rng.choice(["normal", "normal", "urgent"]),
                    "rule_version": "L128-2025.1", "route": "{}", "due_on": due,
                    "deadline": "{}", "extended": False, "overdue_notified": False,
                    "due_soon_notified": False, "created_at": now, "submitted_at": now,
                    "updated_at": now})
                pending = state == "awaiting_approval"
                steps.append({"request_id": i, "round": 1, "kind": "approval", "org_id": body,
                              "outcome": "pending" if pending else "granted", "due_on": due,
                              "decided_at": None if pending else now,
                              "rule_version": "L128-2025.1"})
            session.execute(insert(AccessRequest), rows)
            session.execute(insert(RequestStep), steps)
        session.commit()
        print(f"loaded {requests} requests")
    engine.dispose()
    refresh_statistics(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--keep", help="reuse/keep this SQLite file or PostgreSQL database")
    args = parser.parse_args()

    url, cleanup = scratch_url(args.backend, args.keep)
    try:
        load(url, args.requests, args.persons)
        bench = Baselines(url)
        client = bench.client_as("approver.hanoi")
        pages = {"awaiting my decision": "/requests/?view=approval",
                 "awaiting my decision, urgent": "/requests/?view=approval&urgency=urgent",
                 "overdue in my organisation": "/requests/?view=overdue"}
        results, sizes = [], []
        for label, path in pages.items():
            for _ in range(10):
                timed(client, "GET", path)
            samples = []
            for _ in range(args.samples):
                ms, size = timed(client, "GET", path)
                samples.append(ms)
                sizes.append(size)
            results.append((label, *stats(samples)))
        size = sorted(sizes)[len(sizes) // 2]
        base = bench.measure(size, "approver.hanoi", args.samples)
        print(f"\n{args.requests:,} requests on {args.backend}; {args.samples} loads per row; "
              f"page size {size:,} bytes (100 rows)")
        print(f"{'approver (CA-HANOI)':<26}{'page':<30}{'median ms':>10}{'p95 ms':>9}"
              f"{'p95 / bare p95':>16}")
        for label, median, p95 in results:
            print(f"{'':<26}{label:<30}{median:>10.2f}{p95:>9.2f}{p95 / base['bare'][1]:>16.1f}")
        print_baselines(base)
    finally:
        cleanup()


if __name__ == "__main__":
    main()
