"""Extracts and letters (Decree Arts. 12, 18): prepared from what was granted, numbered from the
register, signed, previewed and released bound to their hash, downloaded under a validity window
and a limit, verified by code or file, revoked, and purged after the retention period.

A document is rendered inside the caller's transaction, after its number is taken: if rendering
or signing fails, the transaction is undone and the number is given back.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass

import segno
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from workflow.audit import chain as audit
from workflow.audit.chain import Outcome
from workflow.context import Actor
from workflow.documents import pki
from workflow.documents.contents import extract_sections, split_parts
from workflow.documents.grants import grant_of
from workflow.documents.register import next_serial, record_template
from workflow.documents.rendering import Renderer
from workflow.documents.wording import short_date, vi
from workflow.enums import (
    IssuedKind,
    IssuedState,
    RequestCategory,
    RequestState,
    StepKind,
    StepOutcome,
    SubjectKind,
)
from workflow.errors import (
    Conflict,
    DocumentFailed,
    DomainError,
    Forbidden,
    Gone,
    InvalidInput,
    NotFound,
)
from workflow.i18n import N_
from workflow.models import (
    AccessRequest,
    IssuedDocument,
    Organisation,
    OrganisationLink,
    RequestStep,
    RequestTransition,
    User,
)
from workflow.requests import decisions, kernel
from workflow.requests.policy import (
    can_download,
    can_fire,
    can_manage_document,
    can_revoke,
    can_view,
)

SYMBOLS = {IssuedKind.EXTRACT: "PCCTT", IssuedKind.REFUSAL: "TB-TC",
           IssuedKind.RETURN: "TB-BS", IssuedKind.CONSENT: "CV-ĐY"}
TEMPLATES = {IssuedKind.EXTRACT: "extract.html", IssuedKind.REFUSAL: "refusal.html",
             IssuedKind.RETURN: "return_notice.html", IssuedKind.CONSENT: "consent_letter.html"}
# About 16 pages of table rows: a longer extract is rendered in parts of this size and joined,
# so its memory stays that of one part (see bench/extract_bench.py).
PART_LINES = 400
FOOTER_NOTE = ("Chỉ sử dụng đúng mục đích đã đề nghị; không cung cấp, để lộ "
               "(Điều 18 Nghị định 121/2017/NĐ-CP).")
CONFIDENTIAL = ("Thông tin chỉ được sử dụng đúng mục đích đã đề nghị; không được cung cấp, để lộ "
                "cho người khác (Điều 18 Nghị định số 121/2017/NĐ-CP).")


@dataclass(frozen=True)
class ExtractSettings:
    """How documents are signed, where they are verified, and the release defaults and caps."""

    passphrase: str
    base_url: str = "http://127.0.0.1:5000"
    issue_dev_certificates: bool = True
    retention_days: int | None = 365
    valid_days: int = 30
    download_limit: int = 3
    max_valid_days: int = 365
    max_download_limit: int = 20


_local = threading.local()


def renderer() -> Renderer:
    """One renderer per thread: its font configuration is reused, never shared by threads."""
    if not hasattr(_local, "renderer"):
        _local.renderer = Renderer()
    return _local.renderer


def new_code() -> str:
    """A verification code: 80 random bits in base32, in groups of four."""
    raw = base64.b32encode(secrets.token_bytes(10)).decode()
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


def normalise_code(text: str) -> str:
    """Accept the code however it was typed: case, spaces and dashes do not matter."""
    raw = re.sub(r"[^A-Z2-7]", "", (text or "").upper())[:16]
    return "-".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def verify_url(settings: ExtractSettings, code: str) -> str:
    """The public verification page of a code."""
    return f"{settings.base_url.rstrip('/')}/verify/{code}"


def _qr(url: str) -> Markup:
    # segno writes trusted SVG markup of the URL's modules: nothing user-typed reaches it.
    return Markup(segno.make(url, error="m").svg_inline(scale=2, border=0))  # noqa: S704


def _parent_name(session: Session, org: Organisation, day: dt.date) -> str:
    parent = session.execute(select(Organisation).join(
        OrganisationLink, OrganisationLink.parent_id == Organisation.id).where(
        OrganisationLink.organisation_id == org.id, OrganisationLink.valid_from <= day,
        OrganisationLink.valid_to.is_(None) | (OrganisationLink.valid_to > day))
    ).scalars().first()
    return parent.name if parent else ""


def _place(org: Organisation) -> str:
    return org.province or "Hà Nội"


def _issue(session: Session, settings: ExtractSettings, actor: Actor, *,
           request: AccessRequest, kind: IssuedKind, org: Organisation,
           context: Callable[[str, str], dict], recipient: User | None, recipient_name: str,
           recipient_org: str, state: IssuedState, contents: dict,
           step_id: int | None = None, parts: list | None = None) -> IssuedDocument:
    """Number, render, sign and record one document."""
    year = actor.today.year
    serial = next_serial(session, org.id, year)
    number = f"{serial:02d}/{SYMBOLS[kind]}"
    code = new_code()
    template = TEMPLATES[kind]
    render = renderer()
    values = {"issuer": org.name, "issuer_parent": _parent_name(session, org, actor.today),
              "number": number, "place": _place(org), "date": actor.today, "code": code,
              "verify_url": verify_url(settings, code), "qr": _qr(verify_url(settings, code)),
              "request_number": request.number, "confidential": CONFIDENTIAL,
              "footer_note": FOOTER_NOTE,
              "recipient_name": recipient_name, "recipient_org": recipient_org}
    values |= context(number, code)
    try:
        rendered = (render.render_parts(template, values, parts) if parts is not None
                    else render.render_pages(template, values))
        credential = pki.org_credential(session, org, settings.passphrase, actor.now,
                                        issue_dev=settings.issue_dev_certificates)
        pdf = pki.sign_pdf(rendered.pdf, pki.signer_for(credential, settings.passphrase),
                           reason=f"{vi(kind.label)} {number}", location=_place(org),
                           name=org.name)
    except DomainError:
        raise
    except Exception as error:  # noqa: BLE001 - any renderer or signer failure is reported
        raise DocumentFailed(N_("The document could not be produced (%(error)s). Nothing was "
                                "changed: the request stays as it was."),
                             error=f"{type(error).__name__}: {str(error)[:200]}") from error
    version, source = render.template_version(template)
    record_template(session, version, template, source)
    document = IssuedDocument(
        request_id=request.id, step_id=step_id, kind=kind, state=state, org_id=org.id,
        year=year, serial=serial, number=number, code=code, template_version=version,
        signer_fingerprint=credential.fingerprint, sha256=hashlib.sha256(pdf).hexdigest(),
        size=len(pdf), pages=rendered.pages, pdf=pdf,
        recipient_user_id=recipient.id if recipient else None,
        recipient_name=recipient_name[:160], recipient_org=recipient_org[:255],
        contents_json=json.dumps(contents, ensure_ascii=False, default=str),
        created_at=actor.now, created_by_id=actor.user.id if actor.user else None)
    if state is IssuedState.RELEASED:
        document.released_at, document.valid_from = actor.now, actor.today
        document.released_by_id = document.created_by_id
    session.add(document)
    session.flush()
    audit.record(session, actor, "document.issue", object_type="document",
                 object_id=document.id, person_id=request.subject_person_id,
                 details={"kind": kind.value, "number": number, "year": year,
                          "org": org.code, "request": request.number,
                          "sha256": document.sha256, "template_version": version,
                          "pages": rendered.pages})
    return document


# --- extracts ------------------------------------------------------------------------------


def _recipient(request: AccessRequest) -> tuple[str, str]:
    name = request.on_behalf_of.full_name if request.on_behalf_of else request.requester.full_name
    return name, request.requester_org.name


def prepare_extract(session: Session, settings: ExtractSettings, actor: Actor,
                    request_id: int, *, expected_version: int | None = None
                    ) -> IssuedDocument:
    """Produce the extract of an approved request for the releaser to preview; an earlier
    preparation not yet released is superseded."""
    request = kernel.open_request(session, actor, request_id, expected_version)
    if request.state is not RequestState.APPROVED:
        raise Conflict(N_("An extract can be prepared only for an approved request."))
    if not can_fire(session, actor, request, "release"):
        raise Forbidden(N_("You may not release this request."))
    if request.subject_kind is not SubjectKind.PERSON or request.subject_person is None:
        raise InvalidInput(N_("Statistical requests are answered without a record extract."))
    grant = grant_of(request, request.requester.clearance)
    person = request.subject_person
    sections, withheld = extract_sections(person, grant, actor.today)
    issuer = grant.approval.org if grant.approval else request.requester_org
    name, org_name = _recipient(request)
    for old in _extracts(session, request.id, IssuedState.PREPARED):
        old.state = IssuedState.SUPERSEDED

    def context(number: str, code: str) -> dict:
        return {"subject_name": person.full_name, "subject_birth": short_date(person.birth_date),
                "period": _period(grant.period_from, grant.period_to),
                "basis": _basis(request, grant), "purpose": request.purpose,
                "withheld": withheld,
                "signer": actor.user.full_name, "addressee": org_name}

    document = _issue(session, settings, actor, request=request, kind=IssuedKind.EXTRACT,
                      org=issuer, context=context, recipient=request.requester,
                      recipient_name=name, recipient_org=org_name,
                      state=IssuedState.PREPARED,
                      contents={"granted": list(grant.categories),
                                "period": [grant.period_from, grant.period_to],
                                "secrecy": grant.secrecy.value, "withheld": withheld},
                      parts=split_parts(sections, PART_LINES))
    audit.record(session, actor, "extract.prepare", object_type="request", object_id=request.id,
                 person_id=request.subject_person_id,
                 details={"document": document.id, "sha256": document.sha256})
    return document


def _period(start: dt.date | None, end: dt.date | None) -> str:
    if start is None and end is None:
        return "toàn bộ thời gian có trong hồ sơ"
    return f"từ ngày {short_date(start)} đến ngày {short_date(end)}"


def _basis(request: AccessRequest, grant) -> list[str]:
    lines = [f"Căn cứ Phiếu đề nghị số {request.number} ngày "
             f"{short_date((request.submitted_at or request.created_at).date())} "
             f"của {request.requester_org.name}."]
    if grant.approval is not None:
        lines.append(f"Căn cứ ý kiến phê duyệt của {grant.approval.org.name} ngày "
                     f"{short_date(grant.approval.decided_at.date())}.")
    else:
        lines.append("Căn cứ điểm a khoản 3 Điều 12 Nghị định số 121/2017/NĐ-CP (thông tin "
                     "thuộc phạm vi quản lý của cơ quan đề nghị).")
    for consent in grant.consents:
        lines.append(f"Căn cứ Văn bản đồng ý số {consent.letter_ref} của {consent.org.name}"
                     + (f" (vụ án {consent.case.number})" if consent.case else "") + ".")
    return lines


def _extracts(session: Session, request_id: int, state: IssuedState):
    return session.scalars(select(IssuedDocument).where(
        IssuedDocument.request_id == request_id, IssuedDocument.kind == IssuedKind.EXTRACT,
        IssuedDocument.state == state).order_by(IssuedDocument.id)).all()


def documents_of(session: Session, request_id: int) -> list[IssuedDocument]:
    """Every document issued for a request, oldest first."""
    return list(session.scalars(select(IssuedDocument).where(
        IssuedDocument.request_id == request_id).order_by(IssuedDocument.id)))


def preparation_among(documents: list[IssuedDocument]) -> IssuedDocument | None:
    """The newest extract awaiting release among a request's documents, if any."""
    prepared = [d for d in documents
                if d.kind is IssuedKind.EXTRACT and d.state is IssuedState.PREPARED]
    return prepared[-1] if prepared else None


def release_extract(session: Session, flow: kernel.Workflow, settings: ExtractSettings,
                    actor: Actor, request_id: int, *, document_id: int, sha256: str,
                    valid_days: int | None = None, download_limit: int | None = None,
                    named: list[str] | None = None, expected_version: int | None = None
                    ) -> IssuedDocument:
    """Release the previewed extract: only if it is byte for byte the one previewed."""
    request = kernel.open_request(session, actor, request_id, expected_version)
    document = _lock_document(session, document_id)
    if document is None or document.request_id != request.id \
            or document.kind is not IssuedKind.EXTRACT:
        raise NotFound(N_("No such document."))
    if document.state is not IssuedState.PREPARED:
        raise Conflict(N_("This preview is no longer current: prepare the extract again."))
    if (sha256 or "").strip().lower() != document.sha256:
        raise Conflict(N_("The document is not the one you previewed; nothing was released."))
    days = settings.valid_days if valid_days is None else valid_days
    limit = settings.download_limit if download_limit is None else download_limit
    if not 1 <= days <= settings.max_valid_days:
        raise InvalidInput(N_("The validity must be between 1 and %(max)s days."),
                           max=settings.max_valid_days)
    if not 1 <= limit <= settings.max_download_limit:
        raise InvalidInput(N_("The download limit must be between 1 and %(max)s."),
                           max=settings.max_download_limit)
    named_ids = _named_users(session, request, named or [])
    decisions.release(session, flow, actor, request_id, expected_version=expected_version)
    if request.state is not RequestState.RELEASED:
        # The case stage changed: a new consent is needed, which may change what is granted.
        document.state = IssuedState.SUPERSEDED
        return document
    document.state = IssuedState.RELEASED
    document.released_at, document.released_by_id = actor.now, actor.user.id
    document.valid_from = actor.today
    document.valid_until = actor.today + dt.timedelta(days=days)
    document.download_limit = limit
    document.named_json = json.dumps(named_ids)
    audit.record(session, actor, "extract.release", object_type="document",
                 object_id=document.id, person_id=request.subject_person_id,
                 details={"request": request.number, "sha256": document.sha256,
                          "valid_until": document.valid_until.isoformat(),
                          "download_limit": limit, "named": named_ids})
    session.flush()
    return document


def _lock_document(session: Session, document_id: int) -> IssuedDocument | None:
    """The document with its file, freshly read, its row locked until the transaction ends."""
    # The file is deferred for lists; those who lock one document (to download, release or
    # revoke it) read the file in the same statement.
    return session.execute(select(IssuedDocument).where(IssuedDocument.id == document_id)
                           .options(undefer(IssuedDocument.pdf))
                           .with_for_update(key_share=True)
                           .execution_options(populate_existing=True)).scalar_one_or_none()


def _named_users(session: Session, request: AccessRequest, usernames: list[str]) -> list[int]:
    ids: list[int] = []
    for username in {u.strip() for u in usernames if u.strip()}:
        user = session.scalars(select(User).where(User.username == username)).first()
        if user is None or not user.active:
            raise InvalidInput(N_("There is no active account %(username)s."), username=username)
        if user.id != request.requester_id:
            ids.append(user.id)
    return sorted(ids)


def preview(session: Session, actor: Actor, document_id: int) -> IssuedDocument:
    """The releaser looks at the exact document before releasing it (audited)."""
    user = actor.user
    document = session.get(IssuedDocument, document_id)
    if user is None or document is None or document.kind is not IssuedKind.EXTRACT \
            or not can_manage_document(session, user, document, actor.today):
        raise NotFound(N_("No such document."))
    if document.pdf is None:
        raise Gone(N_("The file was purged after the retention period."))
    audit.record(session, actor, "extract.preview", object_type="document",
                 object_id=document.id, person_id=document.request.subject_person_id,
                 details={"sha256": document.sha256})
    return document


def download(session: Session, actor: Actor, document_id: int) -> IssuedDocument:
    """Hand the released extract to its recipient, within the window and the limit (audited).
    The row is locked so concurrent downloads cannot pass the limit together."""
    document = _lock_document(session, document_id)
    if document is None or document.kind is not IssuedKind.EXTRACT \
            or not can_download(actor.user, document) \
            or document.state not in (IssuedState.RELEASED, IssuedState.REVOKED):
        audit.record(session, actor, "extract.download", outcome=Outcome.DENIED,
                     object_type="document", object_id=document_id)
        raise NotFound(N_("No such document."))
    problem = _unavailable(document, actor.today)
    if problem is not None:
        audit.record(session, actor, "extract.download", outcome=Outcome.DENIED,
                     object_type="document", object_id=document.id,
                     details={"reason": problem.message})
        raise problem
    document.downloads += 1
    audit.record(session, actor, "extract.download", object_type="document",
                 object_id=document.id, person_id=document.request.subject_person_id,
                 details={"sha256": document.sha256, "count": document.downloads,
                          "limit": document.download_limit})
    session.flush()
    return document


def _unavailable(document: IssuedDocument, today: dt.date) -> DomainError | None:
    if document.state is IssuedState.REVOKED:
        return Gone(N_("This extract was revoked: %(reason)s"),
                    reason=document.revoke_reason or "")
    if document.valid_until is not None and today > document.valid_until:
        return Gone(N_("This extract could be downloaded until %(date)s."),
                    date=document.valid_until)
    if document.download_limit is not None and document.downloads >= document.download_limit:
        return Gone(N_("The download limit (%(limit)s) has been reached."),
                    limit=document.download_limit)
    if document.pdf is None:
        return Gone(N_("The file was purged after the retention period."))
    return None


def revoke(session: Session, actor: Actor, request_id: int, document_id: int, *,
           reason: str, expected_version: int | None = None) -> IssuedDocument:
    """Withdraw an extract of the request: it can no longer be downloaded and its verification
    says so."""
    user = actor.user
    request = kernel.open_request(session, actor, request_id, expected_version)
    document = _lock_document(session, document_id)
    if document is None or not can_revoke(session, user, request, document, actor.today):
        raise NotFound(N_("No such document."))
    if document.state not in (IssuedState.RELEASED, IssuedState.PREPARED):
        raise Conflict(N_("Only a prepared or released document can be revoked."))
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise InvalidInput(N_("Say why the extract is revoked (at least 10 characters)."))
    document.state = IssuedState.REVOKED
    document.revoked_at, document.revoked_by_id = actor.now, user.id
    document.revoke_reason = reason[:2000]
    audit.record(session, actor, "document.revoke", object_type="document",
                 object_id=document.id, person_id=document.request.subject_person_id,
                 purpose=reason, details={"number": document.number, "sha256": document.sha256})
    session.flush()
    return document


def purge(session: Session, actor: Actor, retention_days: int | None) -> int:
    """Drop the files of documents older than the retention; their register entry, hash and
    verification stay. Returns how many files were purged."""
    if retention_days is None:
        return 0
    cutoff = actor.now - dt.timedelta(days=retention_days)
    old = session.scalars(select(IssuedDocument).where(
        IssuedDocument.pdf.is_not(None), IssuedDocument.created_at < cutoff)
        .with_for_update(key_share=True)).all()
    for document in old:
        document.pdf, document.purged_at = None, actor.now
        audit.record(session, actor, "document.purge", object_type="document",
                     object_id=document.id, details={"number": document.number,
                                                     "sha256": document.sha256,
                                                     "retention_days": retention_days})
    session.flush()
    return len(old)


# --- letters -------------------------------------------------------------------------------


def issue_letters(session: Session, settings: ExtractSettings, actor: Actor,
                  request_id: int) -> list[IssuedDocument]:
    """Issue the written notices the request's decisions call for and do not have yet: a
    refusal notice per refusal, a notice per return for supplement, a letter per consent."""
    request = session.get(AccessRequest, request_id)
    if request is None:
        return []
    have = {(d.kind, d.contents.get("ref")) for d in documents_of(session, request_id)}
    issued = []
    for step in request.steps:
        if step.kind is StepKind.CONSENT and step.outcome is StepOutcome.GRANTED:
            kind = IssuedKind.CONSENT
        elif step.outcome is StepOutcome.REFUSED:
            kind = IssuedKind.REFUSAL
        else:
            continue
        if (kind, f"step:{step.id}") not in have:
            issued.append(_step_letter(session, settings, actor, request, step, kind))
    for moved in request.transitions:
        if moved.trigger == "return_for_supplement" \
                and (IssuedKind.RETURN, f"transition:{moved.id}") not in have:
            issued.append(_return_letter(session, settings, actor, request, moved))
    return issued


def _step_letter(session, settings, actor, request: AccessRequest, step: RequestStep,
                 kind: IssuedKind) -> IssuedDocument:
    addressee = request.requester_org.name
    if kind is IssuedKind.CONSENT:
        approval = next((s for s in request.steps if s.kind is StepKind.APPROVAL), None)
        addressee = approval.org.name if approval else request.requester_org.name
    reason = ""
    if step.reason_code:
        reason = vi(decisions.REFUSAL_REASONS[step.reason_code])
    granted = step.granted if step.granted is not None else request.categories

    def context(number: str, code: str) -> dict:
        return {"addressee": addressee, "requester_org": request.requester_org.name,
                "submitted": short_date((request.submitted_at or request.created_at).date()),
                "subject": _subject(request), "reason": reason,
                "reason_text": step.reason_text or "", "letter_ref": step.letter_ref or "",
                "case": step.case.number if step.case else "",
                "granted": [vi(RequestCategory(c).label) for c in granted],
                "expires_on": short_date(step.expires_on) if step.expires_on else "",
                "signer": step.decided_by.full_name if step.decided_by else ""}

    return _issue(session, settings, actor, request=request, kind=kind, org=step.org,
                  context=context, recipient=None, recipient_name=addressee,
                  recipient_org=addressee, state=IssuedState.RELEASED,
                  contents={"ref": f"step:{step.id}"}, step_id=step.id)


def _return_letter(session, settings, actor, request: AccessRequest,
                   moved: RequestTransition) -> IssuedDocument:
    org = moved.actor.organisation if moved.actor else request.requester_org
    addressee = request.requester_org.name

    def context(number: str, code: str) -> dict:
        return {"addressee": addressee, "requester_org": addressee,
                "submitted": short_date((request.submitted_at or request.created_at).date()),
                "subject": _subject(request), "reason_text": moved.reason or "",
                "signer": moved.actor.full_name if moved.actor else ""}

    return _issue(session, settings, actor, request=request, kind=IssuedKind.RETURN, org=org,
                  context=context, recipient=None, recipient_name=addressee,
                  recipient_org=addressee, state=IssuedState.RELEASED,
                  contents={"ref": f"transition:{moved.id}"})


def _subject(request: AccessRequest) -> str:
    if request.subject_person is not None:
        return (f"{request.subject_person.full_name}, sinh ngày "
                f"{short_date(request.subject_person.birth_date)}")
    return request.statistical_question or ""


def letter(session: Session, actor: Actor, document_id: int) -> IssuedDocument:
    """A letter of the workflow, for anyone who may see its request (audited)."""
    document = session.get(IssuedDocument, document_id)
    if document is None or document.kind is IssuedKind.EXTRACT or actor.user is None \
            or not can_view(session, actor.user, document.request, actor.today):
        raise NotFound(N_("No such document."))
    if document.pdf is None:
        raise Gone(N_("The file was purged after the retention period."))
    audit.record(session, actor, "document.download", object_type="document",
                 object_id=document.id, details={"kind": document.kind.value,
                                                 "sha256": document.sha256})
    return document


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
    """Look a verification code up (audited, without login)."""
    wanted = normalise_code(code)
    document = session.scalars(select(IssuedDocument).where(
        IssuedDocument.code == wanted)).first() if len(wanted) == 19 else None
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
    return FileCheck(not problems, tuple(problems), document, signature)
