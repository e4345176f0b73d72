"""Signed checkpoints of the audit chain (Ed25519): every N entries or M minutes the chain's
head is signed with a key kept outside the database; the checkpoints can be exported to a file
kept off the machine. Verification checks every signature and that the chain still holds the
entry each checkpoint names, which a rewritten or shortened chain no longer does. Each checkpoint
also seals the batch of entries since the one before (`audit.BatchSeal`), once it has checked
them and their commits' seals: verify then checks one signature a batch, not one a commit."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.audit import chain as audit
from workflow.context import Actor
from workflow.keyfiles import write_once
from workflow.models import AuditCheckpoint, AuditEntry, AuditHead

EXPORT_FORMAT = "custody-audit-checkpoints/1"


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The signing key from its file (created, readable by its owner only, if missing). Workers
    starting together on a new installation all end up with the same key: a new key is written
    aside and linked into place, which only the first one does."""
    path = Path(path)
    if not path.exists():
        write_once(path, Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
    key = serialization.load_pem_private_key(path.read_bytes(), None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def public_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The public key in PEM, to keep with exported checkpoints."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.PEM,
                               serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def key_id(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """A short name of the key: the start of the SHA-256 of its public key."""
    return hashlib.sha256(public_pem(key).encode()).hexdigest()[:16]


def _payload(seq: int, head_hash: str, created_at: dt.datetime) -> bytes:
    return f"{EXPORT_FORMAT}:{seq}:{head_hash}:{created_at.isoformat()}".encode()


def due(session: Session, now: dt.datetime, every_entries: int, every_minutes: int) -> bool:
    """Whether N entries were written, or M minutes passed with new entries, since the last."""
    head = session.get(AuditHead, 1)
    if head is None:
        return False
    last = session.scalars(select(AuditCheckpoint).order_by(
        AuditCheckpoint.id.desc()).limit(1)).first()
    if last is None:
        return head.seq > 0
    if head.seq <= last.seq:
        return False
    return (head.seq - last.seq >= every_entries
            or now - last.created_at >= dt.timedelta(minutes=every_minutes))


def create(session: Session, actor: Actor, key: Ed25519PrivateKey) -> AuditCheckpoint | None:
    """Sign the chain's head (None if nothing was written since the last checkpoint), sealing
    the batch of entries since the last batch seal once they verify (ChainBroken if not). The
    checkpoint's own audit entry comes first, so the checkpoint covers it too. The batch is
    checked before the head is locked; under the lock only what was written meanwhile."""
    public = key.public_key()
    anchor = _last_batch(session, public)
    walk = audit.ChainWalk.after(anchor, public)
    _check(session, walk, session.scalar(select(AuditHead.seq)) or 0)
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()
                           .execution_options(populate_existing=True)).scalar_one_or_none()
    if head is None:
        return None
    last_seq = session.scalar(select(func.max(AuditCheckpoint.seq)))
    if last_seq is not None and head.seq <= last_seq:
        return None
    latest = _last_batch(session, public)
    if latest != anchor:  # another process sealed a batch meanwhile: start after it
        anchor, walk = latest, audit.ChainWalk.after(latest, public)
    audit.record(session, actor, "audit.checkpoint", object_type="checkpoint",
                 details={"key_id": key_id(key)})
    audit.settle(session)
    session.refresh(head)
    _check(session, walk, head.seq)
    first, digest = anchor.last + 1 if anchor else 1, walk.seals.hexdigest()
    checkpoint = AuditCheckpoint(
        seq=head.seq, head_hash=head.hash, created_at=actor.now, key_id=key_id(key),
        first_seq=first, seals_digest=digest, signature=key.sign(audit.batch_payload(
            first, head.seq, head.hash, digest, actor.now)).hex())
    session.add(checkpoint)
    session.flush()
    return checkpoint


def _last_batch(session: Session, public: Ed25519PublicKey) -> audit.BatchSeal | None:
    """The last batch seal, which the next one continues; ChainBroken if it is not the key's."""
    row = session.execute(select(AuditCheckpoint).where(AuditCheckpoint.seals_digest.is_not(None))
                          .order_by(AuditCheckpoint.seq.desc()).limit(1)).scalar_one_or_none()
    if row is None:
        return None
    assert row.first_seq is not None and row.seals_digest is not None
    seal = audit.BatchSeal(row.first_seq, row.seq, row.head_hash, row.seals_digest,
                           row.created_at, row.signature)
    if not seal.signed_by(public):
        raise audit.ChainBroken(seal.first, f"the batch seal of entries {seal.first} to "
                                            f"{seal.last} is forged (its signature does not match)")
    return seal


def _check(session: Session, walk: audit.ChainWalk, last: int) -> None:
    """Walk on to entry `last`: every entry links, matches its hash and is sealed by its commit."""
    walk.feed(audit.entries(session, walk.expected, last))
    broken = walk.broken or (None if walk.last == last else
                             (walk.expected, f"entry {walk.expected} is missing"))
    broken = broken or walk.unsealed_end()
    if broken:
        raise audit.ChainBroken(*broken)


def export(session: Session, key: Ed25519PrivateKey) -> dict:
    """Every checkpoint with the public key: what is kept off the machine."""
    rows = session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id)).all()
    return {"format": EXPORT_FORMAT, "public_key": public_pem(key), "key_id": key_id(key),
            "checkpoints": [{"seq": c.seq, "head_hash": c.head_hash,
                             "created_at": c.created_at.isoformat(), "key_id": c.key_id,
                             "signature": c.signature, "first_seq": c.first_seq,
                             "seals_digest": c.seals_digest} for c in rows]}


@dataclass
class CheckpointReport:
    """What checking the checkpoints found."""

    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Nothing wrong."""
        return not self.problems


def verify(session: Session, public_key: Ed25519PublicKey,
           exported: dict | None = None) -> CheckpointReport:
    """Check the checkpoints in the database, and those of an exported file if given: each
    signature, and that the chain still has the entry each one names with the same hash."""
    report = CheckpointReport()
    entries: list[tuple[int, str, dt.datetime, str, str, int | None, str | None, str]] = [
        (c.seq, c.head_hash, c.created_at, c.key_id, c.signature, c.first_seq, c.seals_digest,
         "database")
        for c in session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id))]
    if exported is not None:
        entries += [(c["seq"], c["head_hash"], dt.datetime.fromisoformat(c["created_at"]),
                     c["key_id"], c["signature"], c.get("first_seq"), c.get("seals_digest"),
                     "exported file")
                    for c in exported.get("checkpoints", [])]
    head_seq = session.scalar(select(func.max(AuditEntry.seq))) or 0
    for seq, head_hash, created_at, kid, signature, first, digest, source in entries:
        report.checked += 1
        where = f"checkpoint at entry {seq} ({source})"
        if kid != key_id(public_key):
            report.problems.append(f"{where}: signed with another key ({kid})")
            continue
        # Since revision 0034 a checkpoint seals its batch: its signature covers that as well.
        payload = (_payload(seq, head_hash, created_at) if digest is None or first is None else
                   audit.batch_payload(first, seq, head_hash, digest, created_at))
        try:
            public_key.verify(bytes.fromhex(signature), payload)
        except (InvalidSignature, ValueError):
            report.problems.append(f"{where}: the signature is not valid")
            continue
        if seq > head_seq:
            report.problems.append(f"{where}: the chain ends at entry {head_seq}; the entries "
                                   f"after it were removed")
            continue
        entry_hash = session.scalar(select(AuditEntry.hash).where(AuditEntry.seq == seq))
        if entry_hash != head_hash:
            report.problems.append(f"{where}: the chain's entry {seq} is not the one signed")
    return report


def read_export(path: Path) -> dict:
    """An exported checkpoint file."""
    data = json.loads(Path(path).read_text("utf-8"))
    if data.get("format") != EXPORT_FORMAT:
        raise ValueError(f"{path} is not an exported checkpoint file")
    return data


def public_key_of(export_data: dict) -> Ed25519PublicKey:
    """The public key written in an exported file."""
    key = serialization.load_pem_public_key(export_data["public_key"].encode())
    assert isinstance(key, Ed25519PublicKey)
    return key
