"""Verifying an issued document without signing in: its public status by code (never its
content), and a check of a PDF file against the register."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.audit import chain as audit
from workflow.audit.chain import Outcome
from workflow.context import Actor
from workflow.documents import codes, pki
from workflow.documents.enums import IssuedKind, IssuedState
from workflow.models import (
    IssuedDocument,
)

# --- verification --------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicStatus:
    """What the public verification page may say: nothing of the record's content."""

    genuine: bool
    kind: IssuedKind | None = None
    number: str | None = None
    issuer: str | None = None
    issued_at: dt.datetime | None = None
    recipient_name: str | None = None
    recipient_org: str | None = None
    state: IssuedState | None = None
    valid_until: dt.date | None = None
    revoked_at: dt.datetime | None = None
    sha256: str | None = None


def public_status(session: Session, actor: Actor, code: str) -> PublicStatus:
    """Look a verification code up (audited, without login) by its key: typed in lower case,
    with spaces or dots, or with O for 0 and I or L for 1, it finds its document; text that
    cannot be a code (`codes.read`) finds none."""
    key = codes.read(code).key
    document = session.scalars(select(IssuedDocument).where(
        IssuedDocument.code_key == key)).first() if key else None
    audit.record(session, actor, "document.verify_code",
                 outcome=Outcome.SUCCESS if document else Outcome.FAILURE,
                 object_type="document", object_id=document.id if document else None,
                 details={"found": document is not None})
    if document is None or document.state in (IssuedState.PREPARED, IssuedState.SUPERSEDED):
        return PublicStatus(False)
    return PublicStatus(True, document.kind, document.number, document.org.name,
                        document.created_at, document.recipient_name, document.recipient_org,
                        document.state, document.valid_until, document.revoked_at,
                        document.sha256)


@dataclass(frozen=True)
class FileCheck:
    """The offline check of a PDF file: its signature and its entry in the register."""

    ok: bool
    problems: tuple[str, ...]
    document: IssuedDocument | None
    signature: pki.SignatureCheck


def check_file(session: Session, pdf: bytes) -> FileCheck:
    """Check a file: a trusted signature over the whole file, and a register entry with the same
    hash, not revoked. Any changed byte fails both."""
    signature = pki.check_signature(pdf, pki.trust_roots(session))
    problems = [] if signature.ok else [f"signature: {signature.problem}"]
    digest = hashlib.sha256(pdf).hexdigest()
    document = session.scalars(select(IssuedDocument).where(
        IssuedDocument.sha256 == digest)).first()
    if document is None:
        problems.append("register: no issued document has this exact content")
    elif document.state is IssuedState.REVOKED:
        problems.append(f"register: revoked on {document.revoked_at:%Y-%m-%d}: "
                        f"{document.revoke_reason}")
    elif document.state in (IssuedState.PREPARED, IssuedState.SUPERSEDED):
        problems.append("register: this document was never released")
    if document is not None and signature.signer_fingerprint \
            and signature.signer_fingerprint != document.signer_fingerprint:
        problems.append("register: signed by another certificate than the one recorded")
    person = document.contents.get("person_fingerprint") if document is not None else None
    if document is not None and signature.ok and person != signature.person_fingerprint:
        problems.append("register: the official's signature is not the one recorded")
    return FileCheck(not problems, tuple(problems), document, signature)
