"""Extracts (Decree 121/2017 Arts. 12, 18): prepared from what was granted, previewed by the
approving body, released to named users for a limited time and number of downloads, revoked;
issued originals are kept, drafts never issued are dropped after the retention period."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from workflow.audit import chain as audit
from workflow.audit.chain import Outcome
from workflow.context import Actor
from workflow.documents import states
from workflow.documents.citations import DECREE, art12_point
from workflow.documents.contents import granted_contents, included_secrecy, split_parts
from workflow.documents.enums import IssuedKind, IssuedState
from workflow.documents.issuing import (
    ExtractSettings,
    _addressee,
    _filer,
    _lock_document,
    _period,
    _recipient,
    issue_document,
    issue_draft,
)
from workflow.documents.secrets import register_secret, secrets_law
from workflow.documents.wording import short_date
from workflow.enums import Secrecy
from workflow.errors import (
    Conflict,
    Forbidden,
    Gone,
    InvalidInput,
    NotFound,
)
from workflow.i18n import N_
from workflow.jobs import kinds as job_kinds
from workflow.jobs import runs as jobs
from workflow.models import (
    AccessRequest,
    AuditEntry,
    IssuedDocument,
    Job,
    Organisation,
    User,
)
from workflow.requests import decisions, kernel, queries
from workflow.requests.enums import RequestCategory, RequestState, SubjectKind
from workflow.requests.policy import (
    can_fire,
    can_manage_document,
    can_open_extract,
    can_revoke,
    clearance_refusal,
    document_access,
    download_refusal,
    require_official,
    require_signer,
)

# About 16 pages of table rows: a longer extract is rendered in parts of this size and joined,
# so its memory stays that of one part (see bench/extract_bench.py).
PART_LINES = 400
# Lines of an extract's page, to tell a long extract before it is rendered.
PAGE_LINES = 25


@dataclass(frozen=True)
class _Content:
    """What an extract of a request says today, before its number."""

    context: Callable[[str, str], dict]
    parts: list
    level: Secrecy
    copies: int | None
    issuer: Organisation
    contents: dict


def _content(session: Session, settings: ExtractSettings, actor: Actor,
             request: AccessRequest) -> _Content:
    grant, sections, withheld = granted_contents(request, actor.today,
                                                 settings.rules.on(actor.today))
    person = request.subject_person
    own = request.on_behalf_of_id == person.id  # the person's own request: redacted for them
    level = included_secrecy(sections)
    # A secret extract goes out in a fixed number of numbered copies, printed on it.
    copies = settings.secret_download_limit if level is not Secrecy.NONE else None

    def context(number: str, code: str) -> dict:
        return {"subject_name": person.full_name, "subject_birth": short_date(person.birth_date),
                "period": _period(grant.period_from, grant.period_to),
                "basis": _basis(session, request, grant), "purpose": request.purpose,
                "withheld": withheld,
                "addressee": _addressee(request),
                "own": own,
                "secret_copies": copies, "secrets_law": secrets_law(actor.today)}

    return _Content(context, split_parts(sections, PART_LINES), level, copies,
                    grant.approval.org if grant.approval else request.requester_org,
                    {"granted": list(grant.categories),
                     "period": [grant.period_from, grant.period_to],
                     "secrecy": grant.secrecy.value, "withheld": withheld, "copies": copies})


def prepare_extract(session: Session, settings: ExtractSettings, actor: Actor,
                    request_id: int, *, expected_version: int | None = None,
                    job: Job | None = None, progress: jobs.Progress | None = None
                    ) -> IssuedDocument | Job:
    """Produce the extract of an approved request as a draft for the releaser to read: no
    number, no verification code, no signature yet (they come at release, so a superseded
    draft leaves no hole in the register); an earlier draft not yet released is superseded.
    A long extract is produced by a job off the request path: its Job is returned, and the
    job runs this again as the same user (`job`), every check asked again then."""
    request = kernel.open_request(session, actor, request_id, expected_version)
    require_official(actor.user)
    if request.state is not RequestState.APPROVED:
        raise Conflict(N_("An extract can be prepared only for an approved request."))
    if not can_fire(session, actor, request, "release"):
        raise Forbidden(N_("You may not release this request."))
    require_signer(actor.user)
    if request.subject_kind is not SubjectKind.PERSON or request.subject_person is None:
        raise InvalidInput(N_("Statistical requests are answered without a record extract."))
    content = _content(session, settings, actor, request)
    if (refusal := clearance_refusal(actor.user, content.level)) is not None:
        raise refusal
    if job is None:
        _refuse_while_busy(session, request.id)
        pages = sum(s.size for part in content.parts for s in part) // PAGE_LINES + 1
        if _long(settings, pages):
            return _queued(session, actor, request, job_kinds.PREPARE, len(content.parts))
    name, org_name = _recipient(request)
    for old in _extracts(session, request.id, IssuedState.PREPARED):
        states.LIFECYCLE.fire(old, "supersede")
    document = issue_document(session, settings, actor, request=request,
                              kind=IssuedKind.EXTRACT, org=content.issuer,
                              context=content.context, recipient=request.requester,
                              signed_by=actor.user, recipient_name=name, recipient_org=org_name,
                              state=IssuedState.PREPARED, secrecy=content.level,
                              contents=content.contents, parts=content.parts,
                              progress=progress)
    audit.record(session, actor, "extract.prepare", object_type="request", object_id=request.id,
                 person_id=request.subject_person_id,
                 details={"document": document.id, "sha256": document.sha256}
                 | ({"job": job.id} if job is not None else {}))
    if job is not None:
        job.document_id = document.id
    return document


def _long(settings: ExtractSettings, pages: int) -> bool:
    """Whether an extract of so many pages is produced by a job rather than in the request."""
    return settings.queue_over_pages is not None and pages > settings.queue_over_pages


def _refuse_while_busy(session: Session, request_id: int) -> None:
    if jobs.active(session, request_id) is not None:
        raise Conflict(N_("The extract of this request is being produced; nothing else can be "
                          "done with it until that is finished."))


def _queued(session: Session, actor: Actor, request: AccessRequest, kind: str, parts: int, *,
            document_id: int | None = None, params: dict | None = None) -> Job:
    """The job that does the act off the request path, and the audit entry that it was asked."""
    job = jobs.submit(session, actor, kind, request_id=request.id, document_id=document_id,
                      params=params, parts_total=parts)
    audit.record(session, actor, "extract.queue", object_type="request", object_id=request.id,
                 person_id=request.subject_person_id,
                 details={"job": job.id, "kind": kind, "parts": parts}
                 | ({"document": document_id} if document_id else {}))
    return job


def _basis(session: Session, request: AccessRequest, grant) -> list[str]:
    lines = [f"Căn cứ Phiếu đề nghị số {request.number} ngày "
             f"{short_date((request.submitted_at or request.created_at).date())} "
             f"của {_filer(request)}."]
    if grant.approval is not None:
        lines.append(f"Căn cứ ý kiến phê duyệt của {grant.approval.org.name} ngày "
                     f"{short_date(grant.approval.decided_at.date())} "
                     f"({art12_point(request.requester_org)} {DECREE}).")
    else:
        lines.append("Căn cứ điểm a khoản 3 Điều 12 Nghị định số 121/2017/NĐ-CP (thông tin "
                     "thuộc phạm vi quản lý của cơ quan đề nghị).")
    # The case is named only where its part was granted: a withheld part leaves no trace.
    case_granted = RequestCategory.CASE.value in grant.categories
    letters = {d.step_id: d for d in documents_of(session, request.id)
               if d.kind is IssuedKind.CONSENT}
    for consent in grant.consents:
        issued = letters.get(consent.id)
        if consent.letter_ref:
            what = f"Văn bản đồng ý số {consent.letter_ref}"
        elif issued is not None:
            what = f"Văn bản số {issued.number} ngày {short_date(issued.created_at.date())}"
        else:  # decided where no letters are issued (a flow without notices)
            what = f"ý kiến đồng ý ngày {short_date(consent.decided_at.date())}"
        lines.append(f"Căn cứ {what} của {consent.org.name}"
                     + (f" (vụ án {consent.case.number})" if consent.case and case_granted
                        else "") + ".")
    return lines


def _extracts(session: Session, request_id: int, state: IssuedState):
    return session.scalars(select(IssuedDocument).where(
        IssuedDocument.request_id == request_id, IssuedDocument.kind == IssuedKind.EXTRACT,
        IssuedDocument.state == state).order_by(IssuedDocument.id)).all()


def documents_of(session: Session, request_id: int) -> list[IssuedDocument]:
    """Every document issued for a request, oldest first."""
    return list(session.scalars(select(IssuedDocument).where(
        IssuedDocument.request_id == request_id).order_by(IssuedDocument.id)))


def visible_documents(session: Session, actor: Actor, request_id: int) -> list[IssuedDocument]:
    """The documents of a request the actor may see (the request's own gate, audited), each
    with `access`: what they may do with it (policy.document_access)."""
    request = queries.get_request(session, actor, request_id)
    shown = []
    for document in documents_of(session, request.id):
        document.access = document_access(session, actor.user, document, actor.today)
        if document.access is not None:
            shown.append(document)
    return shown


def preparation_among(documents: list[IssuedDocument]) -> IssuedDocument | None:
    """The newest extract awaiting release among a request's documents, if any."""
    prepared = [d for d in documents
                if d.kind is IssuedKind.EXTRACT and d.state is IssuedState.PREPARED]
    return prepared[-1] if prepared else None


def release_extract(session: Session, flow: kernel.Workflow, settings: ExtractSettings,
                    actor: Actor, request_id: int, *, document_id: int, sha256: str,
                    valid_days: int | None = None, download_limit: int | None = None,
                    named: list[str] | None = None, expected_version: int | None = None,
                    job: Job | None = None, progress: jobs.Progress | None = None
                    ) -> IssuedDocument | Job:
    """Release the previewed extract: only if it is byte for byte the one previewed. A long
    extract sealed by the body alone is numbered, rendered and signed by a job (returned), which
    runs this again as the same user; one signed with the official's own token is released
    here, in the request that carries its PIN, for a PIN never leaves the request."""
    if job is not None and (done := _released_by_job(session, actor, job)) is not None:
        return done  # this job's work, done by an earlier run of it: never numbered twice
    request = kernel.open_request(session, actor, request_id, expected_version)
    require_official(actor.user)
    document = _lock_document(session, document_id)
    if document is None or document.request_id != request.id \
            or document.kind is not IssuedKind.EXTRACT:
        raise NotFound(N_("No such document."))
    if document.state is not IssuedState.PREPARED:
        raise Conflict(N_("This preview is no longer current: prepare the extract again."))
    if (sha256 or "").strip().lower() != document.sha256:
        raise Conflict(N_("The document is not the one you previewed; nothing was released."))
    if not previewed_by(session, actor, document):
        raise Conflict(N_("Open the preview of the extract and read it first: only a document "
                          "its releaser has opened is released."))
    days = settings.valid_days if valid_days is None else valid_days
    limit = settings.download_limit if download_limit is None else download_limit
    copies = document.contents.get("copies")
    if document.secrecy is not Secrecy.NONE:
        limit = _secret_handling(document, copies, download_limit, named)
    if not 1 <= days <= settings.max_valid_days:
        raise InvalidInput(N_("The validity must be between 1 and %(max)s days."),
                           max=settings.max_valid_days)
    if not 1 <= limit <= settings.max_download_limit:
        raise InvalidInput(N_("The download limit must be between 1 and %(max)s."),
                           max=settings.max_download_limit)
    named_ids = _named_users(session, request, named or [])
    require_signer(actor.user)
    if (refusal := clearance_refusal(actor.user, document.secrecy)) is not None:
        raise refusal
    if job is None:
        _refuse_while_busy(session, request.id)
        if actor.pin is None and _long(settings, document.pages):
            return _queued(session, actor, request, job_kinds.RELEASE,
                           len(_content(session, settings, actor, request).parts),
                           document_id=document.id, params={
                               "sha256": document.sha256, "valid_days": valid_days,
                               "download_limit": download_limit, "named": named or [],
                               "expected_version": expected_version})
    decisions.release(session, flow, actor, request_id, expected_version=expected_version)
    if request.state is not RequestState.RELEASED:
        # The case stage changed: a new consent is needed, which may change what is granted.
        states.LIFECYCLE.fire(document, "supersede")
        return document
    content = _content(session, settings, actor, request)
    draft_sha256 = document.sha256
    issue_draft(session, settings, actor, document, context=content.context,
                parts=content.parts, progress=progress)
    states.LIFECYCLE.fire(document, "release")
    document.released_at, document.released_by_id = actor.now, actor.user.id
    document.valid_from = actor.today
    document.valid_until = actor.today + dt.timedelta(days=days)
    document.download_limit = limit
    document.named_json = json.dumps(named_ids)
    if document.secrecy is not Secrecy.NONE:
        register_secret(session, actor, document, limit)
    audit.record(session, actor, "extract.release", object_type="document",
                 object_id=document.id, person_id=request.subject_person_id,
                 details={"request": request.number, "sha256": document.sha256,
                          "number": document.number, "previewed_sha256": draft_sha256,
                          "valid_until": document.valid_until.isoformat(),
                          "download_limit": limit, "named": named_ids})
    session.flush()
    return document


def _released_by_job(session: Session, actor: Actor, job: Job) -> IssuedDocument | None:
    """The extract a release job names, if an earlier run of it released it (read locked, so
    that a second run waits for the first and then finds its work done)."""
    document = _lock_document(session, job.document_id)
    if document is not None and document.request_id == job.request_id \
            and document.state is IssuedState.RELEASED \
            and document.released_by_id == actor.user.id and document.released_at is not None \
            and document.released_at >= job.created_at:
        return document
    return None


def _secret_handling(document: IssuedDocument, copies: int | None, download_limit: int | None,
                     named: list[str] | None) -> int:
    """A secret extract goes to its named recipient alone, in the copies printed on it."""
    if any(name.strip() for name in named or []):
        raise InvalidInput(N_("A secret document is released to its named recipient only "
                              "(%(name)s): it cannot be delivered to other users."),
                           name=document.recipient_name)
    if copies is None or (download_limit is not None and download_limit != copies):
        raise InvalidInput(N_("A secret document is released in the number of copies printed "
                              "on it (%(copies)s): prepare it again to change it."),
                           copies=copies or 0)
    return copies


def previewed_by(session: Session, actor: Actor, document: IssuedDocument) -> bool:
    """Whether this releaser opened this very document's preview (its audited reading)."""
    return session.scalar(select(AuditEntry.seq).where(
        AuditEntry.action == "extract.preview", AuditEntry.actor_id == actor.user.id,
        AuditEntry.object_type == "document", AuditEntry.object_id == str(document.id),
        AuditEntry.outcome == Outcome.SUCCESS).limit(1)) is not None


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
    require_official(user)
    document = session.get(IssuedDocument, document_id)
    if user is None or document is None or document.kind is not IssuedKind.EXTRACT \
            or not can_manage_document(session, user, document, actor.today):
        raise NotFound(N_("No such document."))
    if not can_open_extract(session, user, document, actor.today):
        raise Forbidden(N_("An issued secret extract goes to its named recipient alone, in its "
                           "counted copies; and no one opens a document above their "
                           "clearance."))
    if document.pdf is None:
        raise Gone(N_("The file was purged after the retention period."))
    audit.record(session, actor, "extract.preview", object_type="document",
                 object_id=document.id, person_id=document.request.subject_person_id,
                 details={"sha256": document.sha256})
    return document


def download(session: Session, actor: Actor, document_id: int) -> IssuedDocument:
    """Hand the released extract to its recipient, within the window and the limit (audited;
    each download of a secret extract is one of its numbered copies). The row is locked so
    concurrent downloads cannot pass the limit together."""
    document = _lock_document(session, document_id)
    if document is None or document.kind is not IssuedKind.EXTRACT \
            or document_access(session, actor.user, document, actor.today) != "download":
        audit.record(session, actor, "extract.download", outcome=Outcome.DENIED,
                     object_type="document", object_id=document_id)
        raise NotFound(N_("No such document."))
    problem = download_refusal(document, actor.today)
    if problem is not None:
        audit.record(session, actor, "extract.download", outcome=Outcome.DENIED,
                     object_type="document", object_id=document.id,
                     details={"reason": problem.message})
        raise problem
    document.downloads += 1
    details = {"sha256": document.sha256, "count": document.downloads,
               "limit": document.download_limit}
    if document.secrecy is not Secrecy.NONE:  # a numbered copy of a secret document
        details |= {"secrecy": document.secrecy.value,
                    "copy": f"{document.downloads}/{document.download_limit}"}
    audit.record(session, actor, "extract.download", object_type="document",
                 object_id=document.id, person_id=document.request.subject_person_id,
                 details=details)
    session.flush()
    return document


def revoke(session: Session, actor: Actor, request_id: int, document_id: int, *,
           reason: str, expected_version: int | None = None) -> IssuedDocument:
    """Withdraw an extract of the request: it can no longer be downloaded and its verification
    says so."""
    user = actor.user
    request = kernel.open_request(session, actor, request_id, expected_version)
    require_official(user)
    document = _lock_document(session, document_id)
    if document is None or not can_revoke(session, user, request, document, actor.today):
        raise NotFound(N_("No such document."))
    if document.state not in (IssuedState.RELEASED, IssuedState.PREPARED):
        raise Conflict(N_("Only a prepared or released document can be revoked."))
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise InvalidInput(N_("Say why the extract is revoked (at least 10 characters)."))
    states.LIFECYCLE.fire(document, "revoke")
    document.revoked_at, document.revoked_by_id = actor.now, user.id
    document.revoke_reason = reason[:2000]
    audit.record(session, actor, "document.revoke", object_type="document",
                 object_id=document.id, person_id=document.request.subject_person_id,
                 purpose=reason, details={"number": document.number, "sha256": document.sha256})
    session.flush()
    return document


def purge(session: Session, actor: Actor, retention_days: int | None) -> int:
    """Drop the files of drafts never issued (previews superseded or withdrawn before release)
    older than the retention; their register entry, hash and verification stay. Issued
    documents are records (Decree 30/2020, the Archives Law): their originals are kept, and what
    expires is the recipient's right to download, not the file. Returns how many were dropped."""
    if retention_days is None:
        return 0
    cutoff = actor.now - dt.timedelta(days=retention_days)
    never_issued = or_(IssuedDocument.state == IssuedState.SUPERSEDED,
                       (IssuedDocument.state == IssuedState.REVOKED)
                       & IssuedDocument.released_at.is_(None))
    old = session.scalars(select(IssuedDocument).where(
        IssuedDocument.pdf.is_not(None), IssuedDocument.created_at < cutoff,
        IssuedDocument.kind == IssuedKind.EXTRACT, never_issued)
        .with_for_update(key_share=True)).all()
    for document in old:
        document.pdf, document.purged_at = None, actor.now
        audit.record(session, actor, "document.purge", object_type="document",
                     object_id=document.id, details={"number": document.number,
                                                     "sha256": document.sha256,
                                                     "state": document.state.value,
                                                     "retention_days": retention_days})
    session.flush()
    return len(old)
