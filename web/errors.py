"""Error pages in the user's language; every refusal is rolled back and then audited."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask, g, render_template, request
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from workflow.audit import chain as audit
from workflow.audit.chain import Outcome
from workflow.context import Actor
from workflow.errors import DomainError
from workflow.i18n import N_

TITLES = {
    400: N_("The request could not be understood"),
    403: N_("You may not do this"),
    404: N_("Not found"),
    405: N_("Not allowed"),
    409: N_("Changed meanwhile"),
    410: N_("No longer available"),
    413: N_("The file or form is too large"),
    422: N_("Check what you entered"),
    429: N_("Too many attempts: wait a little and try again"),
    500: N_("Something went wrong on our side"),
}


def audit_refusal(status: int, reason: str, who: Actor | None = None,
                  details: Mapping[str, object] | None = None) -> None:
    """Undo the request's work, then record that it was refused (and who was refused, with
    `details` such as the API token that asked)."""
    from web import db
    from web.security import actor

    sess = db.session()
    sess.rollback()
    audit.record(sess, who or actor(), "access.refused", outcome=Outcome.DENIED,
                 object_type="route", object_id=request.endpoint or request.path[:64],
                 details={"status": status, "reason": reason, "method": request.method,
                          **(details or {})})


def _page(status: int, message: str | None = None):
    title = gettext(TITLES.get(status, TITLES[500]))
    return render_template("error.html", status=status, title=title, message=message), status


def init_app(app: Flask) -> None:
    """Register the handlers."""

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        from web.i18n import domain_message

        audit_refusal(error.status, error.message)
        return _page(error.status, domain_message(error))

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        audit_refusal(400, "csrf")
        return _page(400, gettext("The form expired or was not sent from this site. "
                                  "Open the page again and resend it."))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code or 500
        if status == 403:
            audit_refusal(status, "permission")
        return _page(status)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        app.logger.exception("unhandled error")
        # Undo the work but keep the session: the page still reads the signed-in user, and the
        # request's teardown closes it (nothing is committed on a 5xx).
        sess = g.get("db_session")
        if sess is not None:
            sess.rollback()
        return _page(500)
