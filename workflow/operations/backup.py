"""Backups (Decree Art. 11): a consistent copy of the database with a manifest of what it holds,
and a restore that is declared good only after the copy is checked against that manifest and
its audit chain verifies. SQLite uses its online backup API; PostgreSQL pg_dump/pg_restore."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess  # noqa: S404 - runs pg_dump and pg_restore, with argument lists only
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, Engine, func, inspect, select, table
from sqlalchemy.orm import Session

from workflow.audit import chain as audit
from workflow.errors import Conflict, InvalidInput
from workflow.i18n import N_
from workflow.models import AuditHead
from workflow.schema import current_revision

MANIFEST_SUFFIX = ".manifest.json"


@dataclass
class Check:
    """What a restored (or any) database was found to hold against a manifest."""

    problems: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    audit_entries: int = 0

    @property
    def good(self) -> bool:
        """No problem found."""
        return not self.problems


def counts(engine: Engine) -> dict[str, int]:
    """Rows per table (every table the schema has, the migration table included)."""
    with engine.connect() as conn:
        return _count_rows(conn)


def _count_rows(conn: Connection) -> dict[str, int]:
    return {name: conn.execute(select(func.count()).select_from(table(name))).scalar_one()
            for name in sorted(inspect(conn).get_table_names())}


def _manifest(engine: Engine) -> dict:
    # One connection at a time: on SQLite each transaction takes the write lock.
    revision, table_counts = current_revision(engine), counts(engine)
    with Session(engine) as session:
        head = session.get(AuditHead, 1)
        audit_head = {"seq": head.seq, "hash": head.hash} if head else None
    return {"format": 1, "backend": engine.dialect.name,
            "created_at": dt.datetime.now(dt.UTC).isoformat(), "revision": revision,
            "counts": table_counts, "audit_head": audit_head}


def _pg_env(engine: Engine) -> dict[str, str]:
    # The password travels in the environment, never on a command line others can read.
    env = dict(os.environ)
    if engine.url.password:
        env["PGPASSWORD"] = str(engine.url.password)
    return env


def _pg_args(engine: Engine) -> list[str]:
    url = engine.url
    args = ["--host", url.host or "127.0.0.1", "--port", str(url.port or 5432)]
    if url.username:
        args += ["--username", url.username]
    return [*args, "--dbname", url.database or "postgres"]


def back_up(engine: Engine, path: Path) -> dict:
    """Write a consistent copy to `path` and its manifest beside it; returns the manifest."""
    path = Path(path)
    if path.exists():
        raise Conflict(N_("%(path)s exists already; a backup never overwrites a file."),
                       path=str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    manifest = _manifest(engine)
    if engine.dialect.name == "sqlite":
        source = sqlite3.connect(engine.url.database)
        target = sqlite3.connect(path)
        with target:
            source.backup(target)  # a consistent snapshot even while the app writes
        source.close()
        target.close()
        # Counted again from the copy: the app may have written between the two.
        manifest["counts"] = _sqlite_counts(path)
    else:
        # Count inside a snapshot and dump that same snapshot: the manifest matches the dump
        # however busy the application is.
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
            snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
            manifest["counts"] = _count_rows(conn)
            subprocess.run(["pg_dump", "--format=custom", "--no-owner",  # noqa: S603, S607
                            f"--snapshot={snapshot}", "--file", str(path), *_pg_args(engine)],
                           check=True, env=_pg_env(engine), capture_output=True)
    Path(str(path) + MANIFEST_SUFFIX).write_text(json.dumps(manifest, indent=2), "utf-8")
    return manifest


def _sqlite_counts(path: Path) -> dict[str, int]:
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{path}")
    try:
        return counts(engine)
    finally:
        engine.dispose()


def restore(path: Path, engine: Engine, *, replace: bool = False) -> Check:
    """Restore the backup into the database of `engine` (which must be empty unless `replace`),
    then check it against the manifest: row counts, audit chain, its head."""
    path = Path(path)
    manifest_path = Path(str(path) + MANIFEST_SUFFIX)
    if not path.is_file() or not manifest_path.is_file():
        raise InvalidInput(N_("%(path)s and its manifest are needed."), path=str(path))
    manifest = json.loads(manifest_path.read_text("utf-8"))
    if manifest.get("backend") != engine.dialect.name:
        raise InvalidInput(N_("This is a %(backend)s backup."), backend=manifest.get("backend"))
    if inspect(engine).get_table_names() and not replace:
        raise Conflict(N_("The target database is not empty; restore into an empty one."))
    if engine.dialect.name == "sqlite":
        engine.dispose()
        target = Path(engine.url.database)
        source = sqlite3.connect(path)
        copy = sqlite3.connect(target)
        with copy:
            source.backup(copy)
        source.close()
        copy.close()
    else:
        subprocess.run(["pg_restore", "--no-owner", "--clean", "--if-exists", "--exit-on-error",  # noqa: S603, S607
                        *_pg_args(engine), str(path)], check=True, env=_pg_env(engine),
                       capture_output=True)
        engine.dispose()
    return check_against(engine, manifest)


def check_against(engine: Engine, manifest: dict) -> Check:
    """Compare a database with a manifest and verify its audit chain."""
    result = Check(counts=counts(engine))
    for name, expected in manifest["counts"].items():
        got = result.counts.get(name)
        if got != expected:
            result.problems.append(f"table {name}: {got} rows, the backup had {expected}")
    with Session(engine) as session:
        verification = audit.verify(session)
        result.audit_entries = verification.checked
        if not verification.ok:
            result.problems.append(f"audit chain broken at entry {verification.broken_seq}: "
                                   f"{verification.problem}")
        head = session.get(AuditHead, 1)
        expected_head = manifest.get("audit_head")
        if expected_head and (head is None or head.hash != expected_head["hash"]):
            result.problems.append("the audit chain's head differs from the backup's")
    return result
