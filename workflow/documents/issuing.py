"""Issuing one document: its settings, the number from the outgoing register, the verification
code and QR, rendering from its template and signing with the issuing body's key."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import segno
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from workflow.audit import chain as audit
from workflow.context import Actor
from workflow.documents import longterm, pki, seals, tokens
from workflow.documents.authority import signature_lines
from workflow.documents.citations import citation_values
from workflow.documents.codes import new_code
from workflow.documents.enums import IssuedKind, IssuedState
from workflow.documents.register import next_serial, record_template
from workflow.documents.rendering import Renderer
from workflow.documents.secrets import mark_of
from workflow.documents.wording import short_date, vi
from workflow.enums import Secrecy
from workflow.errors import (
    Conflict,
    DocumentFailed,
    DomainError,
)
from workflow.i18n import N_
from workflow.models import (
    AccessRequest,
    IssuedDocument,
    Organisation,
    SigningCredential,
    User,
)
from workflow.requests.rules import Rulebook

# The type part of a number's symbol (Decree 30/2020, Appendix III: Thông báo is TB); a công văn
# (the consent letter) has none: its symbol is the issuer's abbreviation alone.
SYMBOLS = {IssuedKind.EXTRACT: "PCCTT", IssuedKind.REFUSAL: "TB", IssuedKind.RETURN: "TB",
           IssuedKind.CONSENT: None}
TEMPLATES = {IssuedKind.EXTRACT: "extract.html", IssuedKind.REFUSAL: "refusal.html",
             IssuedKind.RETURN: "return_notice.html", IssuedKind.CONSENT: "consent_letter.html"}
FOOTER_NOTE = ("Chỉ sử dụng đúng mục đích; không cung cấp, để lộ; phát hiện sai sót phải báo "
               "ngay (Điều 18 Nghị định 121/2017/NĐ-CP).")


def confidential_line(request_number: str) -> str:
    """Art. 18 §2 in full, and how its recipient reports an error in the data: from the request
    page once signed in (the anonymous verification page takes no report; its address follows
    in the verification block)."""
    return ("Cơ quan, tổ chức, cá nhân khi được khai thác thông tin về thi hành tạm giữ, tạm giam "
            "có trách nhiệm sử dụng thông tin đúng mục đích, không được cung cấp, để lộ thông "
            "tin dưới bất kỳ hình thức nào và phải kịp thời thông báo cho cơ quan quản lý dữ "
            "liệu có thẩm quyền về những sai sót của dữ liệu được cung cấp (khoản 2 Điều 18 "
            "Nghị định số 121/2017/NĐ-CP). Phát hiện sai sót: người nhận đăng nhập hệ thống, "
            f"mở Phiếu đề nghị số {request_number}, mục «Văn bản», chọn «Báo sai sót dữ liệu»; "
            "cơ sở giam giữ quản lý hồ sơ kiểm tra, đính chính và trả lời người báo.")


# Where documents are verified when nothing says otherwise (`make run`'s address).
DEFAULT_BASE_URL = "http://127.0.0.1:5000"


@dataclass(frozen=True)
class ExtractSettings:
    """How documents are signed, where they are verified, and the release defaults and caps.

    `base_url` is the configured public address of the verification page; when it is not set,
    `serving_url` is asked where the application is being reached (the current request's, or
    the address it was told to serve on), and failing that `DEFAULT_BASE_URL`."""

    passphrase: str
    base_url: str | None = None
    serving_url: Callable[[], str | None] | None = None
    issue_dev_certificates: bool = True
    tsa_url: str | None = None  # an RFC 3161 authority; else the development one, if any
    retention_days: int | None = 365
    valid_days: int = 30
    download_limit: int = 3
    secret_download_limit: int = 2  # the numbered copies of a secret extract
    max_valid_days: int = 365
    max_download_limit: int = 20
    rules: Rulebook = field(default_factory=Rulebook)  # what documents cite, by their date
    signing_tokens: tokens.TokenSettings = field(default_factory=tokens.TokenSettings)
    # An extract of more pages than this is prepared and released by a job off the request
    # path (the page shows its progress); None: always within the request.
    queue_over_pages: int | None = None


_local = threading.local()


def renderer() -> Renderer:
    """One renderer per thread: its font configuration is reused, never shared by threads."""
    if not hasattr(_local, "renderer"):
        _local.renderer = Renderer()
    return _local.renderer


def public_base_url(settings: ExtractSettings) -> str:
    """The address documents point to: configured, else where the application is served."""
    base = settings.base_url or (settings.serving_url() if settings.serving_url else None)
    return (base or DEFAULT_BASE_URL).rstrip("/")


def crl_url(settings: ExtractSettings) -> str:
    """Where the development CA's revocation list is published (named in its certificates)."""
    return f"{public_base_url(settings)}/pki/ca.crl"


def verify_url(settings: ExtractSettings, code: str) -> str:
    """The public verification page of a code."""
    return f"{public_base_url(settings)}/verify/{code}"


def _qr(url: str) -> Markup:
    # segno writes trusted SVG markup of the URL's modules: nothing user-typed reaches it.
    return Markup(segno.make(url, error="m").svg_inline(scale=2, border=0))  # noqa: S704


def _governing_name(org: Organisation) -> str:
    """The body above the issuer in the header: the one that governs it administratively."""
    return org.governing.name if org.governing is not None else ""


def document_number(serial: int | None, kind: IssuedKind, org: Organisation) -> str:
    """'04/PCCTT-CAHN', '05/TB-CAHN'; a công văn '12/CSĐT-CAHN' (numbers under 10 with a 0);
    a draft (no serial yet) a blank before the symbol, which the register fills at issue."""
    issuer = org.abbreviation or org.code
    symbol = SYMBOLS[kind]
    given = f"{serial:02d}" if serial is not None else "\u00a0" * 6
    return f"{given}/{symbol}-{issuer}" if symbol else f"{given}/{issuer}"


def _place(org: Organisation) -> str:
    return org.province or "Hà Nội"


@dataclass(frozen=True)
class Signers:
    """Who signs a document: the official's own credential (when they have a token) and then
    the organisation's seal."""

    seal: SigningCredential
    person: SigningCredential | None


def _signers(session: Session, settings: ExtractSettings, actor: Actor, org: Organisation,
             signed_by: User | None) -> Signers:
    seal = pki.org_credential(session, org, settings.passphrase, actor.now,
                              issue_dev=settings.issue_dev_certificates,
                              crl_url=crl_url(settings))
    return Signers(seal, tokens.signing_person(session, settings.signing_tokens, actor, signed_by))


def _presentation(signers: Signers, org: Organisation, signed_by: User | None) -> dict:
    """The images the signatures show (Decree 30/2020, Appendix I)."""
    return {"seal_image": seals.image_markup(signers.seal, org.name, seal=True),
            "signature_image": seals.image_markup(
                signers.person, signed_by.full_name if signed_by else "", seal=False)}


def _sign(session: Session, settings: ExtractSettings, actor: Actor, pdf: bytes,
          org: Organisation, signers: Signers, *, reason: str, signer_name: str) -> bytes:
    """Sign with the official's own key (PAdES B-LT) when they have one, then with the
    organisation's seal, at B-LTA when a timestamp authority serves (else B-B)."""
    published = crl_url(settings)
    stamper = longterm.timestamper(session, settings.passphrase, actor.now,
                                   tsa_url=settings.tsa_url,
                                   dev=settings.issue_dev_certificates, crl_url=published)
    fetch = any(c is not None and c.source != "dev" for c in (signers.seal, signers.person))
    context = (longterm.signing_context(session, settings.passphrase, fetch=fetch)
               if stamper is not None else None)
    if signers.person is not None:
        with tokens.opened(settings.signing_tokens, signers.person, actor.pin or "") as own:
            pdf = pki.sign_pdf(pdf, own, reason=reason, location=_place(org), name=signer_name,
                               timestamper=stamper, context=context, archive=False)
    return pki.sign_pdf(pdf, pki.signer_for(signers.seal, settings.passphrase), reason=reason,
                        location=_place(org), name=org.name, timestamper=stamper,
                        context=context,
                        field_name="Seal" if signers.person is not None else "Signature")


# What a draft prints where its verification code will be.
DRAFT_CODE = "(cấp khi phát hành)"  # as long as a code: the draft breaks its pages the same
# What may differ between a previewed draft and the document issued from it: what issuing
# gives (number, code, date of issue) and who signs it (the releaser).
ISSUE_KEYS = frozenset({"number", "code", "verify_url", "qr", "date", "draft", "signer_lines",
                        "signer", "seal_image", "signature_image"})


def content_digest(values: dict, parts: list | None) -> str:
    """A hash of what a document says, leaving out what issuing gives it: a draft and the
    document issued from it have the same one, or the record changed in between."""
    said = {key: value for key, value in values.items() if key not in ISSUE_KEYS}
    return hashlib.sha256(json.dumps([said, parts], sort_keys=True, default=repr,
                                     ensure_ascii=False).encode()).hexdigest()


def _values(settings: ExtractSettings, request: AccessRequest, org: Organisation, *,
            recipient_name: str, recipient_org: str, signed_by: User | None,
            secrecy: Secrecy, today: dt.date, rule_version: str | None) -> dict:
    """What a document says besides its context: issuer, recipient, signer, mark, and the law
    in force on its date with the rule version its decision applied (else the request's)."""
    return citation_values(settings.rules, today, rule_version or request.rule_version,
                           request.requester_org) | {
            "issuer": org.name, "issuer_parent": _governing_name(org), "place": _place(org),
            "request_number": request.number,
            "confidential": confidential_line(request.number), "footer_note": FOOTER_NOTE,
            "recipient_name": recipient_name, "recipient_org": recipient_org,
            "signer_lines": signature_lines(signed_by, org),
            "signer": signed_by.full_name if signed_by else "",
            "secrecy_mark": mark_of(secrecy)}


def _given(settings: ExtractSettings, actor: Actor, kind: IssuedKind, org: Organisation,
           serial: int | None, code: str | None) -> dict:
    """What issuing prints: the number, the code, its address and QR, the date of issue; for a
    draft (no serial, no code) placeholders as long, so its pages break as the issued ones."""
    url = verify_url(settings, code or "0000-0000-0000-0000")
    return {"number": document_number(serial, kind, org), "code": code or DRAFT_CODE,
            "verify_url": url, "qr": _qr(url), "date": actor.today, "draft": serial is None}


def _produce(session: Session, settings: ExtractSettings, actor: Actor, *, template: str,
             values: dict, parts: list | None, org: Organisation, kind: IssuedKind,
             signers: Signers | None, progress: Callable[[int, int], None] | None = None):
    """Render (and sign) a document; any renderer or signer failure changes nothing."""
    render = renderer()
    try:
        rendered = (render.render_parts(template, values, parts, progress) if parts is not None
                    else render.render_pages(template, values))
        pdf = (_sign(session, settings, actor, rendered.pdf, org, signers,
                     reason=f"{vi(kind.label)} {values['number']}", signer_name=values["signer"])
               if signers is not None else rendered.pdf)
    except DomainError:
        raise
    except Exception as error:  # noqa: BLE001 - any renderer or signer failure is reported
        raise DocumentFailed(N_("The document could not be produced (%(error)s). Nothing was "
                                "changed: the request stays as it was."),
                             error=f"{type(error).__name__}: {str(error)[:200]}") from error
    version, source = render.template_version(template)
    record_template(session, version, template, source)
    return rendered, pdf, version


def _signed_contents(contents: dict, signers: Signers | None) -> dict:
    # The official's certificate is kept with the document, as the seal's is in its column.
    if signers is None or signers.person is None:
        return contents
    return contents | {"person_fingerprint": signers.person.fingerprint}


def issue_document(session: Session, settings: ExtractSettings, actor: Actor, *,
           request: AccessRequest, kind: IssuedKind, org: Organisation,
           context: Callable[[str, str], dict], recipient: User | None, recipient_name: str,
           recipient_org: str, state: IssuedState, contents: dict, signed_by: User | None,
           step_id: int | None = None, parts: list | None = None,
           secrecy: Secrecy = Secrecy.NONE, rule_version: str | None = None,
           progress: Callable[[int, int], None] | None = None) -> IssuedDocument:
    """Render and record one document: a released one (a letter) numbered and signed at once;
    a prepared one (an extract) as an unnumbered, unsigned draft for its releaser to read,
    numbered and signed when it is released (`issue_draft`). `signed_by` is the official
    whose decision it carries, printed with their authority and position as they stand today;
    `secrecy` is the highest level it holds, whose mark it carries; it cites the law in force on
    its date and the rule version its decision applied (`rule_version`, else the request's)."""
    draft = state is IssuedState.PREPARED
    values = _values(settings, request, org, recipient_name=recipient_name,
                     recipient_org=recipient_org, signed_by=signed_by, secrecy=secrecy,
                     today=actor.today, rule_version=rule_version)
    signers = None if draft else _signers(session, settings, actor, org, signed_by)
    if signers is not None:
        values |= _presentation(signers, org, signed_by)
    serial = None if draft else next_serial(session, org.id, actor.today.year)
    code = None if draft else new_code()
    values |= _given(settings, actor, kind, org, serial, code)
    values |= context(values["number"], values["code"])
    template = TEMPLATES[kind]
    rendered, pdf, version = _produce(
        session, settings, actor, template=template, values=values, parts=parts, org=org,
        kind=kind, signers=signers, progress=progress)
    contents = _signed_contents(contents, signers) | {"digest": content_digest(values, parts)}
    document = IssuedDocument(
        request_id=request.id, step_id=step_id, kind=kind, state=state, secrecy=secrecy,
        org_id=org.id, year=actor.today.year, serial=serial,
        number=None if draft else values["number"], code=code,
        template_version=version,
        signer_fingerprint=signers.seal.fingerprint if signers else None,
        sha256=hashlib.sha256(pdf).hexdigest(),
        signed_as="\n".join([*values["signer_lines"], values["signer"]]),
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
    if not draft:
        _audit_issue(session, actor, document, request, org, values)
    return document


def issue_draft(session: Session, settings: ExtractSettings, actor: Actor,
                document: IssuedDocument, *, context: Callable[[str, str], dict],
                parts: list | None, progress: Callable[[int, int], None] | None = None
                ) -> IssuedDocument:
    """Issue a previewed draft: the number from the register, a verification code, the date of
    issue and the releaser's signature, on exactly the content the draft showed (else Conflict:
    the record changed since the preview, and nothing is numbered)."""
    request, org = document.request, document.org
    values = _values(settings, request, org, recipient_name=document.recipient_name,
                     recipient_org=document.recipient_org, signed_by=actor.user,
                     secrecy=document.secrecy, today=actor.today, rule_version=None)
    values |= context("", "")
    if content_digest(values, parts) != document.contents.get("digest"):
        raise Conflict(N_("The record changed after this extract was prepared: prepare it "
                          "again and read the new preview; nothing was released."))
    signers = _signers(session, settings, actor, org, actor.user)
    values |= _presentation(signers, org, actor.user)
    serial, code = next_serial(session, org.id, actor.today.year), new_code()
    values |= _given(settings, actor, document.kind, org, serial, code)
    values |= context(values["number"], values["code"])
    template = TEMPLATES[document.kind]
    rendered, pdf, version = _produce(
        session, settings, actor, template=template, values=values, parts=parts, org=org,
        kind=document.kind, signers=signers, progress=progress)
    document.year, document.serial, document.number = actor.today.year, serial, values["number"]
    document.code = code
    document.template_version, document.signer_fingerprint = version, signers.seal.fingerprint
    document.contents_json = json.dumps(
        _signed_contents(document.contents, signers) | {"draft_sha256": document.sha256},
        ensure_ascii=False, default=str)
    document.sha256, document.size = hashlib.sha256(pdf).hexdigest(), len(pdf)
    document.pages, document.pdf = rendered.pages, pdf
    document.signed_as = "\n".join([*values["signer_lines"], values["signer"]])
    session.flush()
    _audit_issue(session, actor, document, request, org, values)
    return document


def _audit_issue(session: Session, actor: Actor, document: IssuedDocument,
                 request: AccessRequest, org: Organisation, values: dict) -> None:
    audit.record(session, actor, "document.issue", object_type="document",
                 object_id=document.id, person_id=request.subject_person_id,
                 details={"kind": document.kind.value, "number": document.number,
                          "year": document.year, "org": org.code, "request": request.number,
                          "sha256": document.sha256,
                          "template_version": document.template_version,
                          "pages": document.pages, "secrecy": document.secrecy.value,
                          "rule_version": values["rule_version"], "law": values["law"]})


# --- extracts ------------------------------------------------------------------------------


def _recipient(request: AccessRequest) -> tuple[str, str]:
    """Whom the extract is for: the requester and their body, or, for a detained person's own
    request, the person, who receives it through the facility that filed it."""
    if request.on_behalf_of is not None:
        return request.on_behalf_of.full_name, f"qua {request.requester_org.name}"
    return request.requester.full_name, request.requester_org.name


def _addressee(request: AccessRequest) -> str:
    """The "Kính gửi" line and the first "Nơi nhận"."""
    name, org_name = _recipient(request)
    return f"{name} ({org_name})" if request.on_behalf_of is not None else org_name


def _filer(request: AccessRequest) -> str:
    """Who asked, as the basis line names them."""
    if request.on_behalf_of is not None:
        return f"{request.on_behalf_of.full_name} (nộp qua {request.requester_org.name})"
    return request.requester_org.name


def _period(start: dt.date | None, end: dt.date | None) -> str:
    if start is None and end is None:
        return "toàn bộ thời gian có trong hồ sơ"
    return f"từ ngày {short_date(start)} đến ngày {short_date(end)}"


def _lock_document(session: Session, document_id: int) -> IssuedDocument | None:
    """The document with its file, freshly read, its row locked until the transaction ends."""
    if not 0 < document_id < 2**31:  # past what the column holds: none (PostgreSQL would fail)
        return None
    # The file is deferred for lists; those who lock one document (to download, release or
    # revoke it) read the file in the same statement.
    return session.execute(select(IssuedDocument).where(IssuedDocument.id == document_id)
                           .options(undefer(IssuedDocument.pdf))
                           .with_for_update(key_share=True)
                           .execution_options(populate_existing=True)).scalar_one_or_none()


def subject_line(request: AccessRequest) -> str:
    if request.subject_person is not None:
        return (f"{request.subject_person.full_name}, sinh ngày "
                f"{short_date(request.subject_person.birth_date)}")
    return request.statistical_question or ""
