"""Backups (Decree Art. 11): a consistent copy of the database, encrypted with a key the
database does not hold (`encryption`), with a manifest of what it holds; and a restore that is
declared good only after the copy is checked against that manifest and its audit chain verifies.
SQLite uses its online backup API; PostgreSQL pg_dump/pg_restore. A restore drill restores the
latest backup of a folder into a scratch database, checks it and drops it.

The manifest stays readable (counts, hashes, the audit head: no personal data); it names the
encryption scheme, the key's fingerprint (not the key) and the ciphertext's SHA-256."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess  # noqa: S404 - runs pg_dump and pg_restore, with argument lists only
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import Connection, Engine, func, inspect, select, table
from sqlalchemy.orm import Session

from workflow.audit import chain as audit
from workflow.db import make_engine
from workflow.errors import Conflict, InvalidInput, NotFound
from workflow.i18n import N_
from workflow.models import AuditHead
from workflow.operations import encryption
from workflow.schema import current_revision

MANIFEST_SUFFIX = ".manifest.json"
SCRATCH_PREFIX = "custody_drill_"
FORMAT = 2  # 1: the copy itself, unencrypted; 2: encrypted (`encryption.SCHEME`)


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
    return {"format": FORMAT, "backend": engine.dialect.name,
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


def manifest_path(path: Path) -> Path:
    """Where the manifest of the backup at `path` is."""
    return Path(str(path) + MANIFEST_SUFFIX)


def back_up(engine: Engine, path: Path, key: bytes, *, rotated: bool = False) -> dict:
    """Write a consistent, encrypted copy to `path` and its manifest beside it; returns the
    manifest. `rotated` marks a backup that `--rotate` may delete later."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        target = path.open("xb")  # exclusive: never overwrites, even in a race
    except FileExistsError as error:
        raise Conflict(N_("%(path)s exists already; a backup never overwrites a file."),
                       path=str(path)) from error
    try:
        with target:
            manifest = _manifest(engine)
            if engine.dialect.name == "sqlite":
                manifest["counts"], digest = _back_up_sqlite(engine, target, key)
            else:
                manifest["counts"], digest = _back_up_postgresql(engine, target, key)
    except BaseException:
        path.unlink(missing_ok=True)  # a half-written file is no backup
        raise
    manifest["encryption"] = {"scheme": encryption.SCHEME,
                              "key_fingerprint": encryption.fingerprint(key),
                              "ciphertext_sha256": digest}
    manifest["rotated"] = rotated
    manifest_path(path).write_text(json.dumps(manifest, indent=2), "utf-8")
    return manifest


@contextmanager
def _private_folder(beside: Path) -> Iterator[Path]:
    """A folder readable by its owner only, beside a database file: a plaintext copy sits where
    the database itself does, never in the (perhaps off-site) backup folder."""
    with tempfile.TemporaryDirectory(prefix=".custody-", dir=beside.parent) as folder:
        yield Path(folder)


def _back_up_sqlite(engine: Engine, target: BinaryIO, key: bytes) -> tuple[dict, str]:
    database = Path(engine.url.database)
    with _private_folder(database) as folder:
        copy_path = folder / "copy.db"
        source, copy = sqlite3.connect(database), sqlite3.connect(copy_path)
        try:
            with copy:
                source.backup(copy)  # a consistent snapshot even while the app writes
        finally:
            source.close()
            copy.close()
        # Counted again from the copy: the app may have written between the two.
        table_counts = _sqlite_counts(copy_path)
        with copy_path.open("rb") as plain:
            return table_counts, encryption.encrypt(plain, target, key)


def _back_up_postgresql(engine: Engine, target: BinaryIO, key: bytes) -> tuple[dict, str]:
    # Count inside a snapshot and dump that same snapshot: the manifest matches the dump
    # however busy the application is. The dump is encrypted as it comes out of pg_dump.
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, \
            tempfile.TemporaryFile() as errors:
        snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
        table_counts = _count_rows(conn)
        args = ["pg_dump", "--format=custom", "--no-owner", f"--snapshot={snapshot}",
                *_pg_args(engine)]
        with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=errors,  # noqa: S603
                              env=_pg_env(engine)) as dump:
            digest = encryption.encrypt(dump.stdout, target, key)
        if dump.returncode:
            errors.seek(0)
            raise subprocess.CalledProcessError(dump.returncode, args, stderr=errors.read())
    return table_counts, digest


def _sqlite_counts(path: Path) -> dict[str, int]:
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{path}")
    try:
        return counts(engine)
    finally:
        engine.dispose()


def read_manifest(path: Path) -> dict:
    """The manifest of the backup at `path` (both must exist)."""
    path = Path(path)
    if not path.is_file() or not manifest_path(path).is_file():
        raise InvalidInput(N_("%(path)s and its manifest are needed."), path=str(path))
    try:
        return json.loads(manifest_path(path).read_text("utf-8"))
    except ValueError as error:
        raise InvalidInput(N_("%(path)s and its manifest are needed."),
                           path=str(path)) from error


def verify_file(path: Path, key: bytes | None, *, allow_unencrypted: bool = False) -> dict:
    """Check, before anything is restored from it, that the backup is whole and readable with
    `key`: the key's fingerprint, every chunk, the ciphertext's hash. Returns its manifest."""
    manifest = read_manifest(path)
    sealed = manifest.get("encryption")
    if sealed is None:
        if allow_unencrypted:
            return manifest
        raise InvalidInput(N_("This backup is not encrypted (made before backups were); "
                              "restore it only if you trust where it was kept."))
    if sealed.get("scheme") != encryption.SCHEME:
        raise InvalidInput(N_("This backup is encrypted with %(scheme)s, which this version "
                              "does not read."), scheme=sealed.get("scheme"))
    if key is None or encryption.fingerprint(key) != sealed.get("key_fingerprint"):
        raise InvalidInput(N_("This backup was encrypted with the key %(wanted)s; the key "
                              "configured here is %(have)s."),
                           wanted=sealed.get("key_fingerprint"),
                           have=encryption.fingerprint(key) if key else "-")
    with Path(path).open("rb") as source:
        digest = encryption.decrypt(source, key)
    if digest != sealed.get("ciphertext_sha256"):
        raise InvalidInput(N_("The backup file does not match its manifest's SHA-256."))
    return manifest


def _stream_plaintext(path: Path, manifest: dict, key: bytes | None,
                      sink: Callable[[bytes], object]) -> None:
    with Path(path).open("rb") as source:
        if manifest.get("encryption") is None:
            while chunk := source.read(encryption.CHUNK):
                sink(chunk)
        elif encryption.decrypt(source, key, sink) != manifest["encryption"]["ciphertext_sha256"]:
            # The file changed since it was verified: whatever went to the sink is discarded.
            raise InvalidInput(N_("The backup file does not match its manifest's SHA-256."))


def restore(path: Path, engine: Engine, key: bytes | None, *, replace: bool = False,
            allow_unencrypted: bool = False) -> Check:
    """Restore the backup into the database of `engine` (which must be empty unless `replace`),
    then check it against the manifest: row counts, audit chain, its head. Nothing is changed
    unless the whole file first decrypts and matches its manifest."""
    path = Path(path)
    manifest = verify_file(path, key, allow_unencrypted=allow_unencrypted)
    if manifest.get("backend") != engine.dialect.name:
        raise InvalidInput(N_("This is a %(backend)s backup."), backend=manifest.get("backend"))
    if inspect(engine).get_table_names() and not replace:
        raise Conflict(N_("The target database is not empty; restore into an empty one."))
    if engine.dialect.name == "sqlite":
        _restore_sqlite(path, manifest, key, engine)
    else:
        _restore_postgresql(path, manifest, key, engine)
    return check_against(engine, manifest)


def _restore_sqlite(path: Path, manifest: dict, key: bytes | None, engine: Engine) -> None:
    engine.dispose()
    target = Path(engine.url.database)
    target.parent.mkdir(parents=True, exist_ok=True)
    with _private_folder(target) as folder:
        plain_path = folder / "restored.db"
        with plain_path.open("wb") as plain:
            _stream_plaintext(path, manifest, key, plain.write)
        source, copy = sqlite3.connect(plain_path), sqlite3.connect(target)
        try:
            with copy:
                source.backup(copy)
        finally:
            source.close()
            copy.close()


def _restore_postgresql(path: Path, manifest: dict, key: bytes | None, engine: Engine) -> None:
    # One transaction: if the stream stops half-way (the file changed since it was verified),
    # pg_restore is killed and PostgreSQL rolls everything back.
    args = ["pg_restore", "--no-owner", "--clean", "--if-exists", "--exit-on-error",
            "--single-transaction", *_pg_args(engine)]
    with tempfile.TemporaryFile() as errors:
        load = subprocess.Popen(args, stdin=subprocess.PIPE, stderr=errors,  # noqa: S603
                                env=_pg_env(engine))
        try:
            _stream_plaintext(path, manifest, key, load.stdin.write)
            load.stdin.close()
        except BrokenPipeError:
            # pg_restore stopped on an error of its own, reported below; what it was not sent
            # goes with the pipe.
            with suppress(BrokenPipeError):
                load.stdin.close()
        except BaseException:
            load.kill()
            load.wait()
            raise
        if load.wait():
            errors.seek(0)
            raise subprocess.CalledProcessError(load.returncode, args, stderr=errors.read())
    engine.dispose()


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


@dataclass
class Drill:
    """What a restore drill found: the backup it took, its manifest and the restored copy."""

    path: Path
    manifest: dict
    check: Check


def latest(directory: Path) -> Path:
    """The newest backup in `directory` (a file with a manifest), by when it was made."""
    found = []
    for manifest in Path(directory).glob(f"*{MANIFEST_SUFFIX}"):
        path = Path(str(manifest)[:-len(MANIFEST_SUFFIX)])
        try:
            made = json.loads(manifest.read_text("utf-8"))["created_at"]
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not one of ours
        if path.is_file():
            found.append((made, path))
    if not found:
        raise NotFound(N_("No backup in %(path)s."), path=str(directory))
    return max(found)[1]


@contextmanager
def scratch_database(engine: Engine) -> Iterator[Engine]:
    """An empty database of the same kind as `engine`'s, dropped afterwards: a temporary SQLite
    file, or a PostgreSQL database created on the same server."""
    if engine.dialect.name == "sqlite":
        with _private_folder(Path(engine.url.database)) as folder:
            scratch = make_engine(f"sqlite:///{folder / 'drill.db'}")
            try:
                yield scratch
            finally:
                scratch.dispose()
        return
    name = f"{SCRATCH_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:8]}"  # whose it is, if left
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    scratch = make_engine(engine.url.set(database=name).render_as_string(hide_password=False))
    try:
        yield scratch
    finally:
        scratch.dispose()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def drill(directory: Path, engine: Engine, key: bytes | None) -> Drill:
    """Restore the newest backup in `directory` into a scratch database beside `engine`'s and
    check it; the database of `engine` itself is only used to create and drop the scratch one."""
    path = latest(directory)
    with scratch_database(engine) as scratch:
        check = restore(path, scratch, key)
    return Drill(path, read_manifest(path), check)
