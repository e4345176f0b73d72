"""Append to and verify the audit trail, a SHA-256 hash chain (Decree Art. 4)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import event, select
from sqlalchemy.orm import Session, SessionTransaction

from workflow.context import Actor
from workflow.db import utcnow
from workflow.models import AuditEntry, AuditHead

GENESIS = "0" * 64
HEAD_ID = 1
# A session with info[DEFER] set keeps its entries aside and chains them when it commits, so the
# head's lock is held for the commit only, not for the rest of the request (web requests do).
DEFER = "audit_defer"
_PENDING = "audit_pending"
_MARKS = "audit_savepoints"


class Outcome:
    """Outcome values of an entry."""

    SUCCESS = "success"
    FAILURE = "failure"
    DENIED = "denied"


def _canonical(entry: AuditEntry) -> str:
    payload = {
        "seq": entry.seq,
        "occurred_at": entry.occurred_at.isoformat(timespec="microseconds"),
        "actor_id": entry.actor_id,
        "actor_name": entry.actor_name,
        "organisation_id": entry.organisation_id,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "person_id": entry.person_id,
        "outcome": entry.outcome,
        "purpose": entry.purpose,
        "ip": entry.ip,
        "details": entry.details,
    }
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def entry_hash(entry: AuditEntry) -> str:
    """The hash of an entry: SHA-256 over the previous hash and the entry's canonical content."""
    data = (entry.prev_hash + "\n" + _canonical(entry)).encode()
    return hashlib.sha256(data).hexdigest()


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    outcome: str = Outcome.SUCCESS,
    object_type: str | None = None,
    object_id: object = None,
    person_id: int | None = None,
    purpose: str | None = None,
    details: Mapping[str, object] | None = None,
    actor_name: str | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction; the locked head keeps the chain unforked."""
    user = actor.user
    entry = AuditEntry(
        actor_id=user.id if user else None,
        actor_name=user.username if user else actor_name,
        organisation_id=user.organisation_id if user else None,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        person_id=person_id,
        outcome=outcome,
        purpose=purpose,
        ip=actor.ip,
        details=json.dumps(dict(details or {}), sort_keys=True, ensure_ascii=False, default=str),
    )
    if session.info.get(DEFER):
        if not session.in_transaction():
            session.begin()  # so that a rollback, even of nothing else, drops the entry
        session.info.setdefault(_PENDING, []).append(entry)
    else:
        _chain(session, [entry])
    return entry


def settle(session: Session) -> None:
    """Chain the entries a deferring session kept aside (done by itself at commit)."""
    pending = session.info.pop(_PENDING, None)
    if pending:
        _chain(session, pending)


def _chain(session: Session, entries: list[AuditEntry]) -> None:
    head = session.execute(
        select(AuditHead).where(AuditHead.id == HEAD_ID).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    for entry in entries:
        # Time of chaining: the trail's order by sequence is also its order in time.
        entry.seq, entry.occurred_at, entry.prev_hash = head.seq + 1, utcnow(), head.hash
        entry.hash = entry_hash(entry)
        head.seq, head.hash = entry.seq, entry.hash
        session.add(entry)
    session.flush()


@event.listens_for(Session, "before_commit")
def _settle_before_commit(session: Session) -> None:
    settle(session)
    session.info.pop(_MARKS, None)


@event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        session.info.setdefault(_MARKS, {})[id(transaction)] = len(session.info.get(_PENDING, ()))


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    # Entries of undone work go with it: all of them, or those written since the savepoint.
    mark = session.info.get(_MARKS, {}).pop(id(previous_transaction), None)
    if not previous_transaction.nested:
        session.info.pop(_PENDING, None)
        session.info.pop(_MARKS, None)
    elif mark is not None and _PENDING in session.info:
        del session.info[_PENDING][mark:]


@dataclass(frozen=True)
class Verification:
    """Result of checking the chain: how many entries were good and the first broken one."""

    checked: int
    broken_seq: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the whole chain verified."""
        return self.broken_seq is None


def verify(session: Session, batch: int = 10_000) -> Verification:
    """Recompute the chain from the first entry; name the first entry that was edited, removed or
    inserted, and notice entries cut off the end (the head row remembers the last one)."""
    prev_hash, expected, checked = GENESIS, 1, 0
    rows = session.execute(
        select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=batch)
    ).scalars()
    for entry in rows:
        if entry.seq != expected:
            return Verification(checked, expected, f"entry {expected} is missing")
        if entry.prev_hash != prev_hash:
            return Verification(checked, entry.seq, "does not link to the entry before it")
        if entry_hash(entry) != entry.hash:
            return Verification(checked, entry.seq, "content does not match its hash")
        prev_hash, expected, checked = entry.hash, expected + 1, checked + 1
    last = expected - 1
    head = session.get(AuditHead, HEAD_ID)
    if head is None:
        return Verification(checked, 1, "the chain head is missing")
    if head.seq > last:
        return Verification(checked, last + 1,
                            f"entries {last + 1} to {head.seq} were cut off the end")
    if head.seq < last:
        return Verification(checked, head.seq + 1,
                            f"entry {head.seq + 1} was added outside the application")
    if head.hash != prev_hash:
        return Verification(checked, last, "the chain head does not match the last entry")
    return Verification(checked)
