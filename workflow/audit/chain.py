"""Append to and verify the audit trail, a SHA-256 hash chain (Decree Art. 4), sealed at every
commit: the last entry a commit adds carries the audit key's Ed25519 signature over the entries it
added and the chain's new hash, and the same statement is appended to a witness log outside the
database. The key is not in the database, so whoever holds only the database can neither rewrite
a committed entry (its seal no longer verifies, and the seals after it cannot be made again) nor
remove seals (the next seal starts where the removed one ended), and cannot shorten the chain
without the witness log noticing. A checkpoint then seals the batch of commits since the one
before with one signature (`BatchSeal`), which verify checks in place of theirs."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import ColumnElement, String, event, func, select
from sqlalchemy.orm import Session, SessionTransaction

from workflow.context import Actor
from workflow.db import utcnow
from workflow.models import AuditCheckpoint, AuditEntry, AuditHead

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
_SEQ = HASHED.index("seq")
# json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")) of the HASHED
# fields, written as a template filled in value by value: twice as fast as building a dict for
# the encoder, and verify spends most of its time here. A value of a type not listed (none of
# the columns has one) goes through the encoder itself, which writes it alike.
_CANONICAL = "{}\n{{" + ",".join(f'"{name}":{{}}' for name in HASHED) + "}}"
_encode_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_JSON_VALUE: dict[type, Callable[[Any], str]] = {
    str: encode_basestring, int: int.__repr__, type(None): lambda _: "null",
    dt.datetime: lambda value: f'"{value.isoformat(timespec="microseconds")}"'}


def hashed_bytes(prev_hash: str, values: Sequence[object]) -> bytes:
    """What an entry's hash is taken over: the previous hash, a newline and the canonical JSON
    of the entry's HASHED fields (their values given in that order)."""
    get, other = _JSON_VALUE.get, _encode_json
    return _CANONICAL.format(prev_hash, *[get(type(value), other)(value)
                                          for value in values]).encode()


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
    # Both events fire for a savepoint released too: that is no commit. Chained then, a
    # request's entries would lock the head for the rest of the request.
    if session.in_nested_transaction():
        return
    settle(session)
    session.info.pop(_MARKS, None)


@event.listens_for(Session, "after_commit")
def _witness_after_commit(session: Session) -> None:
    # Only once committed: a line for a commit that failed would later read as a cut-off chain.
    if session.in_nested_transaction():
        return
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


# What verify reads of each entry: its links and seal, then the hashed fields in HASHED's order.
_VERIFIED = (AuditEntry.prev_hash, AuditEntry.hash, AuditEntry.seal_from, AuditEntry.seal,
             *(getattr(AuditEntry, name) for name in HASHED))
_OCCURRED_AT = 4 + HASHED.index("occurred_at")
BATCH_FORMAT = "custody-audit-batch/1"


class ChainBroken(Exception):
    """The chain does not verify: nothing may be signed on top of it."""

    def __init__(self, seq: int, problem: str) -> None:
        super().__init__(f"the audit chain is broken at entry {seq}: {problem}")
        self.seq, self.problem = seq, problem


@dataclass(frozen=True)
class BatchSeal:
    """A checkpoint's seal over a batch of entries, first to last: the chain's hash after it and
    the SHA-256 of the commits' seals inside it, signed once (as a Certificate Transparency log
    signs a tree head). Verify checks it in place of each commit's seal in the batch."""

    first: int
    last: int
    head_hash: str
    seals_digest: str
    created_at: dt.datetime
    signature: str

    def payload(self) -> bytes:
        """What the audit key signs."""
        return batch_payload(self.first, self.last, self.head_hash, self.seals_digest,
                             self.created_at)

    def signed_by(self, public_key: Ed25519PublicKey) -> bool:
        """Whether the audit key made this seal."""
        try:
            public_key.verify(bytes.fromhex(self.signature), self.payload())
        except (InvalidSignature, ValueError):
            return False
        return True


def batch_payload(first: int, last: int, head_hash: str, seals_digest: str,
                  created_at: dt.datetime) -> bytes:
    """What a batch seal signs."""
    return (f"{BATCH_FORMAT}:{first}:{last}:{head_hash}:{seals_digest}:"
            f"{created_at.isoformat()}").encode()


def batch_seals(session: Session) -> list[BatchSeal]:
    """The checkpoints that seal a batch, in the chain's order."""
    rows = session.execute(select(
        AuditCheckpoint.first_seq, AuditCheckpoint.seq, AuditCheckpoint.head_hash,
        AuditCheckpoint.seals_digest, AuditCheckpoint.created_at, AuditCheckpoint.signature)
        .where(AuditCheckpoint.seals_digest.is_not(None)).order_by(AuditCheckpoint.seq))
    return [BatchSeal(*row) for row in rows]


def entries(session: Session, first: int, last: int | None = None,
            batch: int = 10_000) -> Iterator[Sequence[Any]]:
    """Entries first to last (or the end) as plain rows of _VERIFIED, fetched `batch` at a time
    (a server-side cursor on PostgreSQL): building an object, or even fetching one row at a
    time, costs more than hashing the entry. The flush is the one the session would
    autoflush."""
    if session.autoflush:
        session.flush()
    columns = list(_VERIFIED)
    columns[_OCCURRED_AT] = _occurred_at_text(session.get_bind().dialect.name)
    query = select(*columns).where(AuditEntry.seq >= first).order_by(AuditEntry.seq)
    if last is not None:
        query = query.where(AuditEntry.seq <= last)
    result = session.connection().execute(query.execution_options(yield_per=batch))
    with result:
        for rows in result.partitions():
            yield from rows


def _occurred_at_text(dialect: str) -> ColumnElement[Any]:
    """occurred_at as the entry's hash covers it (ISO 8601 in UTC to the microsecond), written by
    the database (PostgreSQL or SQLite): parsing and formatting a timestamp a row costs as much
    as hashing the entry."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", AuditEntry.occurred_at),
                            'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"', type_=String)
    # SQLite keeps it as naive UTC text, always with its microseconds.
    return func.replace(AuditEntry.occurred_at, " ", "T", type_=String).concat("+00:00")


class ChainWalk:
    """Checks entries in order from `start` (after an entry of hash `prev_hash`, its seals
    ending at `sealed_to`): each links to the one before and matches its hash; given the audit
    key, each commit's seal holds, or the batch seal over it does (`batches`, contiguous from
    `start`), and the seals follow one another without a gap. Stops at the first problem."""

    def __init__(self, public_key: Ed25519PublicKey | None = None,
                 batches: Sequence[BatchSeal] = (), start: int = 1, prev_hash: str = GENESIS,
                 sealed_to: int | None = None, watched: Iterable[int] = ()) -> None:
        self.public_key, self.batches = public_key, list(batches)
        self.expected, self.prev_hash, self.checked = start, prev_hash, 0
        self.sealed_from: int | None = None
        self.sealed_to = sealed_to
        # The seals of the commits since the last batch seal: what the next one signs.
        self.seals = hashlib.sha256()
        self.watched = frozenset(watched)
        # The chain's (seal_from, hash) at each watched entry, for the witness log.
        self.held: dict[int, tuple[int | None, str]] = {}
        self.broken: tuple[int, str] | None = None
        if self.batches and self.batches[0].first != start:
            self.broken = (start, self._skipped(self.batches[0].first, start))

    @classmethod
    def after(cls, anchor: BatchSeal | None, public_key: Ed25519PublicKey) -> ChainWalk:
        """A walk of the entries after a batch seal (from the first, if none)."""
        if anchor is None:
            return cls(public_key)
        return cls(public_key, start=anchor.last + 1, prev_hash=anchor.head_hash,
                   sealed_to=anchor.last)

    @property
    def last(self) -> int:
        """The last entry checked good."""
        return self.expected - 1

    def feed(self, rows: Iterable[Sequence[Any]]) -> bool:
        """Check `rows` (of _VERIFIED, in order of sequence); False at the first problem."""
        if self.broken:
            return False
        key, held, watched, sha256 = self.public_key, self.held, self.watched, hashlib.sha256
        batch = self.batches[0] if self.batches else None
        expected, prev_hash, checked = self.expected, self.prev_hash, self.checked
        for prev, digest, seal_from, seal, *values in rows:
            seq = values[_SEQ]
            if seq != expected:
                self.broken = (expected, f"entry {expected} is missing")
            elif prev != prev_hash:
                self.broken = (seq, "does not link to the entry before it")
            elif sha256(hashed_bytes(prev_hash, values)).hexdigest() != digest:
                self.broken = (seq, "content does not match its hash")
            elif key is not None and seal is not None and seal_from is not None:
                self.seals.update(f"{seq} {seal_from} {seal}\n".encode())
                if batch is None:
                    self.broken = _seal_problem(key, seq, seal_from, seal, digest,
                                                self.sealed_to)
                    self.sealed_from = self.sealed_from or seal_from
                    self.sealed_to = seq
            if batch is not None and not self.broken and seq >= batch.last:
                self.broken = self._close(batch, digest)
                batch = self.batches[0] if self.batches else None
            if self.broken:
                break
            if seq in watched:
                held[seq] = (seal_from, digest)
            prev_hash, expected, checked = digest, expected + 1, checked + 1
        self.expected, self.prev_hash, self.checked = expected, prev_hash, checked
        return self.broken is None

    def _close(self, batch: BatchSeal, head_hash: str) -> tuple[int, str] | None:
        """Check the batch seal ending at the entry just read, then start the next batch."""
        assert self.public_key is not None
        which = f"the batch seal of entries {batch.first} to {batch.last}"
        if not batch.signed_by(self.public_key):
            return batch.first, f"{which} is forged (its signature does not match)"
        if (head_hash, self.seals.hexdigest()) != (batch.head_hash, batch.seals_digest):
            return batch.first, (f"one of entries {batch.first} to {batch.last} was rewritten "
                                 f"after it was sealed ({which} does not match)")
        self.sealed_from = self.sealed_from or batch.first
        self.sealed_to, self.seals = batch.last, hashlib.sha256()
        self.batches.pop(0)
        if self.batches and self.batches[0].first != batch.last + 1:
            return batch.last + 1, self._skipped(self.batches[0].first, batch.last + 1)
        return None

    @staticmethod
    def _skipped(first: int, expected: int) -> str:
        return (f"the next batch seal starts at entry {first}, not {expected}: a checkpoint was "
                f"removed or forged")

    def unsealed_end(self) -> tuple[int, str] | None:
        """Once sealing began, the entries read last must be sealed too."""
        if self.sealed_to is not None and self.sealed_to < self.last:
            return self.sealed_to + 1, _unsealed(self.sealed_to + 1, self.last)
        return None


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
    audit key's public key, also check every batch seal, every commit's seal after the last
    batch, and that the chain ends sealed; given the witness log, that the chain holds every
    commit it saw."""
    # Read before the chain: every line in it is then of a commit the chain must hold.
    seen, unreadable = _parse_witness(_read_witness(witness) if public_key is not None else [])
    walk = ChainWalk(public_key, batch_seals(session) if public_key is not None else (),
                     watched={seq for _, seq, _ in seen})
    if not walk.feed(entries(session, 1, batch=batch)):
        assert walk.broken is not None
        return Verification(walk.checked, *walk.broken)
    checked, last = walk.checked, walk.last
    head = session.get(AuditHead, HEAD_ID)
    if head is None:
        return Verification(checked, 1, "the chain head is missing")
    if head.seq > last:
        return Verification(checked, last + 1,
                            f"entries {last + 1} to {head.seq} were cut off the end")
    if head.seq < last:
        return Verification(checked, head.seq + 1,
                            f"entry {head.seq + 1} was added outside the application")
    if head.hash != walk.prev_hash:
        return Verification(checked, last, "the chain head does not match the last entry")
    if public_key is None:
        return Verification(checked)
    if walk.batches:
        return Verification(checked, last + 1, f"a batch seal names entries up to "
                                               f"{walk.batches[-1].last}, the chain ends at "
                                               f"entry {last}: entries were removed")
    unsealed = walk.unsealed_end()
    if unsealed:
        # The hashes of those entries verified, but they are not sealed: count what came before.
        return Verification(checked - (last - unsealed[0] + 1), *unsealed)
    broken = _witness_problem(seen, unreadable, walk.held, last)
    return Verification(checked, *broken) if broken else Verification(
        checked, sealed_from=walk.sealed_from)


def _seal_problem(public_key: Ed25519PublicKey, seq: int, first: int, seal: str, head_hash: str,
                  sealed_to: int | None) -> tuple[int, str] | None:
    if sealed_to is not None and first > sealed_to + 1:
        return sealed_to + 1, _unsealed(sealed_to + 1, first - 1)
    if sealed_to is not None and first <= sealed_to:
        return first, f"the seal of entry {seq} covers entries sealed before it"
    try:
        public_key.verify(bytes.fromhex(seal), seal_payload(first, seq, head_hash))
    except (InvalidSignature, ValueError):
        # The seals up to sealed_to held, so the change lies after it (before the first seal,
        # anywhere from entry 1: the seal's hash covers the whole chain).
        start = (sealed_to or 0) + 1
        if start == seq:
            return start, "rewritten after it was committed (its seal does not match)"
        return start, (f"one of entries {start} to {seq} was rewritten after it was "
                       f"committed (the seal of entry {seq} does not match)")
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
