"""Signed checkpoints of the audit trail: an attacker with the database in hand rewrites or
shortens the chain consistently (head included) — `custody audit verify` still catches it from
the checkpoints, also from an exported file when the checkpoint rows were removed too."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sqlalchemy import insert, select, text

from tests.audit.test_audit import as_superuser, head_seq, rehash_from, search, tamper
from workflow.audit import checkpoints
from workflow.migrations.append_only import drop_statements
from workflow.models import AuditCheckpoint, AuditEntry, AuditHead


def as_checkpoint_owner(db, statement: str) -> None:
    """Change a checkpoint row as a superuser (the append-only guard off)."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("SET session_replication_role = replica"))
        db.execute(text(statement))
        db.execute(text("SET session_replication_role = DEFAULT"))
    else:
        for stmt in drop_statements("sqlite", "audit_checkpoint"):
            db.execute(text(stmt))
        db.execute(text(statement))


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


def batch_seals(db) -> list[AuditCheckpoint]:
    return list(db.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq)))


def test_each_checkpoint_seals_the_batch_since_the_one_before(runner, client, auth, db):
    checkpoint(runner)
    auth.login("clerk.hanoi")
    client.post("/search", data={"q": "Tran"}, follow_redirects=True)
    checkpoint(runner)
    first, second = batch_seals(db)
    assert (first.first_seq, second.first_seq) == (1, first.seq + 1)
    assert second.seq == head_seq(db) and second.seals_digest
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "Audit chain intact" in result.output, result.output


def test_an_entry_rewritten_inside_a_sealed_batch_is_caught_by_its_batch_seal(runner, client,
                                                                             auth, db):
    auth.login("clerk.hanoi")
    client.post("/search", data={"q": "Tran"}, follow_redirects=True)
    checkpoint(runner)
    client.post("/search", data={"q": "Nguyen"}, follow_redirects=True)  # after the batch
    sealed = batch_seals(db)[-1]
    target = sealed.seq - 2
    # A superuser without the key rewrites an entry inside the batch, and the chain after it.
    as_superuser(db, f"UPDATE audit_entry SET purpose = 'x' WHERE seq = {target}",
                 rehash=target)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert (f"BROKEN at entry 1: one of entries 1 to {sealed.seq} was rewritten after it was "
            f"sealed (the batch seal of entries 1 to {sealed.seq} does not match)") \
        in result.output


def test_a_commits_seal_changed_inside_a_sealed_batch_is_caught(runner, client, auth, db):
    auth.login("clerk.hanoi")
    client.post("/search", data={"q": "Tran"}, follow_redirects=True)
    client.post("/search", data={"q": "Nguyen"}, follow_redirects=True)
    checkpoint(runner)
    sealed = db.scalars(select(AuditEntry).where(AuditEntry.seal.is_not(None))
                        .order_by(AuditEntry.seq.desc()).limit(3)).all()
    # Another commit's genuine seal copied onto this one: verify no longer checks it alone.
    as_superuser(db, f"UPDATE audit_entry SET seal = '{sealed[2].seal}' WHERE seq = "
                     f"{sealed[1].seq}")
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "was rewritten after it was sealed" in result.output


def test_a_forged_batch_seal_is_caught(runner, client, auth, db):
    auth.login("clerk.hanoi")
    client.post("/search", data={"q": "Tran"}, follow_redirects=True)
    checkpoint(runner)
    sealed = batch_seals(db)[-1]
    # Who holds the database and not the key cannot sign the batch of a rewritten chain.
    as_superuser(db, f"UPDATE audit_entry SET purpose = 'x' WHERE seq = {sealed.seq - 1}",
                 rehash=sealed.seq - 1)
    entry = db.get(AuditEntry, sealed.seq)
    as_checkpoint_owner(db, f"UPDATE audit_checkpoint SET head_hash = '{entry.hash}' "
                            f"WHERE id = {sealed.id}")
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert (f"BROKEN at entry 1: the batch seal of entries 1 to {sealed.seq} is forged (its "
            "signature does not match)") in result.output
    assert "the signature is not valid" in result.output  # the checkpoint's own check too


def test_an_entry_removed_from_a_sealed_batch_and_the_rest_renumbered_is_caught(runner, client,
                                                                               auth, db):
    auth.login("clerk.hanoi")
    client.post("/search", data={"q": "Tran"}, follow_redirects=True)
    checkpoint(runner)
    for q in ("Nguyen", "Le"):
        client.post("/search", data={"q": q}, follow_redirects=True)
    sealed = batch_seals(db)[-1]
    gone = sealed.seq - 3
    as_superuser(db, f"DELETE FROM audit_entry WHERE seq = {gone}",
                 f"UPDATE audit_entry SET seq = -seq WHERE seq > {gone}",
                 "UPDATE audit_entry SET seq = -seq - 1 WHERE seq < 0", rehash=gone)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"BROKEN at entry 1: one of entries 1 to {sealed.seq} was rewritten" in result.output


def test_two_entries_swapped_inside_a_sealed_batch_are_caught(runner, client, auth, db):
    auth.login("clerk.hanoi")
    client.post("/search", data={"q": "Tran"}, follow_redirects=True)
    checkpoint(runner)
    sealed = batch_seals(db)[-1]
    a, b = sealed.seq - 3, sealed.seq - 2
    as_superuser(db, f"UPDATE audit_entry SET seq = -1 WHERE seq = {a}",
                 f"UPDATE audit_entry SET seq = {a} WHERE seq = {b}",
                 f"UPDATE audit_entry SET seq = {b} WHERE seq = -1", rehash=a)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"BROKEN at entry 1: one of entries 1 to {sealed.seq} was rewritten" in result.output


def test_no_checkpoint_is_signed_over_a_chain_rewritten_since_the_last(runner, client, auth, db):
    checkpoint(runner)
    auth.login("clerk.hanoi")
    target = search(client, "Tran", db)
    search(client, "Nguyen", db)
    as_superuser(db, f"UPDATE audit_entry SET purpose = 'x' WHERE seq = {target.seq}",
                 rehash=target.seq)
    before = len(batch_seals(db))
    result = runner.invoke(args=["audit", "checkpoint", "--force"])
    assert result.exit_code == 1
    assert (f"the audit chain is broken at entry {target.seq}: rewritten after it was committed"
            in result.output and "no checkpoint signed" in result.output)
    assert len(batch_seals(db)) == before


def test_a_chain_with_checkpoints_from_before_batch_seals_still_verifies(app, runner, client,
                                                                        auth, db):
    auth.login("clerk.hanoi")
    search(client, "Tran", db)
    key = app.extensions["custody_audit_sealer"].key
    head = db.get(AuditHead, 1)
    now = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)
    old = {"seq": head.seq, "head_hash": head.hash, "created_at": now,
           "key_id": checkpoints.key_id(key)}
    # A checkpoint as revision 0033 made it: the head alone signed, no batch.
    db.execute(insert(AuditCheckpoint).values(
        **old, signature=key.sign(f"{checkpoints.EXPORT_FORMAT}:{head.seq}:{head.hash}:"
                                  f"{now.isoformat()}".encode()).hex()))
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "1 signed checkpoints verified" in result.output
    search(client, "Nguyen", db)
    checkpoint(runner)  # the first batch seal covers the chain from its first entry
    assert batch_seals(db)[-1].first_seq == 1
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "2 signed checkpoints verified" in result.output
