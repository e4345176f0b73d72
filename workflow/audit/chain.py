"""Append to and verify the audit trail, a SHA-256 hash chain (Decree Art. 4), sealed at every
commit: the last entry a commit adds carries the audit key's Ed25519 signature over the entries it
added and the chain's new hash, and the same statement is appended to a witness log outside the
database. The key is not in the database, so whoever holds only the database can neither rewrite
a committed entry (its seal no longer verifies, and the seals after it cannot be made again) nor
remove seals (the next seal starts where the removed one ended), and cannot shorten the chain
without the witness log noticing."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Row, event, select
from sqlalchemy.orm import Session, SessionTransaction

from workflow.context import Actor
from workflow.db import utcnow
from workflow.models import AuditEntry, AuditHead

GENESIS = "0" * 64
HEAD_ID = 1
# A session with info[DEFER] set keeps its entries aside and chains them when it commits, so the
# head's lock is held for the commit only, not for the rest of the request (web requests do).
DEFER = "audit_defer"
# A session with info[SEALER] (given to its session factory) seals what it chains.
SEALER = "audit_sealer"
SEAL_FORMAT = "custody-audit-seal/1"
_PENDING = "audit_pending"
_WITNESSED = "audit_witnessed"
_MARKS = "audit_savepoints"
# What a rolled-back savepoint takes back: entries kept aside, and witness lines of entries chained.
_UNDONE = (_PENDING, _WITNESSED)
log = logging.getLogger(__name__)


def seal_payload(first: int, last: int, head_hash: str) -> bytes:
    """What a seal signs: the entries a commit added (first to last) and the chain's hash after."""
    return f"{SEAL_FORMAT}:{first}:{last}:{head_hash}".encode()


class Sealer:
    """Seals each commit's entries with the audit key and appends them to the witness log. The
    key and the log's path are looked up on first use and kept for the life of the process."""

    def __init__(self, load_key: Callable[[], Ed25519PrivateKey],
                 witness_path: Callable[[], Path]) -> None:
        self._load_key, self._witness_path = load_key, witness_path

    @cached_property
    def key(self) -> Ed25519PrivateKey:
        """The audit signing key."""
        return self._load_key()

    @cached_property
    def witness_path(self) -> Path:
        """The witness log: one line per commit, appended to and never rewritten."""
        return Path(self._witness_path())

    def seal(self, first: int, last: int, head_hash: str) -> str:
        """The signature of a commit's entries, in hex."""
        return self.key.sign(seal_payload(first, last, head_hash)).hex()

    def witness(self, lines: list[str]) -> None:
        """Append committed seals to the witness log in one write: O_APPEND keeps the lines of
        concurrent workers whole."""
        fd = os.open(self.witness_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, "".join(lines).encode())
        finally:
            os.close(fd)


class Outcome:
    """Outcome values of an entry."""

    SUCCESS = "success"
    FAILURE = "failure"
    DENIED = "denied"


# The fields an entry's hash covers, in the order `hashed_bytes` takes their values: sorted, the
# order of the keys in the canonical JSON.
HASHED = tuple(sorted(("seq", "occurred_at", "actor_id", "actor_name", "organisation_id",
                       "action", "object_type", "object_id", "person_id", "outcome", "purpose",
                       "ip", "details")))
# json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")), which builds an
# encoder at every call, made once; the payload is built with its keys in sorted order already.
_CANONICAL_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def hashed_bytes(prev_hash: str, values: Sequence[object]) -> bytes:
    """What an entry's hash is taken over: the previous hash, a newline and the canonical JSON
    of the entry's HASHED fields (their values given in that order)."""
    payload = dict(zip(HASHED, values, strict=True))
    payload["occurred_at"] = payload["occurred_at"].isoformat(timespec="microseconds")
    return (prev_hash + "\n" + _CANONICAL_JSON.encode(payload)).encode()


def entry_hash(entry: AuditEntry) -> str:
    """The hash of an entry: SHA-256 over the previous hash and the entry's canonical content."""
    values = [getattr(entry, name) for name in HASHED]
    return hashlib.sha256(hashed_bytes(entry.prev_hash, values)).hexdigest()


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
    if actor.device_id is not None:
        details = {**(details or {}), "kiosk_device": actor.device_id,
                   "kiosk_person": user.person_id if user else None}
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
    first = head.seq + 1
    for entry in entries:
        # Time of chaining: the trail's order by sequence is also its order in time.
        entry.seq, entry.occurred_at, entry.prev_hash = head.seq + 1, utcnow(), head.hash
        entry.hash = entry_hash(entry)
        head.seq, head.hash = entry.seq, entry.hash
        session.add(entry)
    sealer: Sealer | None = session.info.get(SEALER)
    if sealer is not None:
        last = entries[-1]
        last.seal_from, last.seal = first, sealer.seal(first, last.seq, last.hash)
        session.info.setdefault(_WITNESSED, []).append(f"{first} {last.seq} {last.hash}\n")
    session.flush()


@event.listens_for(Session, "before_commit")
def _settle_before_commit(session: Session) -> None:
    settle(session)
    session.info.pop(_MARKS, None)


@event.listens_for(Session, "after_commit")
def _witness_after_commit(session: Session) -> None:
    # Only once committed: a line for a commit that failed would later read as a cut-off chain.
    lines = session.info.pop(_WITNESSED, None)
    if lines:
        try:
            session.info[SEALER].witness(lines)
        except OSError:
            log.exception("the audit witness log could not be written; the entries are committed")


@event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        session.info.setdefault(_MARKS, {})[id(transaction)] = tuple(
            len(session.info.get(key, ())) for key in _UNDONE)


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    # Entries (and seals) of undone work go with it: all of them, or those since the savepoint.
    marks = session.info.get(_MARKS, {}).pop(id(previous_transaction), None)
    if not previous_transaction.nested:
        for key in (*_UNDONE, _MARKS):
            session.info.pop(key, None)
    elif marks is not None:
        for key, mark in zip(_UNDONE, marks, strict=True):
            if key in session.info:
                del session.info[key][mark:]


# What verify reads of each entry: the hashed fields first, in the order of HASHED.
_VERIFIED = (*(getattr(AuditEntry, name) for name in HASHED), AuditEntry.prev_hash,
             AuditEntry.hash, AuditEntry.seal_from, AuditEntry.seal)


@dataclass(frozen=True)
class Verification:
    """Result of checking the chain: how many entries were good and the first broken one."""

    checked: int
    broken_seq: int | None = None
    problem: str | None = None
    # With seals checked: the first entry the first seal covers (those before predate sealing).
    sealed_from: int | None = None

    @property
    def ok(self) -> bool:
        """Whether the whole chain verified."""
        return self.broken_seq is None


def verify(session: Session, public_key: Ed25519PublicKey | None = None,
           witness: Path | None = None, batch: int = 10_000) -> Verification:
    """Recompute the chain from the first entry; name the first entry that was edited, removed or
    inserted, and notice entries cut off the end (the head row remembers the last one). Given the
    audit key's public key, also check every seal and that the chain ends sealed; given the
    witness log, that the chain holds every commit it saw."""
    # Read before the chain: every line in it is then of a commit the chain must hold.
    seen, unreadable = _parse_witness(_read_witness(witness) if public_key is not None else [])
    # What the chain holds at the commits the witness saw, kept as the chain is read.
    watched = {seq for _, seq, _ in seen}
    held: dict[int, tuple[int | None, str]] = {}
    prev_hash, expected, checked = GENESIS, 1, 0
    sealed_from = sealed_to = None
    # Plain rows read on the connection, not through the ORM: building an object, or even an ORM
    # row, costs more than hashing the entry. The flush is the one the session would autoflush.
    if session.autoflush:
        session.flush()
    rows = session.connection().execute(
        select(*_VERIFIED).order_by(AuditEntry.seq).execution_options(yield_per=batch))
    fields = len(HASHED)
    for entry in rows:
        if entry.seq != expected:
            return Verification(checked, expected, f"entry {expected} is missing")
        if entry.prev_hash != prev_hash:
            return Verification(checked, entry.seq, "does not link to the entry before it")
        if hashlib.sha256(hashed_bytes(prev_hash, entry[:fields])).hexdigest() != entry.hash:
            return Verification(checked, entry.seq, "content does not match its hash")
        if public_key is not None and entry.seal is not None and entry.seal_from is not None:
            broken = _seal_problem(public_key, entry, sealed_to)
            if broken:
                return Verification(checked, *broken)
            sealed_from, sealed_to = sealed_from or entry.seal_from, entry.seq
        if entry.seq in watched:
            held[entry.seq] = (entry.seal_from, entry.hash)
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
    if public_key is None:
        return Verification(checked)
    if last and sealed_to != last:
        start = (sealed_to or 0) + 1
        # The hashes of start..last verified, but they are not sealed: count what came before.
        return Verification(checked - (last - start + 1), start, _unsealed(start, last))
    broken = _witness_problem(seen, unreadable, held, last)
    return Verification(checked, *broken) if broken else Verification(checked,
                                                                      sealed_from=sealed_from)


def _seal_problem(public_key: Ed25519PublicKey, entry: Row,
                  sealed_to: int | None) -> tuple[int, str] | None:
    first = entry.seal_from
    assert first is not None and entry.seal is not None
    if sealed_to is not None and first > sealed_to + 1:
        return sealed_to + 1, _unsealed(sealed_to + 1, first - 1)
    if sealed_to is not None and first <= sealed_to:
        return first, f"the seal of entry {entry.seq} covers entries sealed before it"
    try:
        public_key.verify(bytes.fromhex(entry.seal), seal_payload(first, entry.seq, entry.hash))
    except (InvalidSignature, ValueError):
        # The seals up to sealed_to held, so the change lies after it (before the first seal,
        # anywhere from entry 1: the seal's hash covers the whole chain).
        start = (sealed_to or 0) + 1
        if start == entry.seq:
            return start, "rewritten after it was committed (its seal does not match)"
        return start, (f"one of entries {start} to {entry.seq} was rewritten after it was "
                       f"committed (the seal of entry {entry.seq} does not match)")
    return None


def _unsealed(first: int, last: int) -> str:
    which = f"entry {first} carries" if first == last else f"entries {first} to {last} carry"
    return f"{which} no seal: written outside the application, or the seals removed"


def _read_witness(path: Path | None) -> list[bytes]:
    if path is None or not path.exists():
        return []
    with path.open("rb") as log_file:
        data = log_file.read()
    return data[:data.rfind(b"\n") + 1].splitlines()  # a line being written is left for later


def _parse_witness(lines: list[bytes]) -> tuple[list[tuple[int, int, str]], list[int]]:
    """The commits a witness log saw (first entry, last entry, hash), and its unreadable lines."""
    seen: list[tuple[int, int, str]] = []
    unreadable: list[int] = []
    for number, line in enumerate(lines, 1):
        try:
            first, seq, head_hash = line.decode().split()
            seen.append((int(first), int(seq), head_hash))
        except ValueError:
            unreadable.append(number)
    return seen, unreadable


def _witness_problem(seen: list[tuple[int, int, str]], unreadable: list[int],
                     held: dict[int, tuple[int | None, str]], last: int) -> tuple[int, str] | None:
    """The earliest commit the witness log saw that the chain no longer holds as it was; `held`
    is the chain's (seal_from, hash) at each entry the log names, up to its last entry."""
    problems = [(last + 1, f"line {number} of the witness log is unreadable")
                for number in unreadable]
    furthest = 0
    for first, seq, head_hash in seen:
        furthest = max(furthest, seq)
        if seq <= last and held.get(seq) != (first, head_hash):
            which = "it is" if first == seq else f"entries {first} to {seq} are"
            problems.append((first, f"{which} not what the witness log saw committed "
                                    "(rewritten, or removed and written again)"))
    if furthest > last:
        problems.append((last + 1, f"the witness log saw entries up to {furthest} committed, "
                                   f"the chain ends at entry {last}: entries were removed"))
    return min(problems, default=None)
