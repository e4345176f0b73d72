"""Backups: a round trip through `custody backup` and `custody restore` on both back-ends leaves
an equal, verified database; a copy that does not match its manifest is not declared good."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import PG_URL, _pg
from web import create_app
from workflow.db import make_engine
from workflow.operations import backup


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


def test_backup_and_restore_round_trip(app, runner, auth, client, database_url, empty_url,
                                      tmp_path):
    auth.login("clerk.hanoi")  # some fresh audit entries to carry over
    path = tmp_path / "backups" / "custody.backup"
    result = runner.invoke(args=["backup", str(path)])
    assert result.exit_code == 0, result.output
    # committed after the backup: not in the copy
    client.post("/search", data={"q": "Tran"}, follow_redirects=True)
    assert runner.invoke(args=["backup", str(path)]).exit_code != 0  # never overwrites
    manifest = json.loads((tmp_path / "backups" / "custody.backup.manifest.json").read_text())
    assert manifest["counts"]["audit_entry"] > 0 and manifest["revision"]

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
    assert backup.counts(original) == {**manifest["counts"],
                                       "audit_entry": manifest["counts"]["audit_entry"] + 1}
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
