"""The audit trail: a hash chain of entries the database refuses to update or delete."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from workflow.db import Base, UTCDateTime


class AuditEntry(Base):
    """One audited act: who did what to which object, when, from where, with what outcome."""

    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_actor", "actor_id", "seq"),
        Index("ix_audit_entry_person", "person_id", "seq"),
        Index("ix_audit_entry_time", "occurred_at"),
    )

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=False)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor_name: Mapped[str | None] = mapped_column(String(64))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    person_id: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str | None] = mapped_column(Text)
    ip: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # On the last entry of each commit: the audit key's Ed25519 signature over the entries
    # seal_from..seq and this hash, made in the same transaction (see `workflow.audit`).
    seal_from: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    seal: Mapped[str | None] = mapped_column(String(128))


class AuditHead(Base):
    """The single row naming the chain's last entry; appenders lock it to serialise."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """A signed statement of the chain's head at a moment (Ed25519): kept here and exported
    off the machine, so that a rewritten or shortened chain no longer matches."""

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    head_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    key_id: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(String(128))
    # A batch seal (from revision 0034): the entries first_seq..seq since the checkpoint before,
    # and the SHA-256 of their commits' seals, signed with the head; verify then checks this one
    # signature in place of each commit's (see `workflow.audit.chain.BatchSeal`).
    first_seq: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    seals_digest: Mapped[str | None] = mapped_column(String(64))
