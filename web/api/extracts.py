"""The releaser's acts on an extract over the API: prepare, preview, release and revoke, the
very service calls of the request's page, with their gates, audit and errors.

No token passes them, and each says so (403, `policy.official_refusal`): a token acts for a
system account, another body's software, and these are acts of an official of the issuing
body — the release issues a document numbered and signed under that person's signing
authority. The requester's side (the documents, the download, the letters, verification) is in
web/api/views.py."""

from __future__ import annotations

from web import db
from web.api.schemas import DecisionIn, DocumentOut, DraftOut, ErrorOut, ReleaseIn, RevokeIn
from web.api.views import PDF, _actor, _flow, _seen, bp
from web.documents.views import pdf_response, settings
from workflow.documents import extracts

OFFICIALS_ONLY = ("Refused to every token: preparing, previewing, releasing and revoking an "
                  "extract are acts of an official of the issuing body (a person signed in "
                  "with two factors), never of a system account.")


@bp.route("/requests/<int:request_id>/extract", methods=["POST"])
@bp.arguments(DecisionIn)
@bp.response(201, DraftOut)
@bp.alt_response(403, schema=ErrorOut, description=OFFICIALS_ONLY)
def prepare_extract(data, request_id: int):
    """Prepare the extract of an approved request as a draft for its releaser to read."""
    return extracts.prepare_extract(db.session(), settings(), _actor(), request_id,
                                    **_seen(data))


@bp.route("/documents/<int:document_id>/preview", methods=["GET"])
@bp.doc(responses=PDF)
@bp.alt_response(403, schema=ErrorOut, description=OFFICIALS_ONLY)
def preview_extract(document_id: int):
    """The exact draft its releaser is about to release (the reading the release asks for)."""
    return pdf_response(extracts.preview(db.session(), _actor(), document_id),
                        attachment=False)


@bp.route("/requests/<int:request_id>/extract/<int:document_id>/release", methods=["POST"])
@bp.arguments(ReleaseIn)
@bp.response(200, DocumentOut)
@bp.alt_response(403, schema=ErrorOut, description=OFFICIALS_ONLY)
def release_extract(data, request_id: int, document_id: int):
    """Release the previewed draft, numbered and signed, if it is byte for byte the one read."""
    return extracts.release_extract(db.session(), _flow(), settings(), _actor(), request_id,
                                    document_id=document_id, **_seen(data))


@bp.route("/requests/<int:request_id>/extract/<int:document_id>/revoke", methods=["POST"])
@bp.arguments(RevokeIn)
@bp.response(200, DocumentOut)
@bp.alt_response(403, schema=ErrorOut, description=OFFICIALS_ONLY)
def revoke_extract(data, request_id: int, document_id: int):
    """Revoke an extract: no more downloads, and its verification says so."""
    return extracts.revoke(db.session(), _actor(), request_id, document_id, **_seen(data))
