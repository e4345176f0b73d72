"""Signed checkpoints of the audit trail: an attacker with the database in hand rewrites or
shortens the chain consistently (head included) — `custody audit verify` still catches it from
the checkpoints, also from an exported file when the checkpoint rows were removed too."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sqlalchemy import select, text

from tests.audit.test_audit import head_seq, rehash_from, tamper
from workflow.audit import checkpoints
from workflow.migrations.append_only import drop_statements
from workflow.models import AuditCheckpoint, AuditHead


def checkpoint(runner) -> None:
    result = runner.invoke(args=["audit", "checkpoint", "--force"])
    assert result.exit_code == 0 and "signed at entry" in result.output, result.output


def test_checkpoints_verify_and_export(runner, auth, client, tmp_path):
    auth.login("clerk.hanoi")
    checkpoint(runner)
    client.post("/search", data={"q": "Tran"}, follow_redirects=True)
    checkpoint(runner)
    assert "No checkpoint due" in runner.invoke(args=["audit", "checkpoint"]).output
    exported = tmp_path / "checkpoints.json"
    assert runner.invoke(args=["audit", "export-checkpoints", str(exported)]).exit_code == 0
    data = json.loads(exported.read_text())
    assert len(data["checkpoints"]) == 2 and "BEGIN PUBLIC KEY" in data["public_key"]
    result = runner.invoke(args=["audit", "verify", "--checkpoints", str(exported)])
    assert result.exit_code == 0, result.output
    assert "4 signed checkpoints verified" in result.output  # two in the database, two exported


def test_a_consistently_rewritten_chain_fails_its_checkpoint(runner, db, tmp_path):
    checkpoint(runner)
    signed = db.scalars(select(AuditCheckpoint)).one().seq
    tamper(db, "UPDATE audit_entry SET actor_name = 'someone-else' WHERE seq = 2")
    rehash_from(db, 2)
    plain = runner.invoke(args=["audit", "verify"])
    assert plain.exit_code == 1
    assert "Audit chain BROKEN at entry 1: one of entries 1 to" in plain.output  # its seal
    assert f"checkpoint at entry {signed} (database): the chain's entry {signed} is not the " \
        "one signed" in plain.output


def test_truncation_is_caught_even_when_the_checkpoints_are_deleted(runner, db, client, auth,
                                                                   tmp_path):
    auth.login("clerk.hanoi")
    checkpoint(runner)
    exported = tmp_path / "offsite.json"
    runner.invoke(args=["audit", "export-checkpoints", str(exported)])
    signed = json.loads(exported.read_text())["checkpoints"][-1]["seq"]
    keep = signed - 3
    tamper(db, f"DELETE FROM audit_entry WHERE seq > {keep}")
    for stmt in drop_statements(db.get_bind().dialect.name, "audit_checkpoint"):
        db.execute(text(stmt))
    db.execute(text("DELETE FROM audit_checkpoint"))
    rehash_from(db, keep + 1)
    assert head_seq(db) == keep
    result = runner.invoke(args=["audit", "verify", "--checkpoints", str(exported)])
    assert result.exit_code == 1
    assert f"the chain ends at entry {keep}; the entries after it were removed" in result.output


def test_a_forged_checkpoint_is_refused(runner, tmp_path):
    checkpoint(runner)
    exported = tmp_path / "checkpoints.json"
    runner.invoke(args=["audit", "export-checkpoints", str(exported)])
    data = json.loads(exported.read_text())
    data["checkpoints"][0]["seq"] -= 1
    exported.write_text(json.dumps(data))
    result = runner.invoke(args=["audit", "verify", "--checkpoints", str(exported)])
    assert result.exit_code == 1 and "the signature is not valid" in result.output


def test_checkpoints_fall_due_after_n_entries_or_m_minutes(app, runner, db):
    checkpoint(runner)
    with app.extensions["custody_sessions"]() as session:
        last = session.scalars(select(AuditCheckpoint)).one()
        now = last.created_at
        assert not checkpoints.due(session, now + dt.timedelta(hours=1), 3, 10)  # nothing new
    runner.invoke(args=["audit", "verify"])  # reads only: no entry
    app.config.update(AUDIT_CHECKPOINT_ENTRIES=2, AUDIT_CHECKPOINT_MINUTES=10)
    with app.extensions["custody_sessions"]() as session:
        assert session.get(AuditHead, 1).seq == last.seq  # its own entry is covered
    runner.invoke(args=["create-user", "--username", "thanhtra.hcm", "--full-name", "T",
                        "--org", "CA-HOCHIMINH", "--role", "inspector",
                        "--password", "correct horse battery"])  # writes one
    with app.extensions["custody_sessions"]() as session:
        assert not checkpoints.due(session, now + dt.timedelta(minutes=5), 2, 10)
        assert checkpoints.due(session, now + dt.timedelta(minutes=11), 2, 10)
        assert checkpoints.due(session, now, 1, 10)
        assert not checkpoints.due(session, now, 2, 10)


def test_workers_creating_the_key_at_once_all_get_the_same_one(tmp_path, monkeypatch):
    path = tmp_path / "audit-signing-key.pem"
    first = checkpoints.load_or_create_key(path)
    # A second worker that looked a moment before the first one wrote the file.
    monkeypatch.setattr(Path, "exists", lambda self: False)
    second = checkpoints.load_or_create_key(path)
    assert checkpoints.key_id(second) == checkpoints.key_id(first)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
