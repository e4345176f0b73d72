"""Person search at scale: median and p95 server time against a bare Flask route, in one run.

Loads N persons (default 100,000) into a scratch SQLite or PostgreSQL database, then times, through
the WSGI application in this process, searches by name and by identity number for users of three
scopes (a detention camp, a province, the nationwide centre), and a bare Flask route that returns a
page of the same size. Figures are printed as milliseconds and as ratios to the bare route.

    python bench/search_bench.py --persons 1000000 --backend postgresql
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from flask import Flask, render_template
from flask_login import login_required
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from web import create_app  # noqa: E402
from workflow import accounts, schema  # noqa: E402
from workflow.context import SYSTEM  # noqa: E402
from workflow.db import make_engine, make_session_factory  # noqa: E402
from workflow.demo import load_demo  # noqa: E402
from workflow.enums import Role  # noqa: E402
from workflow.models import CustodyEpisode, Organisation, Person, PersonIdentifier  # noqa: E402

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
USERS = {"camp clerk (TTG-HANOI)": "clerk.hanoi", "province (CA-HANOI)": "approver.hanoi",
         "nationwide (TTCSDL)": "bench.central"}


def scratch_url(backend: str, keep: str | None) -> tuple[str, callable]:
    if backend == "sqlite":
        path = Path(keep) if keep else Path(tempfile.mkdtemp()) / "bench.db"
        return f"sqlite:///{path}", (lambda: None) if keep else (lambda: path.unlink())
    name = keep or f"custody_bench_{uuid.uuid4().hex[:8]}"
    admin = make_url(PG).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return make_url(PG).set(database=name).render_as_string(hide_password=False), (
        (lambda: None) if keep else drop)


def load(url: str, persons: int) -> None:
    engine = make_engine(url)
    schema.upgrade(engine)
    with make_session_factory(engine)() as session:
        existing = session.scalar(select(func.count()).select_from(Person))
        if existing:
            print(f"reusing {existing} persons")
        else:
            _fill(session, persons)
    # Fresh statistics and visibility maps, as autovacuum would leave a production database
    # (PostgreSQL runs VACUUM only outside a transaction).
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def _fill(session, persons: int) -> None:
    started = time.perf_counter()
    load_demo(session, SYSTEM, persons=persons, seed=2017, details=False)
    centre = session.execute(select(Organisation.id).where(
        Organisation.code == "TTCSDL")).scalar_one()
    accounts.create_user(session, SYSTEM, username="bench.central", full_name="Bench",
                         organisation_id=centre, roles={Role.REQUESTER},
                         password="bench.central#2026")  # noqa: S106
    session.commit()
    print(f"loaded {persons} persons in {time.perf_counter() - started:.0f} s")


def queries(url: str, rng: random.Random, n: int) -> dict[str, dict[str, list[str]]]:
    """Realistic queries per user: names and numbers of persons in that user's scope."""
    engine = make_engine(url)
    per_user: dict[str, dict[str, list[str]]] = {}
    with make_session_factory(engine)() as session:
        codes = {"clerk.hanoi": ["TTG-HANOI"],
                 "approver.hanoi": ["TTG-HANOI", "NTG-HANOI-1", "NTG-HANOI-2"],
                 "bench.central": None}
        for username, facility_codes in codes.items():
            stmt = select(Person.full_name, PersonIdentifier.value).join(
                PersonIdentifier, PersonIdentifier.person_id == Person.id)
            if facility_codes:
                stmt = stmt.join(CustodyEpisode, CustodyEpisode.person_id == Person.id).join(
                    Organisation, Organisation.id == CustodyEpisode.facility_id).where(
                    Organisation.code.in_(facility_codes))
            rows = session.execute(stmt.limit(5000)).all()
            sample = rng.sample(rows, min(n, len(rows)))
            per_user[username] = {
                "full name (no diacritics)": [
                    __import__("unidecode").unidecode(name) for name, _ in sample],
                "family + middle name prefix": [" ".join(name.split()[:2]) for name, _ in sample],
                "identity number": [value for _, value in sample],
            }
    engine.dispose()
    return per_user


def timed(client, method: str, path: str, data: dict | None = None) -> tuple[float, int]:
    started = time.perf_counter()
    response = client.open(path, method=method, data=data)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, (path, response.status_code)
    return elapsed * 1000, len(response.data)


def stats(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.95) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--requests", type=int, default=200, help="per query kind and user")
    parser.add_argument("--keep", help="reuse/keep this SQLite file or PostgreSQL database")
    args = parser.parse_args()

    url, cleanup = scratch_url(args.backend, args.keep)
    try:
        load(url, args.persons)
        rng = random.Random(7)
        per_user = queries(url, rng, args.requests)
        app = create_app({"DATABASE_URL": url, "WTF_CSRF_ENABLED": False,
                          "SECRET_KEY": "bench"})
        filler: list[str] = []

        # The application's own floor: a signed-in page in the same layout and of the same size
        # (session, user and roles, template, commit) without the search or its audit entry.
        @login_required
        def baseline():
            return render_template("error.html", status=200, title="baseline",
                                   message=filler[-1])

        app.add_url_rule("/bench-baseline", "bench_baseline", baseline)
        sizes: list[int] = []
        results = []
        for label, username in USERS.items():
            client = app.test_client()
            client.post("/login", data={"username": username, "password": f"{username}#2026"})
            for kind, values in per_user[username].items():
                for value in values[:5]:  # warm-up
                    timed(client, "POST", "/search", {"q": value})
                samples = []
                for value in values:
                    ms, size = timed(client, "POST", "/search", {"q": value})
                    samples.append(ms)
                    sizes.append(size)
                results.append((label, kind, *stats(samples), len(samples)))

        page = "x" * int(statistics.median(sizes))
        bare = Flask("bare")
        bare.add_url_rule("/bare", "bare", lambda: page)
        bare_client = bare.test_client()
        for _ in range(20):
            timed(bare_client, "GET", "/bare")
        bare_median, bare_p95 = stats([timed(bare_client, "GET", "/bare")[0]
                                       for _ in range(args.requests * 3)])

        filler.append(page)
        client = app.test_client()
        client.post("/login", data={"username": "clerk.hanoi", "password": "clerk.hanoi#2026"})
        for _ in range(20):
            timed(client, "GET", "/bench-baseline")
        app_median, app_p95 = stats([timed(client, "GET", "/bench-baseline")[0]
                                     for _ in range(args.requests * 3)])

        print(f"\n{args.persons:,} persons on {args.backend}; {args.requests} searches per row; "
              f"page size {len(page):,} bytes")
        print(f"{'user scope':<26}{'query':<30}{'median ms':>10}{'p95 ms':>9}"
              f"{'p95 / bare p95':>16}")
        for label, kind, median, p95, _n in results:
            print(f"{label:<26}{kind:<30}{median:>10.2f}{p95:>9.2f}{p95 / bare_p95:>16.1f}")
        print(f"{'bare Flask route':<26}{'same-sized page':<30}{bare_median:>10.2f}"
              f"{bare_p95:>9.2f}{1.0:>16.1f}")
        print(f"{'app, signed in, no search':<26}{'same-sized page, layout':<30}"
              f"{app_median:>10.2f}{app_p95:>9.2f}{app_p95 / bare_p95:>16.1f}")
    finally:
        cleanup()


if __name__ == "__main__":
    main()
