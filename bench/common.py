"""What the benchmarks share: scratch databases, timing, and the two baselines."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pyotp
from flask import Flask, render_template
from flask_login import login_required
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from web import create_app  # noqa: E402
from workflow import schema
from workflow.context import SYSTEM  # noqa: E402
from workflow.db import make_engine, make_session_factory  # noqa: E402
from workflow.demo.world import load_demo  # noqa: E402
from workflow.models import Person, User  # noqa: E402
from workflow.security import mfa  # noqa: E402

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def scratch_url(backend: str, keep: str | None,
                template: str | None = None) -> tuple[str, Callable[[], None]]:
    """A scratch database URL and how to remove it (kept when `keep` names it); on PostgreSQL,
    a copy of the database `template` names if it does."""
    if backend == "sqlite":
        path = Path(keep) if keep else Path(tempfile.mkdtemp()) / "bench.db"
        return f"sqlite:///{path}", (lambda: None) if keep else (lambda: path.unlink())
    name = keep or f"custody_bench_{uuid.uuid4().hex[:8]}"
    admin = make_url(PG).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"'
                         + (f' TEMPLATE "{template}"' if template else ""))

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    url = make_url(PG).set(database=name).render_as_string(hide_password=False)
    return url, (lambda: None) if keep else drop


def load_scale(url: str, persons: int, then: Callable[[Session], None] | None = None) -> None:
    """Schema and `persons` demo persons (identifiers, episodes, cases; no per-person details),
    then `then`, unless the database holds persons already (a kept database is reused)."""
    engine = make_engine(url)
    schema.upgrade(engine)
    with make_session_factory(engine)() as session:
        existing = session.scalar(select(func.count()).select_from(Person))
        if existing:
            print(f"reusing {existing:,} persons")
        else:
            started = time.perf_counter()
            load_demo(session, SYSTEM, persons=persons, seed=2017, details=False)
            if then is not None:
                then(session)
            session.commit()
            print(f"loaded {persons:,} persons in {time.perf_counter() - started:.0f} s")
    engine.dispose()
    refresh_statistics(url)


def refresh_statistics(url: str) -> None:
    """Fresh statistics and visibility maps, as autovacuum would leave a production database."""
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def timed(client, method: str, path: str, data: dict | None = None) -> tuple[float, int]:
    """Server time in ms of one request through the WSGI app, and the page size."""
    started = time.perf_counter()
    response = client.open(path, method=method, data=data)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, (path, response.status_code)
    return elapsed * 1000, len(response.data)


def stats(samples: list[float]) -> tuple[float, float]:
    """Median and p95."""
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.95) - 1)]


class Baselines:
    """The app under test, plus a signed-in page of the same layout that does no work."""

    def __init__(self, url: str, config: dict | None = None) -> None:
        self.app = create_app({"DATABASE_URL": url, "WTF_CSRF_ENABLED": False,
                               "SECRET_KEY": "bench", **(config or {})})
        self.filler: list[str] = []

        @login_required
        def baseline():
            return render_template("error.html", status=200, title="baseline",
                                   message=self.filler[-1])

        self.app.add_url_rule("/bench-baseline", "bench_baseline", baseline)

    def client_as(self, username: str):
        """A test client signed in as a demo account."""
        client = self.app.test_client()
        with self.app.extensions["custody_sessions"]() as session:
            # Give the account a known authenticator for the run, then sign in in two steps.
            user = session.scalars(select(User).where(User.username == username)).one()
            secret = pyotp.random_base32()
            mfa.install(session, user, secret, self.app.extensions["custody_mfa"], SYSTEM.now)
            session.commit()
        client.post("/login", data={"username": username, "password": f"{username}#2026",
                                    "acknowledge": "y"})
        client.post("/login/code", data={"code": pyotp.TOTP(secret).now()})
        return client

    def measure(self, page_size: int, username: str, n: int) -> dict[str, tuple[float, float]]:
        """Median and p95 of a bare Flask route and of the app's signed-in floor."""
        page = "x" * page_size
        bare = Flask("bare")
        bare.add_url_rule("/bare", "bare", lambda: page)
        bare_client = bare.test_client()
        for _ in range(20):
            timed(bare_client, "GET", "/bare")
        result = {"bare": stats([timed(bare_client, "GET", "/bare")[0] for _ in range(n)])}
        self.filler.append(page)
        client = self.client_as(username)
        for _ in range(20):
            timed(client, "GET", "/bench-baseline")
        result["app"] = stats([timed(client, "GET", "/bench-baseline")[0] for _ in range(n)])
        return result


def print_baselines(base: dict[str, tuple[float, float]]) -> None:
    """The two baseline rows of a result table."""
    bare_median, bare_p95 = base["bare"]
    app_median, app_p95 = base["app"]
    print(f"{'bare Flask route':<26}{'same-sized page':<30}{bare_median:>10.2f}{bare_p95:>9.2f}"
          f"{1.0:>16.1f}")
    print(f"{'app, signed in, no search':<26}{'same-sized page, layout':<30}{app_median:>10.2f}"
          f"{app_p95:>9.2f}{app_p95 / bare_p95:>16.1f}")
