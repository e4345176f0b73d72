"""What the exchange's change log costs, per back-end, against a baseline measured in the same run:

- rows/s of record versions written ten to a transaction with the change log's trigger, next to
  the same writes once the trigger is dropped (the baseline);
- rows/s of the exporter placing that many committed, unplaced rows (`changelog.place`), next to
  reading as many versions by id (what an export does anyway).

    .venv/bin/python bench/changelog_bench.py [--rows 5000] [--backend sqlite|postgresql]...
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
import uuid

from sqlalchemy import insert, select, text
from sqlalchemy.engine import make_url

from workflow.db import make_engine, make_session_factory
from workflow.exchange import changelog
from workflow.models import RecordVersion
from workflow.schema import upgrade

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PER_TRANSACTION = 10


def _write(factory, rows: int, start: int) -> float:
    """Seconds to write `rows` versions, PER_TRANSACTION to a commit."""
    began = time.perf_counter()
    for first in range(start, start + rows, PER_TRANSACTION):
        with factory() as session:
            session.execute(insert(RecordVersion), [
                {"record_type": "person", "record_id": n, "version": 1, "person_id": None,
                 "data": "{}", "reason": "bench", "changed_at": dt.datetime.now(dt.UTC)}
                for n in range(first, first + PER_TRANSACTION)])
            session.commit()
    return time.perf_counter() - began


def _drop_trigger(engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER record_version_logged ON record_version"))
        else:
            conn.execute(text("DROP TRIGGER record_version_logged"))


def run(url: str, rows: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    factory = make_session_factory(engine)
    logged = _write(factory, rows, 1)
    with factory() as session:
        began = time.perf_counter()
        placed = changelog.place(session)
        session.commit()
        placing = time.perf_counter() - began
        began = time.perf_counter()
        read = len(session.scalars(select(RecordVersion).order_by(RecordVersion.id)).all())
        reading = time.perf_counter() - began
    _drop_trigger(engine)
    bare = _write(factory, rows, rows + 1)
    engine.dispose()
    print(f"{engine.dialect.name}: {rows} versions")
    print(f"  written with the log   {rows / logged:10.0f} rows/s")
    print(f"  written without it     {rows / bare:10.0f} rows/s   (the log: {logged / bare:.2f}x "
          "the time)")
    print(f"  placed by the exporter {placed / placing:10.0f} rows/s")
    print(f"  read by id             {read / reading:10.0f} rows/s   (placing: "
          f"{placing / reading:.2f}x the time)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    for backend in args.backend or ["sqlite"]:
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as directory:
                run(f"sqlite:///{directory}/bench.db", args.rows)
            continue
        name = f"custody_bench_{uuid.uuid4().hex[:8]}"
        admin = make_engine(PG, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            run(make_url(PG).set(database=name).render_as_string(hide_password=False),
                args.rows)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
