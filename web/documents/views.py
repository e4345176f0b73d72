"""Issued documents: the releaser's preview, the recipient's download, the workflow's letters,
and the public verification page (no sign-in; it says nothing of the record's content)."""

from __future__ import annotations

import datetime as dt

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import login_required
from werkzeug.datastructures import MultiDict

from forms.documents import VerifyForm
from web import db
from web.extensions import limiter
from web.security import actor
from workflow.documents import extracts, issuing, letters, longterm, secrets, verification
from workflow.enums import Secrecy
from workflow.models import IssuedDocument

bp = Blueprint("documents", __name__)


def settings() -> issuing.ExtractSettings:
    """The signing and release settings of this application."""
    return current_app.extensions["custody_documents"]


def pdf_response(document: IssuedDocument, *, attachment: bool) -> Response:
    """An issued PDF as sent to its reader, by the pages and the API alike."""
    disposition = "attachment" if attachment else "inline"
    name = (f"{document.request.number}-{document.kind.value}-{document.serial:02d}"
            if document.serial is not None else
            f"{document.request.number}-{document.kind.value}-du-thao")
    if attachment and document.secrecy is not Secrecy.NONE:  # the numbered copy handed out
        name += f"-ban-{document.downloads}-{document.download_limit}"
    name += ".pdf"
    return Response(document.pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'{disposition}; filename="{name}"',
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
        "X-Document-SHA256": document.sha256})


@bp.route("/documents/<int:document_id>/preview.pdf")
@login_required
def preview(document_id: int):
    """The exact extract the releaser is about to release."""
    return pdf_response(extracts.preview(db.session(), actor(), document_id), attachment=False)


@bp.route("/documents/<int:document_id>/download")
@login_required
def download(document_id: int):
    """The released extract, for its recipients only, within its window and limit."""
    return pdf_response(extracts.download(db.session(), actor(), document_id), attachment=True)


@bp.route("/documents/secret-register")
@login_required
def secret_register():
    """The register of secret documents sent out by the user's body and those under it."""
    year = request.args.get("year", type=int) or actor().today.year
    entries = secrets.secret_register(db.session(), actor(), year)
    return render_template("documents/secret_register.html", entries=entries, year=year)


@bp.route("/documents/<int:document_id>/letter.pdf")
@login_required
def letter(document_id: int):
    """A notice or letter of the workflow, for those who may see the request."""
    return pdf_response(letters.letter(db.session(), actor(), document_id), attachment=False)


@bp.route("/pki/ca.crl")
@limiter.limit(lambda: current_app.config["RATELIMIT_VERIFY"])
def revocation_list():
    """The development CA's current revocation list (DER), where its certificates say it is
    published: a validator checks the signer's and the timestamp authority's status here."""
    crl = longterm.revocation_list(db.session(), settings().passphrase,
                                   dt.datetime.now(dt.UTC))
    if crl is None:
        abort(404)
    return Response(crl, mimetype="application/pkix-crl",
                    headers={"Cache-Control": "public, max-age=3600",
                             "X-Content-Type-Options": "nosniff"})


@bp.route("/verify", methods=["GET"])
def verify_form():
    """Type a verification code: a well-formed one goes to its page; blank or malformed text is
    answered here with what to type (never looked up, never called not genuine)."""
    form = VerifyForm(request.args)
    if not request.args:
        return render_template("documents/verify.html", form=form, status=None, code=None)
    if form.validate():
        return redirect(url_for(".verify", code=form.key))
    return render_template("documents/verify.html", form=form, status=None, code=None), 422


@bp.route("/verify/<code>")
@limiter.limit(lambda: current_app.config["RATELIMIT_VERIFY"])
def verify(code: str):
    """Whether a code belongs to a genuine document, its issue, recipient, validity and
    revocation. Text that cannot be a code gets the format hint (422), not a verdict."""
    form = VerifyForm(MultiDict({"code": code[:200]}))
    if not form.validate():
        return render_template("documents/verify.html", form=form, status=None, code=None), 422
    status = verification.public_status(db.session(), actor(), form.key)
    return render_template("documents/verify.html", form=form, status=status, code=form.key), (
        200 if status.genuine else 404)
