"""Backups: a round trip through `custody backup` and `custody restore` on both back-ends leaves
an equal, verified database, and the file on disk is ciphertext; a copy that does not match its
manifest is not declared good; a wrong key, an altered or a cut file is refused with nothing
changed; the restore drill passes on a good backup and fails on a bad one."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import uuid

import psycopg
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from tests.conftest import PG_URL, _pg, _pg_admin_dsn
from tests.helpers import last_audit
from web import create_app
from workflow.db import make_engine
from workflow.errors import InvalidInput
from workflow.models import Person
from workflow.operations import backup, encryption


@pytest.fixture
def empty_url(backend, tmp_path):
    """An empty database of the same back-end."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    name = f"custody_r_{uuid.uuid4().hex[:12]}"
    _pg(f'CREATE DATABASE "{name}"')
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    _pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _runner_for(url: str, tmp_path):
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "test-secret"})
    app.instance_path = str(tmp_path)
    return app, app.test_cli_runner()


def test_backup_and_restore_round_trip(app, runner, auth, client, db, database_url, empty_url,
                                      tmp_path):
    auth.login("clerk.hanoi")  # some fresh audit entries to carry over
    path = tmp_path / "backups" / "custody.backup"
    result = runner.invoke(args=["backup", str(path)])
    assert result.exit_code == 0, result.output
    # Encrypted at rest: no demo person's name, no SQLite or pg_dump header on disk.
    data = path.read_bytes()
    names = list(db.scalars(select(Person.full_name).order_by(Person.id).limit(20)))
    assert data.startswith(encryption.MAGIC) and b"SQLite format" not in data[:100]
    assert b"PGDMP" not in data and not [n for n in names if n.encode() in data]
    key_file = tmp_path / "backup-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    recorded = last_audit(db, "backup.create")
    assert recorded.outcome == "success" and json.loads(recorded.details)["file"] == str(path)
    # committed after the backup: not in the copy
    client.post("/search", data={"q": "Tran"}, follow_redirects=True)
    assert runner.invoke(args=["backup", str(path)]).exit_code != 0  # never overwrites
    manifest = json.loads((tmp_path / "backups" / "custody.backup.manifest.json").read_text())
    assert manifest["counts"]["audit_entry"] > 0 and manifest["revision"]
    assert manifest["encryption"] == {
        "scheme": encryption.SCHEME,
        "key_fingerprint": encryption.fingerprint(
            encryption.key_from_text(key_file.read_text())),
        "ciphertext_sha256": hashlib.sha256(data).hexdigest()}

    restored_app, restored = _runner_for(empty_url, tmp_path)
    result = restored.invoke(args=["restore", str(path)])
    assert result.exit_code == 0, result.output
    assert "GOOD" in result.output
    # The witness log saw the search the copy lacks: kept aside, so the copy verifies.
    assert "audit witness log of the replaced database was kept as" in result.output
    assert len(list(tmp_path.glob("audit-witness.log.before-restore-*"))) == 1
    verified = restored.invoke(args=["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    original, copy = make_engine(database_url), make_engine(empty_url)
    assert backup.counts(copy) == manifest["counts"]
    # after the copy: its own record, the search, the refused second backup
    assert backup.counts(original) == {**manifest["counts"],
                                       "audit_entry": manifest["counts"]["audit_entry"] + 3}
    original.dispose()
    copy.dispose()
    # A second restore over the now filled database is refused without --replace.
    again = restored.invoke(args=["restore", str(path)])
    assert again.exit_code != 0 and "not empty" in again.output
    restored_app.extensions["custody_engine"].dispose()


def test_a_copy_that_does_not_match_its_manifest_is_not_good(app, runner, empty_url,
                                                            tmp_path):
    path = tmp_path / "custody.backup"
    assert runner.invoke(args=["backup", str(path)]).exit_code == 0
    manifest_path = tmp_path / "custody.backup.manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["counts"]["audit_entry"] += 1  # as if an entry had been lost on the way
    manifest_path.write_text(json.dumps(manifest))
    restored_app, restored = _runner_for(empty_url, tmp_path)
    result = restored.invoke(args=["restore", str(path)])
    assert result.exit_code == 1
    assert "PROBLEM table audit_entry" in result.output and "NOT good" in result.output
    restored_app.extensions["custody_engine"].dispose()


def _backed_up(runner, tmp_path, name: str = "custody.backup"):
    path = tmp_path / "backups" / name
    result = runner.invoke(args=["backup", str(path)])
    assert result.exit_code == 0, result.output
    return path


def _flip_byte(path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x40
    path.write_bytes(bytes(data))


def _cut(path, keep: int) -> None:
    path.write_bytes(path.read_bytes()[:keep])


@pytest.mark.parametrize("damage", [
    lambda p: _flip_byte(p, p.stat().st_size // 2),
    lambda p: _cut(p, p.stat().st_size - 1),
    lambda p: _cut(p, 1000),
], ids=["flipped byte", "last byte cut", "cut short"])
def test_an_altered_or_cut_backup_is_refused_and_nothing_changes(app, runner, database_url,
                                                                 tmp_path, damage):
    path = _backed_up(runner, tmp_path)
    engine = make_engine(database_url)
    before = backup.counts(engine)
    damage(path)
    result = runner.invoke(args=["restore", "--replace", str(path)])
    assert result.exit_code == 1, result.output
    assert "of the backup does not decrypt: the file was altered or cut short" in result.output
    assert backup.counts(engine) == before
    assert not list(tmp_path.glob("audit-witness.log.before-restore-*"))
    engine.dispose()


def test_an_altered_file_whose_manifest_was_altered_to_match_does_not_decrypt(
        app, runner, empty_url, tmp_path):
    path = _backed_up(runner, tmp_path)
    _flip_byte(path, path.stat().st_size - 3)  # inside the last chunk's tag
    manifest_path = backup.manifest_path(path)
    manifest = json.loads(manifest_path.read_text())
    manifest["encryption"]["ciphertext_sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest_path.write_text(json.dumps(manifest))
    restored_app, restored = _runner_for(empty_url, tmp_path)
    result = restored.invoke(args=["restore", str(path)])
    assert result.exit_code == 1 and "of the backup does not decrypt" in result.output
    engine = make_engine(empty_url)
    assert backup.counts(engine) == {}
    engine.dispose()
    restored_app.extensions["custody_engine"].dispose()


def test_another_key_is_refused_by_its_fingerprint_and_by_the_cipher(app, runner, empty_url,
                                                                     tmp_path):
    path = _backed_up(runner, tmp_path)
    other = encryption.new_key()
    restored_app, restored = _runner_for(empty_url, tmp_path)
    restored_app.config["BACKUP_KEY"] = base64.b64encode(other).decode()
    result = restored.invoke(args=["restore", str(path)])
    assert result.exit_code == 1
    assert f"the key configured here is {encryption.fingerprint(other)}" in result.output
    # a manifest that lies about the key changes nothing: the cipher refuses the key
    manifest_path = backup.manifest_path(path)
    manifest = json.loads(manifest_path.read_text())
    manifest["encryption"]["key_fingerprint"] = encryption.fingerprint(other)
    manifest_path.write_text(json.dumps(manifest))
    result = restored.invoke(args=["restore", str(path)])
    assert result.exit_code == 1 and "Part 1 of the backup does not decrypt" in result.output
    engine = make_engine(empty_url)
    assert backup.counts(engine) == {}
    engine.dispose()
    restored_app.extensions["custody_engine"].dispose()


def test_a_file_changed_after_its_check_is_rolled_back_half_way(app, runner, database_url,
                                                                tmp_path, monkeypatch):
    """The file is checked whole before anything is restored; if it changes between that check
    and the restore, the half-restored data does not stay (PostgreSQL: one transaction)."""
    monkeypatch.setattr(encryption, "CHUNK", 4096)  # many chunks: the damage is far in
    path = _backed_up(runner, tmp_path)
    manifest = backup.verify_file(path, encryption.load_or_create_key(tmp_path / "backup-key"))
    _flip_byte(path, path.stat().st_size - 100)
    monkeypatch.setattr(backup, "verify_file", lambda *args, **kwargs: manifest)
    engine = make_engine(database_url)
    before = backup.counts(engine)
    key = encryption.load_or_create_key(tmp_path / "backup-key")
    with pytest.raises(InvalidInput, match="does not decrypt"):
        backup.restore(path, engine, key, replace=True)
    assert backup.counts(engine) == before
    engine.dispose()


def test_the_drill_restores_the_latest_backup_into_a_scratch_database(app, runner, db,
                                                                      database_url, tmp_path):
    _backed_up(runner, tmp_path, "older.backup")
    latest = _backed_up(runner, tmp_path, "newer.backup")
    engine = make_engine(database_url)
    before = backup.counts(engine)
    result = runner.invoke(args=["restore-drill", str(tmp_path / "backups")])
    assert result.exit_code == 0, result.output
    assert "Restore drill of newer.backup" in result.output and "GOOD" in result.output
    # the live database gained the drill's record and nothing else; no scratch file is left
    assert backup.counts(engine) == {**before, "audit_entry": before["audit_entry"] + 1}
    recorded = last_audit(db, "backup.drill")
    assert recorded.outcome == "success" and json.loads(recorded.details)["file"] == str(latest)
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith(".custody-")]
    assert _drill_databases() == []
    engine.dispose()


def test_the_drill_fails_on_a_corrupted_latest_backup(app, runner, db, tmp_path):
    path = _backed_up(runner, tmp_path)
    _flip_byte(path, 200)
    result = runner.invoke(args=["restore-drill", str(tmp_path / "backups")])
    assert result.exit_code != 0 and "Part 1 of the backup does not decrypt" in result.output
    assert last_audit(db, "backup.drill").outcome == "failure"
    assert _drill_databases() == []


def test_the_drill_fails_when_the_copy_does_not_match_or_is_too_old(app, runner, tmp_path):
    path = _backed_up(runner, tmp_path)
    result = runner.invoke(args=["restore-drill", str(path.parent), "--max-age", "0"])
    assert result.exit_code == 1 and "PROBLEM the latest backup is" in result.output
    manifest_path = backup.manifest_path(path)
    manifest = json.loads(manifest_path.read_text())
    manifest["counts"]["person"] += 1
    manifest_path.write_text(json.dumps(manifest))
    result = runner.invoke(args=["restore-drill", str(path.parent)])
    assert result.exit_code == 1 and "PROBLEM table person" in result.output
    assert "FAILED" in result.output and _drill_databases() == []


def test_the_drill_says_when_there_is_no_backup(app, runner, tmp_path):
    (tmp_path / "empty").mkdir()
    result = runner.invoke(args=["restore-drill", str(tmp_path / "empty")])
    assert result.exit_code == 1 and "No backup in" in result.output
    assert runner.invoke(args=["restore-drill"]).exit_code == 2  # no BACKUP_DIR either


def _drill_databases() -> list[str]:
    """Scratch databases this process left behind on the PostgreSQL server."""
    try:
        with psycopg.connect(_pg_admin_dsn(), connect_timeout=3) as conn:
            return [row[0] for row in conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s",
                (f"{backup.SCRATCH_PREFIX}{os.getpid()}\\_%",))]
    except psycopg.OperationalError:
        return []
