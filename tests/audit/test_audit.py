"""The audit trail: an entry for every class of event, append-only in the database, and a chain
that `custody audit verify` checks down to the first edited, removed or inserted entry — also
against a database superuser without the audit key, who turns the triggers off and rewrites the
chain consistently (the seals and the witness log tell)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from tests.helpers import last_audit, org, person_at
from workflow.audit import chain as audit
from workflow.audit.chain import GENESIS, entry_hash
from workflow.audit.checkpoints import load_or_create_key
from workflow.context import SYSTEM
from workflow.db import make_engine, make_session_factory
from workflow.migrations.append_only import drop_statements
from workflow.models import AuditEntry, AuditHead


def actions_since(db, seq: int) -> list[tuple[str, str, str | None]]:
    rows = db.execute(select(AuditEntry).where(AuditEntry.seq > seq).order_by(AuditEntry.seq))
    return [(e.action, e.outcome, e.actor_name) for e in rows.scalars()]


def head_seq(db) -> int:
    return db.execute(select(AuditHead.seq)).scalar_one()


def test_every_class_of_event_writes_an_entry(client, auth, db):
    start = head_seq(db)
    person = person_at(db, "TTG-HANOI")
    auth.login("clerk.hanoi", "wrong-password")
    auth.login("nobody-here", "whatever")
    auth.login("clerk.hanoi")
    client.post("/search", data={"q": "Nguyen"}, follow_redirects=True)
    auth.purpose(person.id)
    client.get(f"/persons/{person.id}")
    client.post(f"/persons/{person.id}/identifiers/new",
                data={"kind": "passport", "value": "B1234567", "issuing_country": "Việt Nam"})
    client.post(f"/persons/{person.id}/correct", data={
        "full_name": person.full_name + " Em", "birth_date": person.birth_date.isoformat(),
        "sex": person.sex.value, "nationality": person.nationality, "version": "1",
        "reason": "Bổ sung tên đệm"})
    client.get(f"/persons/{person_at(db, 'TTG-HOCHIMINH').id}")
    client.get("/admin/users")
    auth.logout()
    auth.login("admin")
    client.post("/admin/users/new", data={
        "username": "clerk.new", "full_name": "Cán bộ mới", "roles": ["clerk"],
        "organisation_id": org(db, "TTG-HANOI").id, "clearance": "none",
        "password": "a-long-passphrase"})
    auth.logout()
    auth.login("inspector")
    client.get("/audit/?actor=clerk.hanoi")
    got = actions_since(db, start)
    expected = [
        ("auth.login", "failure", "clerk.hanoi"),
        ("auth.login", "failure", "nobody-here"),
        ("auth.login", "success", "clerk.hanoi"),  # the password
        ("auth.mfa", "success", "clerk.hanoi"),  # the authenticator's code
        ("record.search", "success", "clerk.hanoi"),
        ("record.view", "success", "clerk.hanoi"),
        ("record.view", "success", "clerk.hanoi"),  # the form page shows the record too
        ("record.create", "success", "clerk.hanoi"),
        ("record.view", "success", "clerk.hanoi"),
        ("record.correct", "success", "clerk.hanoi"),
        ("access.refused", "denied", "clerk.hanoi"),
        ("access.refused", "denied", "clerk.hanoi"),
        ("auth.logout", "success", "clerk.hanoi"),
        ("auth.login", "success", "admin"),
        ("auth.mfa", "success", "admin"),
        ("admin.user_create", "success", "admin"),
        ("auth.logout", "success", "admin"),
        ("auth.login", "success", "inspector"),
        ("auth.mfa", "success", "inspector"),
        ("audit.view", "success", "inspector"),
    ]
    assert got == expected


def test_entries_carry_time_actor_organisation_object_ip_and_link(client, auth, db):
    person = person_at(db, "TTG-HANOI")
    client.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    auth.login("clerk.hanoi")
    auth.purpose(person.id)
    client.get(f"/persons/{person.id}")
    entry = last_audit(db, "record.view")
    previous = db.get(AuditEntry, entry.seq - 1)
    assert entry.person_id == person.id and entry.object_type == "person"
    assert entry.organisation_id == org(db, "TTG-HANOI").id
    assert entry.ip == "10.1.2.3" and entry.occurred_at.tzinfo is not None
    assert entry.prev_hash == previous.hash and entry.hash == entry_hash(entry)


def test_an_entrys_hash_covers_the_same_bytes_as_ever():
    # Chains already written must verify: sorted keys, text unescaped, no spaces, microseconds.
    entry = AuditEntry(
        seq=42, occurred_at=dt.datetime(2026, 12, 1, 8, 5, 3, 120, tzinfo=dt.UTC), actor_id=7,
        actor_name="clerk.hanoi", organisation_id=None, action="record.view",
        object_type="person", object_id="4711", person_id=4711, outcome="success",
        purpose='Đối chiếu theo công văn 12/CV "trích"', ip=None, details='{"q": "Nguyễn"}',
        prev_hash="ab" * 32)
    canonical = (
        '{"action":"record.view","actor_id":7,"actor_name":"clerk.hanoi",'
        '"details":"{\\"q\\": \\"Nguyễn\\"}","ip":null,"object_id":"4711","object_type":"person",'
        '"occurred_at":"2026-12-01T08:05:03.000120+00:00","organisation_id":null,'
        '"outcome":"success","person_id":4711,'
        '"purpose":"Đối chiếu theo công văn 12/CV \\"trích\\"","seq":42}')
    values = [getattr(entry, name) for name in audit.HASHED]
    assert audit.hashed_bytes(entry.prev_hash, values) == f"{'ab' * 32}\n{canonical}".encode()
    assert entry_hash(entry) == "099a5c9eaedb558ff8480120272ae26b3ae91edc83350096e492a199daa1ad57"


@pytest.mark.parametrize("text_value", [
    'quote " backslash \\ slash /', "tab\tnew line\ncarriage\rbell\x07nul\x00 del\x7f",
    "Nguyễn Văn An — “trích” \u2028\u2029 😀", "", "{\"q\": [1, 2]}"])
def test_an_entrys_bytes_are_the_canonical_json_whatever_its_text(text_value):
    # The bytes of every entry already chained were json.dumps of its fields: any text must
    # give the same bytes, or old chains stop verifying.
    values = {"seq": 10**12, "occurred_at": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
              "actor_id": None, "actor_name": text_value, "organisation_id": -3,
              "action": "record.view", "object_type": None, "object_id": text_value,
              "person_id": 0, "outcome": "success", "purpose": text_value, "ip": "10.0.0.1",
              "details": text_value}
    payload = {**values, "occurred_at": "2026-01-02T03:04:05.000000+00:00"}
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    got = audit.hashed_bytes("cd" * 32, [values[name] for name in audit.HASHED])
    assert got == f"{'cd' * 32}\n{canonical}".encode()


@pytest.mark.parametrize("statement", ["UPDATE audit_entry SET action = 'x' WHERE seq = 1",
                                       "DELETE FROM audit_entry WHERE seq = 1",
                                       "UPDATE record_version SET reason = 'x' WHERE id = 1",
                                       "DELETE FROM record_version WHERE id = 1",
                                       "DELETE FROM case_stage WHERE id = 1"])
def test_the_database_refuses_to_change_append_only_rows(db, statement):
    with pytest.raises(DatabaseError, match="append-only"):
        db.execute(text(statement))


def tamper(db, *statements: str) -> None:
    """Play an attacker with direct database access: drop the guard, then change rows."""
    for stmt in drop_statements(db.get_bind().dialect.name, "audit_entry"):
        db.execute(text(stmt))
    for stmt in statements:
        db.execute(text(stmt))


def rehash_from(db, start: int) -> None:
    """Recompute the chain from `start` and the head, as an attacker covering their tracks."""
    db.expire_all()
    prev = db.get(AuditEntry, start - 1).hash if start > 1 else GENESIS
    last = None
    for entry in db.scalars(select(AuditEntry).where(AuditEntry.seq >= start)
                            .order_by(AuditEntry.seq)):
        entry.prev_hash = prev
        entry.hash = prev = entry_hash(entry)
        last = entry
    db.flush()
    last = last or db.get(AuditEntry, start - 1)
    db.execute(text("UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1"),
               {"s": last.seq, "h": last.hash})
    db.expire_all()


def as_superuser(db, *statements: str, rehash: int | None = None) -> None:
    """Play a database superuser who lacks the audit key: the append-only triggers off (on
    PostgreSQL the way a superuser does it, without dropping them), rows changed, the chain and
    its head recomputed from `rehash`."""
    postgres = db.get_bind().dialect.name == "postgresql"
    if postgres:
        db.execute(text("SET session_replication_role = replica"))
    else:
        tamper(db)
    for stmt in statements:
        db.execute(text(stmt))
    if rehash is not None:
        rehash_from(db, rehash)
    if postgres:
        db.execute(text("SET session_replication_role = DEFAULT"))


def verify(runner):
    return runner.invoke(args=["audit", "verify"])


def chain_holds(app) -> bool:
    """Whether the hash chain and its head alone verify (what was checked before seals)."""
    with app.extensions["custody_sessions"]() as session:
        return audit.verify(session).ok


def search(client, q: str, db) -> AuditEntry:
    """A search through the web (one request, one commit); its audit entry."""
    client.post("/search", data={"q": q}, follow_redirects=True)
    return last_audit(db, "record.search")


def test_verify_passes_on_an_untouched_chain(client, auth, runner, app, db):
    auth.login("clerk.hanoi")
    entry = search(client, "Tran", db)
    result = verify(runner)
    assert result.exit_code == 0, result.output
    assert "intact" in result.output and "every commit's seal checked" in result.output
    assert entry.seal_from == entry.seq and entry.seal  # the request's commit sealed it
    witness = (Path(app.instance_path) / "audit-witness.log").read_text().splitlines()
    assert f"{entry.seq} {entry.seq} {entry.hash}" in witness


def test_a_superuser_rewrite_after_the_last_checkpoint_is_caught_by_its_seal(app, runner, client,
                                                                          auth, db):
    assert runner.invoke(args=["audit", "checkpoint", "--force"]).exit_code == 0
    auth.login("clerk.hanoi")
    target = search(client, "Tran", db)
    search(client, "Nguyen", db)  # a later commit: the attacker rehashes it too
    assert verify(runner).exit_code == 0
    as_superuser(db, f"UPDATE audit_entry SET details = '{{\"q\": \"Le\"}}' "
                     f"WHERE seq = {target.seq}", rehash=target.seq)
    assert chain_holds(app)  # the chain and its head alone no longer tell
    result = verify(runner)
    assert result.exit_code == 1
    assert f"BROKEN at entry {target.seq}: rewritten after it was committed" in result.output


def test_the_inspectors_check_on_the_web_checks_the_seals_too(client, auth, db):
    auth.login("clerk.hanoi")
    target = search(client, "Tran", db)
    auth.logout()
    as_superuser(db, f"UPDATE audit_entry SET purpose = 'x' WHERE seq = {target.seq}",
                 rehash=target.seq)
    auth.login("inspector")
    client.post("/audit/verify")
    check = last_audit(db, "audit.verify")
    assert check.outcome == "failure" and f'"broken_seq": {target.seq}' in check.details


def test_removing_the_seals_and_letting_the_application_seal_on_top_is_caught(runner, client,
                                                                            auth, db):
    auth.login("clerk.hanoi")
    target = search(client, "Tran", db)
    search(client, "Nguyen", db)
    as_superuser(db, f"UPDATE audit_entry SET details = '{{}}' WHERE seq = {target.seq}",
                 f"UPDATE audit_entry SET seal = NULL, seal_from = NULL "
                 f"WHERE seq >= {target.seq}", rehash=target.seq)
    search(client, "Pham", db)  # the application seals the forged chain's new head
    result = verify(runner)
    assert result.exit_code == 1
    assert (f"BROKEN at entry {target.seq}: entries {target.seq} to {target.seq + 1} carry no "
            "seal") in result.output


def test_removing_every_seal_is_caught_by_the_witness_log(runner, client, auth, db):
    auth.login("clerk.hanoi")
    target = search(client, "Tran", db)
    first_sealed = db.scalar(select(AuditEntry.seq).where(AuditEntry.seal.is_not(None))
                             .order_by(AuditEntry.seq).limit(1))
    as_superuser(db, f"UPDATE audit_entry SET details = '{{}}' WHERE seq = {target.seq}",
                 "UPDATE audit_entry SET seal = NULL, seal_from = NULL", rehash=target.seq)
    search(client, "Pham", db)  # now the first seal: it looks as if sealing began here
    result = verify(runner)
    assert result.exit_code == 1
    # The earliest commit the witness log saw and the chain no longer holds as it was.
    assert f"BROKEN at entry {first_sealed}: it is not what the witness log saw committed" \
        in result.output


def test_cutting_off_the_end_is_caught_by_the_witness_log_also_once_the_chain_grows_again(
        app, runner, client, auth, db):
    auth.login("clerk.hanoi")
    kept = search(client, "Tran", db).seq
    search(client, "Nguyen", db)
    last = search(client, "Le", db).seq
    as_superuser(db, f"DELETE FROM audit_entry WHERE seq > {kept}", rehash=kept + 1)
    assert head_seq(db) == kept and chain_holds(app)
    result = verify(runner)
    assert result.exit_code == 1
    assert (f"BROKEN at entry {kept + 1}: the witness log saw entries up to {last} committed, "
            f"the chain ends at entry {kept}") in result.output
    search(client, "Pham", db)  # the application writes the removed numbers again
    result = verify(runner)
    assert result.exit_code == 1
    assert f"BROKEN at entry {kept + 1}: it is not what the witness log saw" in result.output


def test_an_unreadable_witness_line_is_named_after_the_chains_last_entry(app, runner, client,
                                                                         auth, db):
    auth.login("clerk.hanoi")
    search(client, "Tran", db)
    log = Path(app.instance_path) / "audit-witness.log"
    lines = log.read_text().count("\n")
    with log.open("a") as witness:
        witness.write("not a seal\n")
    search(client, "Nguyen", db)  # commits after the line still verify against the log
    result = verify(runner)
    assert result.exit_code == 1
    assert (f"BROKEN at entry {head_seq(db) + 1}: line {lines + 1} of the witness log is "
            "unreadable") in result.output


def test_verify_names_an_edited_entry(runner, db):
    tamper(db, "UPDATE audit_entry SET actor_name = 'someone-else' WHERE seq = 4")
    result = verify(runner)
    assert result.exit_code == 1
    assert "entry 4" in result.output and "content does not match" in result.output


def test_verify_names_a_deleted_entry(runner, db):
    tamper(db, "DELETE FROM audit_entry WHERE seq = 3")
    result = verify(runner)
    assert result.exit_code == 1 and "entry 3 is missing" in result.output


def test_verify_notices_entries_cut_off_the_end(runner, db):
    last = head_seq(db)
    tamper(db, f"DELETE FROM audit_entry WHERE seq = {last}")
    result = verify(runner)
    assert result.exit_code == 1 and f"entries {last} to {last} were cut off" in result.output


def _append_behind_the_application(db, last: AuditEntry) -> AuditEntry:
    """An entry chained after `last` by someone writing to the database directly."""
    forged = AuditEntry(seq=last.seq + 1, occurred_at=last.occurred_at, actor_id=None,
                        actor_name="ghost", organisation_id=None, action="record.view",
                        object_type="person", object_id="1", person_id=1, outcome="success",
                        purpose=None, ip=None, details="{}", prev_hash=last.hash)
    forged.hash = entry_hash(forged)
    db.add(forged)
    db.flush()
    return forged


def test_verify_names_an_inserted_entry(runner, db):
    last = db.execute(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).scalar_one()
    _append_behind_the_application(db, last)
    result = verify(runner)
    assert result.exit_code == 1
    assert f"entry {last.seq + 1} was added outside" in result.output


def test_an_entry_added_behind_the_application_with_the_head_moved_carries_no_seal(runner, client,
                                                                                 auth, db):
    auth.login("clerk.hanoi")
    last = last_audit(db)
    forged = _append_behind_the_application(db, last)
    db.execute(text("UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1"),
               {"s": forged.seq, "h": forged.hash})
    result = verify(runner)
    assert result.exit_code == 1
    assert f"BROKEN at entry {forged.seq}: entry {forged.seq} carries no seal" in result.output
    # Counted as a reader expects: the entries before the break verified, not the whole chain.
    assert f"({forged.seq - 1} entries before it verified)" in result.output


def test_verify_names_a_forged_entry_in_the_middle(runner, db):
    tamper(db, "DELETE FROM audit_entry WHERE seq = 2")
    first = db.get(AuditEntry, 1)
    db.execute(text(
        "INSERT INTO audit_entry (seq, occurred_at, actor_name, action, outcome, details, "
        "prev_hash, hash) VALUES (2, :at, 'ghost', 'record.view', 'success', '{}', :prev, :h)"),
        {"at": first.occurred_at.replace(tzinfo=None), "prev": first.hash, "h": "f" * 64})
    result = verify(runner)
    assert result.exit_code == 1 and "entry 2" in result.output


def _deferring(database_url, sealer=None):
    engine = make_engine(database_url)
    session = make_session_factory(engine, {audit.SEALER: sealer} if sealer else None)()
    session.info[audit.DEFER] = True
    return engine, session


def _sealer(tmp_path, loads: list[int]) -> audit.Sealer:
    def load():
        loads.append(1)
        return load_or_create_key(tmp_path / "audit.pem")
    return audit.Sealer(load, lambda: tmp_path / "witness.log")


def test_a_deferring_session_chains_its_entries_at_commit_and_drops_undone_ones(database_url, db,
                                                                             tmp_path):
    start = head_seq(db)
    loads: list[int] = []
    sealer = _sealer(tmp_path, loads)
    engine, session = _deferring(database_url, sealer)
    try:
        audit.record(session, SYSTEM, "test.kept")
        with pytest.raises(RuntimeError), session.begin_nested():
            audit.record(session, SYSTEM, "test.undone")
            raise RuntimeError("the savepoint's work is undone")
        audit.record(session, SYSTEM, "test.kept-too")
        assert head_seq(db) == start  # nothing is in the chain before the commit
        session.commit()
        assert [a for a, _, _ in actions_since(db, start)] == ["test.kept", "test.kept-too"]
        audit.record(session, SYSTEM, "test.rolled-back")
        session.rollback()
        session.commit()
        assert head_seq(db) == start + 2
        # One seal for the commit, one witness line; nothing of what was rolled back.
        last = db.get(AuditEntry, start + 2)
        assert (last.seal_from, db.get(AuditEntry, start + 1).seal) == (start + 1, None)
        assert (tmp_path / "witness.log").read_text() == f"{start + 1} {start + 2} {last.hash}\n"
        assert audit.verify(session, sealer.key.public_key(), sealer.witness_path).ok
        assert loads == [1]  # the key is read once, not per commit
    finally:
        session.close()
        engine.dispose()


def test_a_request_holds_the_chain_head_only_while_it_commits(database_url, db):
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks: PostgreSQL")
    engine, slow = _deferring(database_url)
    quick = make_session_factory(engine)()
    quick.info[audit.DEFER] = True
    try:
        audit.record(slow, SYSTEM, "test.slow-read")  # a request still rendering its page
        quick.execute(text("SET LOCAL lock_timeout = '2s'"))
        audit.record(quick, SYSTEM, "test.quick-read")
        quick.commit()  # does not wait for the slow request
        slow.commit()
        assert [a for a, _, _ in actions_since(db, head_seq(db) - 2)] == [
            "test.quick-read", "test.slow-read"]
        assert audit.verify(slow).ok
    finally:
        slow.close()
        quick.close()
        engine.dispose()


def test_a_released_savepoint_neither_chains_nor_witnesses_before_the_commit(app, db):
    """A request's acts run in savepoints (a refusal undoes only its own): the entries they kept
    aside are chained at the request's commit, not when a savepoint is released — else the head
    is locked for the rest of the request, and a witness line is written for entries a failed
    commit then takes back (read later as a chain cut off)."""
    witness = Path(app.instance_path) / "audit-witness.log"
    seen = witness.read_text() if witness.exists() else ""
    with app.extensions["custody_sessions"]() as session:
        session.info[audit.DEFER] = True
        with session.begin_nested():
            audit.record(session, SYSTEM, "record.search", details={"q": "x"})
        assert session.scalar(select(AuditHead.seq)) is not None
        assert audit._PENDING in session.info  # still kept aside: nothing chained yet
        assert (witness.read_text() if witness.exists() else "") == seen
        session.rollback()  # the request fails after its act
    assert (witness.read_text() if witness.exists() else "") == seen
    with app.extensions["custody_sessions"]() as session:
        session.info[audit.DEFER] = True
        with session.begin_nested():
            entry = audit.record(session, SYSTEM, "record.search", details={"q": "y"})
        session.commit()
    assert f"{entry.seq} {entry.seq} {entry.hash}\n" in witness.read_text()
