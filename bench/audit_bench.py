"""Whether the audit chain's head-row lock limits writers, and how fast `custody audit verify`
reads the chain, per back-end, each against a baseline measured in the same run:

- commits/s of a web request's transaction that appends one deferred, sealed audit entry, with
  1, 8 and 32 writer threads (each its own session and connection), next to the same transaction
  inserting one row into a plain table instead (no chain, no lock);
- entries/s of `audit.verify` over the chain (with the public key and the witness log, as the
  command runs it, and without them), next to bare SHA-256 over the same entries' canonical
  bytes and Ed25519 verification of their seals: first over a chain whose commits are each
  sealed and no checkpoint seals a batch (a chain written before batch seals), then, after
  checkpoints sealed it and as many entries again in batches of `--batch`, over both (the
  entries/s of those checkpoints is the integration's: each checks its batch, seals included).

"lock held ms" is, per audited commit on PostgreSQL, the time from the chain head's row lock
granted to the commit returned: its inverse bounds the audited commits/s of any number of
writers. "writers waiting" is how many of them, on average, PostgreSQL saw waiting for a lock
(sampled every 10 ms), audited (plain).

    .venv/bin/python bench/audit_bench.py [--entries 200000] [--per-commit 1] [--batch 1000]
        [--seconds 2] [--backend postgresql|sqlite]... [--part writers|verify]...
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import psycopg
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import scratch_url  # noqa: E402
from workflow import schema  # noqa: E402
from workflow.audit import chain as audit  # noqa: E402
from workflow.audit import checkpoints  # noqa: E402
from workflow.audit.checkpoints import load_or_create_key  # noqa: E402
from workflow.context import SYSTEM  # noqa: E402
from workflow.db import UTCDateTime, make_engine, make_session_factory, utcnow  # noqa: E402
from workflow.models import AuditEntry, AuditHead  # noqa: E402

WRITERS = (1, 8, 32)
# The baseline's table: what an audit entry holds, with an ordinary key and no chain.
PLAIN = Table(
    "bench_plain", MetaData(),
    Column("id", Integer, primary_key=True),
    Column("occurred_at", UTCDateTime),
    Column("actor_name", String(64)),
    Column("action", String(64)),
    Column("object_type", String(32)),
    Column("object_id", String(64)),
    Column("person_id", Integer),
    Column("outcome", String(16)),
    Column("purpose", Text),
    Column("ip", String(64)),
    Column("details", Text),
)
# A record view, the commonest audited act.
VIEW = {"action": "record.view", "object_type": "person", "object_id": "4711", "person_id": 4711,
        "purpose": "Xác minh lý lịch theo yêu cầu của cơ quan điều tra"}
DETAILS = {"page": "persons.show", "query": "nguyen van an", "results": 3}
_granted = threading.local()


def admin_url(url: str) -> str:
    """The scratch database's URL for psycopg itself."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def audited(session: Session) -> None:
    """The request's one audit entry, kept aside and chained (locked, sealed) at commit."""
    audit.record(session, SYSTEM, VIEW["action"], object_type=VIEW["object_type"],
                 object_id=VIEW["object_id"], person_id=VIEW["person_id"],
                 purpose=VIEW["purpose"], details=DETAILS, actor_name="bench")


def plain(session: Session) -> None:
    """The baseline: the same row into a table without a chain."""
    session.execute(insert(PLAIN).values(
        occurred_at=utcnow(), actor_name="bench", outcome="success", ip=SYSTEM.ip,
        details=str(DETAILS), **VIEW))


def note_head_lock(conn, cursor, statement: str, *args) -> None:
    """Remember when this thread was granted the chain head's row lock (PostgreSQL)."""
    if "FOR UPDATE" in statement and "audit_head" in statement:
        _granted.at = time.perf_counter()


def lock_waiters(conn: psycopg.Connection) -> int:
    """How many backends of the scratch database wait for a lock now."""
    row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                       "current_database() AND wait_event_type = 'Lock'").fetchone()
    return row[0] if row else 0


@dataclass
class Run:
    """One timed run of writers: commits/s, how long the head lock was held a commit (grant to
    commit returned), and how many writers waited for a lock on average (PostgreSQL)."""

    rate: float
    held_ms: float
    waiting: float | None


def run_writers(sessions: sessionmaker[Session], write: Callable[[Session], None],
                writers: int, seconds: float, probe: Callable[[], int] | None) -> Run:
    """`writers` threads, each committing `write` in a fresh deferring session (as a web request
    does) until `seconds` have passed, while `probe` counts the writers waiting for a lock."""
    counts, held = [0] * writers, [0.0] * writers
    start = threading.Barrier(writers + 1)
    deadline = [0.0]
    samples: list[int] = []

    def run(slot: int) -> None:
        start.wait()
        while time.perf_counter() < deadline[0]:
            with sessions() as session:
                session.info[audit.DEFER] = True
                write(session)
                _granted.at = None
                session.commit()
                if _granted.at is not None:
                    held[slot] += time.perf_counter() - _granted.at
            counts[slot] += 1

    def sample() -> None:
        while time.perf_counter() < deadline[0]:
            samples.append(probe())
            time.sleep(0.01)

    threads = [threading.Thread(target=run, args=(slot,)) for slot in range(writers)]
    if probe is not None:
        threads.append(threading.Thread(target=sample))
    began = time.perf_counter()
    deadline[0] = began + seconds
    for thread in threads:
        thread.start()
    start.wait()
    for thread in threads:
        thread.join()
    commits = sum(counts)
    return Run(commits / (time.perf_counter() - began), sum(held) / commits * 1000,
               statistics.mean(samples) if samples else None)


def bench_writers(sessions: sessionmaker[Session], seconds: float, rounds: int,
                  probe: Callable[[], int] | None) -> None:
    """The writers table: plain and audited commits/s, alternated so that a busy machine weighs
    on both alike."""
    print(f"{'writers':>8}{'plain commits/s':>17}{'audited commits/s':>19}{'audited/plain':>15}"
          f"{'lock held ms':>14}{'writers waiting':>17}")
    for writers in WRITERS:
        runs: tuple[list[Run], list[Run]] = ([], [])
        for _ in range(rounds):
            for kept, write in zip(runs, (plain, audited), strict=True):
                kept.append(run_writers(sessions, write, writers, seconds, probe))
        base, chained = (sorted(kept, key=lambda run: run.rate)[len(kept) // 2] for kept in runs)
        # SQLite emits no FOR UPDATE: every writer, plain or audited, queues at BEGIN IMMEDIATE.
        held = f"{chained.held_ms:.2f}" if chained.held_ms else "-"
        waiting = "-" if chained.waiting is None else (
            f"{chained.waiting:.1f} ({base.waiting:.1f})")
        print(f"{writers:>8}{base.rate:>17,.0f}{chained.rate:>19,.0f}"
              f"{chained.rate / base.rate:>15.2f}{held:>14}{waiting:>17}")


def fill_chain(sessions: sessionmaker[Session], sealer: audit.Sealer, entries: int,
               per_commit: int) -> None:
    """Append `entries` sealed entries, `per_commit` to a seal, as the application chains them
    (same hash, same seal, same witness line), but written in bulk to save the minutes."""
    with sessions() as session:
        head = session.execute(select(AuditHead).where(AuditHead.id == audit.HEAD_ID)
                               .with_for_update()).scalar_one()
        seq, prev_hash, rows, lines = head.seq, head.hash, [], []
        first = seq + 1
        for number in range(entries):
            seq += 1
            entry = AuditEntry(seq=seq, occurred_at=utcnow(), actor_id=None, actor_name="bench",
                               organisation_id=None, outcome="success", ip=SYSTEM.ip,
                               details=f'{{"page":"persons.show","results":{number % 50}}}',
                               prev_hash=prev_hash, **{**VIEW, "object_id": str(number),
                                                       "person_id": number})
            entry.hash = prev_hash = audit.entry_hash(entry)
            if seq - first + 1 == per_commit or number == entries - 1:
                entry.seal_from, entry.seal = first, sealer.seal(first, seq, entry.hash)
                lines.append(f"{first} {seq} {entry.hash}\n")
                first = seq + 1
            rows.append({column.key: getattr(entry, column.key)
                         for column in AuditEntry.__table__.columns})
            if len(rows) == 5000:
                session.execute(insert(AuditEntry), rows)
                rows.clear()
        if rows:
            session.execute(insert(AuditEntry), rows)
        session.execute(update(AuditHead).where(AuditHead.id == audit.HEAD_ID)
                        .values(seq=seq, hash=prev_hash))
        session.commit()
    sealer.witness(lines)


def per_s(run: Callable[[], object], count: int, rounds: int) -> float:
    """Items per second of `run` over `count` items, the best of `rounds` (the least disturbed
    by the other work on the machine)."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return count / best


def bench_verify(sessions: sessionmaker[Session], sealer: audit.Sealer, entries: int,
                 per_commit: int, batch: int, rounds: int) -> None:
    """The verify table, over a chain of `entries` whose commits are sealed one by one (as an
    old chain is), then over twice as many sealed in batches by checkpoints every `batch`
    entries (as the application does now): entries/s of the command's check, of the chain
    alone, of the checkpoints' integration, and of the primitives under them."""
    key = sealer.key
    public = key.public_key()

    def check(seals: bool) -> Callable[[], None]:
        def run() -> None:
            with sessions() as session:
                if session.get_bind().dialect.name == "postgresql":
                    session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
                result = (audit.verify(session, public, sealer.witness_path) if seals
                          else audit.verify(session))
            assert result.ok and result.checked == count, result
        return run

    def integrate(rounds: int) -> float:
        """Seconds spent in `rounds` checkpoints, each after `batch` entries more (the first
        seals the old chain in one batch)."""
        spent = 0.0
        for number in range(rounds):
            if number:
                fill_chain(sessions, sealer, batch, per_commit)
            with sessions() as session:
                started = time.perf_counter()
                assert checkpoints.create(session, SYSTEM, key) is not None
                session.commit()
                spent += time.perf_counter() - started
        return spent

    started = time.perf_counter()
    fill_chain(sessions, sealer, entries, per_commit)
    print(f"verify ({entries:,} entries appended, {per_commit} a seal, in "
          f"{time.perf_counter() - started:.0f} s; SHA-256 and Ed25519 best of {rounds})")
    with sessions() as session:
        count = session.scalar(select(AuditHead.seq)) or 0
        # The bytes verify hashes, and the seals it checks, read once outside the timing.
        fields = [getattr(AuditEntry, name) for name in audit.HASHED]
        hashed = [audit.hashed_bytes(row[-1], row[:-1]) for row in session.execute(
            select(*fields, AuditEntry.prev_hash).order_by(AuditEntry.seq))]
        seals = [(bytes.fromhex(seal), audit.seal_payload(first, seq, head_hash))
                 for seq, first, head_hash, seal in session.execute(
                     select(AuditEntry.seq, AuditEntry.seal_from, AuditEntry.hash,
                            AuditEntry.seal).where(AuditEntry.seal.is_not(None)))]

    def sha256() -> None:
        for data in hashed:
            hashlib.sha256(data).hexdigest()

    def ed25519() -> None:
        for signature, payload in seals:
            public.verify(signature, payload)

    def row(name: str, rate: float) -> None:
        # The baseline again just before each row: on a shared machine the load changes
        # between rows, and a ratio is only as good as its baseline's moment.
        base = per_s(sha256, len(hashed), rounds)
        print(f"{name:<52}{rate:>12,.0f}{rate / base:>12.3f}{base:>14,.0f}")

    print(f"{'over ' + format(count, ',') + ' entries':<52}{'entries/s':>12}{'vs SHA-256':>12}"
          f"{'SHA-256/s':>14}")
    row("bare SHA-256 of the canonical bytes", per_s(sha256, count, rounds))
    row(f"Ed25519 check of the {len(seals):,} commit seals", per_s(ed25519, count, rounds))
    # One run each: over this many entries a run lasts seconds, long enough to average out.
    row("verify: chain and head, no seals", per_s(check(False), count, 1))
    row("verify: + every commit's seal, witness (old chain)", per_s(check(True), count, 1))
    batches = max(1, entries // batch)
    spent = integrate(batches + 1)
    with sessions() as session:
        count = session.scalar(select(AuditHead.seq)) or 0
    row(f"checkpoints: check and seal in {batches + 1} batches", count / spent)
    row(f"verify: chain and head, no seals ({count:,})", per_s(check(False), count, 1))
    row(f"verify: + batch seals (every {batch:,}), witness ({count:,})",
        per_s(check(True), count, 1))


def bench_backend(backend: str, args: argparse.Namespace, folder: Path) -> None:
    """The parts asked for, on a scratch database of `backend`."""
    sealer = audit.Sealer(lambda: load_or_create_key(folder / "audit.pem"),
                          lambda: folder / f"{backend}-witness.log")
    url, drop = scratch_url(backend, None)
    engine = make_engine(url, pool_size=max(WRITERS), max_overflow=0)
    try:
        schema.upgrade(engine)
        PLAIN.create(engine)
        event.listen(engine, "after_cursor_execute", note_head_lock)
        sessions = make_session_factory(engine, {audit.SEALER: sealer})
        parts = args.part or ("writers", "verify")
        if "writers" in parts:
            print(f"== {backend}: commits/s of one request's transaction ({args.seconds:g} s, "
                  f"median of {args.rounds}; waiting: audited (plain))")
            if backend == "postgresql":
                with psycopg.connect(admin_url(url), autocommit=True) as conn:
                    bench_writers(sessions, args.seconds, args.rounds, partial(lock_waiters, conn))
            else:
                bench_writers(sessions, args.seconds, args.rounds, None)
        if "verify" in parts:
            print(f"== {backend}: ", end="")
            bench_verify(sessions, sealer, args.entries, args.per_commit, args.batch,
                         args.rounds)
    finally:
        engine.dispose()
        drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--per-commit", type=int, default=1,
                        help="entries under one seal in the chain verified (a web request: 1)")
    parser.add_argument("--batch", type=int, default=1000,
                        help="entries a checkpoint seals (CUSTODY_AUDIT_CHECKPOINT_ENTRIES)")
    parser.add_argument("--seconds", type=float, default=2.0, help="per writers measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), action="append")
    parser.add_argument("--part", choices=("writers", "verify"), action="append")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    for backend in args.backend or ("postgresql", "sqlite"):
        bench_backend(backend, args, folder)


if __name__ == "__main__":
    main()
