"""Issued documents (extracts and letters), their number register, templates and signing keys."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from workflow.db import Base, UTCDateTime, utcnow
from workflow.documents.codes import key_of
from workflow.documents.enums import IssuedKind, IssuedState
from workflow.enums import Secrecy, enum_type
from workflow.models.organisations import Organisation
from workflow.models.requests import AccessRequest
from workflow.models.users import User


class SigningCredential(Base):
    """A certificate used to sign or to trust: an organisation's seal (its key encrypted here), a
    person's own (its key on a PKCS#11 token, never here), a CA's or a trusted root."""

    __tablename__ = "signing_credential"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    # "ca" (dev CA), "root" (trusted), "org" (the seal), "tsa", "person" (an official's own)
    purpose: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    token_label: Mapped[str | None] = mapped_column(String(64))  # where a person's key is
    # What the signature shows on the page (PNG or SVG): a person's signature, an org's seal.
    image: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    image_type: Mapped[str | None] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    cert_pem: Mapped[str] = mapped_column(Text)
    key_pem: Mapped[str | None] = mapped_column(Text)  # PKCS#8, encrypted with a passphrase
    chain_pem: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(16))  # "dev", "imported" or "token"
    active: Mapped[bool] = mapped_column(default=True)
    not_after: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    org: Mapped[Organisation | None] = relationship()
    user: Mapped[User | None] = relationship()


class DocumentRegister(Base):
    """The last number given per issuing organisation and year (sổ đăng ký văn bản đi)."""

    __tablename__ = "document_register"

    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_serial: Mapped[int] = mapped_column(Integer, default=0)


class DocumentTemplate(Base):
    """A version of a document template, kept so an issued document can be traced to it."""

    __tablename__ = "document_template"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


DOCUMENT_STATE_CHECKS = {
    "released_when": "state <> 'released' OR released_at IS NOT NULL",
    "revoked_when": "(state = 'revoked') = (revoked_at IS NOT NULL)",
    "released_extract_limits": "kind <> 'extract' OR state <> 'released' "
                               "OR (valid_until IS NOT NULL AND download_limit IS NOT NULL)",
    # A prepared extract is an unnumbered draft; the number comes at issue (migration 0023).
    "released_numbered": "state <> 'released' OR (serial IS NOT NULL AND code IS NOT NULL)",
}


class IssuedDocument(Base):
    """One numbered, signed PDF: an extract for a requester or a letter of the workflow."""

    __tablename__ = "issued_document"
    __table_args__ = (
        UniqueConstraint("org_id", "year", "serial", name="uq_issued_serial"),
        # The lifecycle's states and the columns they imply (migration 0016).
        *[CheckConstraint(sql, name=name) for name, sql in DOCUMENT_STATE_CHECKS.items()],
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("access_request.id"), index=True)
    step_id: Mapped[int | None] = mapped_column(ForeignKey("request_step.id"))
    kind: Mapped[IssuedKind] = mapped_column(enum_type(IssuedKind))
    state: Mapped[IssuedState] = mapped_column(enum_type(IssuedState))
    # The highest state-secret level of what it holds: the mark it carries (migration 0022).
    secrecy: Mapped[Secrecy] = mapped_column(enum_type(Secrecy), default=Secrecy.NONE,
                                             server_default=Secrecy.NONE.value)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    year: Mapped[int] = mapped_column(Integer)
    # None while a draft (a prepared extract): given at issue, from the register (0023).
    serial: Mapped[int | None] = mapped_column(Integer)
    number: Mapped[str | None] = mapped_column(String(64))
    code: Mapped[str | None] = mapped_column(String(32), unique=True)
    # What the code is found by, however it was typed (`workflow/documents/codes.py`; migration
    # 0017): set with the code, the same reading as the verification page's.
    code_key: Mapped[str | None] = mapped_column(String(32), unique=True)
    template_version: Mapped[str] = mapped_column(ForeignKey("document_template.version"))
    signer_fingerprint: Mapped[str | None] = mapped_column(String(64))  # None: not signed
    # The signature block as printed ('KT. GIÁM ĐỐC', 'PHÓ GIÁM ĐỐC', the name), one per line.
    signed_as: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    pages: Mapped[int] = mapped_column(Integer)
    # Loaded when read: request pages list documents often, their files only on download.
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    purged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    recipient_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    recipient_name: Mapped[str] = mapped_column(String(160))
    recipient_org: Mapped[str] = mapped_column(String(255))
    named_json: Mapped[str] = mapped_column("named", Text, default="[]")
    contents_json: Mapped[str] = mapped_column("contents", Text, default="{}")
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    download_limit: Mapped[int | None] = mapped_column(Integer)
    downloads: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    released_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    revoke_reason: Mapped[str | None] = mapped_column(Text)

    request: Mapped[AccessRequest] = relationship()
    org: Mapped[Organisation] = relationship()
    recipient: Mapped[User | None] = relationship(foreign_keys=[recipient_user_id])

    @validates("code")
    def _key_the_code(self, _name: str, code: str | None) -> str | None:
        self.code_key = key_of(code) if code is not None else None
        return code

    @property
    def named(self) -> list[int]:
        """Users the approval names as recipients besides the requester."""
        return json.loads(self.named_json)

    @property
    def contents(self) -> dict:
        """Which categories the document holds and which it withholds (no record content)."""
        return json.loads(self.contents_json)


class SecretRegisterEntry(Base):
    """A secret document sent out (sổ đăng ký văn bản mật đi): its own numbers per issuing
    body and year, its level, its named recipient and how many copies it goes out in."""

    __tablename__ = "secret_register_entry"
    __table_args__ = (UniqueConstraint("org_id", "year", "serial", name="uq_secret_serial"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    year: Mapped[int] = mapped_column(Integer)
    serial: Mapped[int] = mapped_column(Integer)
    document_id: Mapped[int] = mapped_column(ForeignKey("issued_document.id"), unique=True)
    secrecy: Mapped[Secrecy] = mapped_column(enum_type(Secrecy))
    recipient_user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    recipient_name: Mapped[str] = mapped_column(String(160))
    recipient_org: Mapped[str] = mapped_column(String(255))
    copies: Mapped[int] = mapped_column(Integer)
    registered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    registered_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))

    document: Mapped[IssuedDocument] = relationship()
    org: Mapped[Organisation] = relationship()
