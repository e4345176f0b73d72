"""A released extract read as data by its recipient's own system (the API): the same grant,
sections and withheld lines as the PDF (`contents.granted_contents`), under the download's
gates, counted against its download limit and audited as a download."""

from __future__ import annotations

from sqlalchemy.orm import Session

from workflow.audit import chain as audit
from workflow.audit.chain import Outcome
from workflow.context import Actor
from workflow.documents.contents import Section, granted_contents
from workflow.documents.enums import IssuedKind
from workflow.documents.extracts import _basis
from workflow.documents.issuing import ExtractSettings, _lock_document
from workflow.errors import Forbidden, NotFound
from workflow.i18n import N_
from workflow.models import IssuedDocument
from workflow.requests.policy import can_read_extract_data, document_access, download_refusal


def _section(section: Section) -> dict:
    return {"category": section.category, "title": section.title,
            "facts": [{"label": label, "value": value} for label, value in section.facts],
            "columns": section.head, "rows": section.rows,
            "empty": section.empty if not section.rows and not section.facts else None}


def _refused(session: Session, actor: Actor, document_id: int, reason: str | None = None):
    audit.record(session, actor, "extract.download", outcome=Outcome.DENIED,
                 object_type="document", object_id=document_id,
                 details={"format": "json", **({"reason": reason} if reason else {})})


def read_extract(session: Session, settings: ExtractSettings, actor: Actor,
                 document_id: int) -> dict:
    """The extract's contents as data for a recipient of the requesting body, while it may be
    downloaded (not revoked, not expired, a download left); each read is one download. The
    record is read as it stands within the released grant, capped at the document's own
    secrecy: what was classified since is withheld as on the PDF."""
    document = _lock_document(session, document_id)
    if document is None or document.kind is not IssuedKind.EXTRACT \
            or document_access(session, actor.user, document, actor.today) != "download":
        _refused(session, actor, document_id)
        raise NotFound(N_("No such document."))
    if not can_read_extract_data(actor.user, document):
        _refused(session, actor, document.id, "not as data")
        raise Forbidden(N_("This extract is handed over as its PDF only: a secret extract goes "
                           "out in its numbered copies, and as data only to the requesting "
                           "body."))
    problem = download_refusal(document, actor.today)
    if problem is not None:
        _refused(session, actor, document.id, problem.message)
        raise problem
    request = document.request
    released_on = document.valid_from or actor.today
    grant, sections, withheld = granted_contents(request, released_on,
                                                 settings.rules.on(released_on),
                                                 cap=document.secrecy)
    document.downloads += 1
    audit.record(session, actor, "extract.download", object_type="document",
                 object_id=document.id, person_id=request.subject_person_id,
                 details={"format": "json", "sha256": document.sha256,
                          "count": document.downloads, "limit": document.download_limit})
    session.flush()
    person = request.subject_person
    return {"document": _document(document),
            "request": {"id": request.id, "number": request.number,
                        "requester_reference": request.requester_reference},
            "subject": {"full_name": person.full_name, "birth_date": person.birth_date},
            "period": {"from": grant.period_from, "to": grant.period_to},
            "granted": list(grant.categories), "purpose": request.purpose,
            "basis": _basis(session, request, grant),
            "sections": [_section(s) for s in sections], "withheld": withheld,
            "read_at": actor.now}


def _document(document: IssuedDocument) -> dict:
    return {"id": document.id, "number": document.number, "sha256": document.sha256,
            "released_at": document.released_at, "valid_until": document.valid_until,
            "downloads": document.downloads, "download_limit": document.download_limit}
