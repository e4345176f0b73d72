"""Run a service for a form: on a user error nothing is kept and the form shows why."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import g, request
from flask_wtf import FlaskForm

from web import db
from web.i18n import domain_message
from web.requests import uploads
from web.security import actor
from workflow.audit import chain as audit
from workflow.audit.chain import Outcome
from workflow.errors import Conflict, DocumentFailed, InvalidInput

T = TypeVar("T")


def attempt(form: FlaskForm, action: Callable[[], T]) -> T | None:
    """Call `action` inside a savepoint; an InvalidInput or Conflict undoes it and becomes a form
    error (so a half-done change is never committed)."""
    sess = db.session()
    mark = uploads.pending_mark()
    try:
        with sess.begin_nested():
            return action()
    except (InvalidInput, Conflict, DocumentFailed) as error:
        uploads.forget_since(mark)
        g.refused = error  # what the view may need to know of the failure (a wrong PIN)
        form.form_errors.append(domain_message(error))
        audit.record(sess, actor(), "form.rejected", outcome=Outcome.FAILURE,
                     object_type="route", object_id=request.endpoint,
                     details={"reason": error.message, "status": error.status})
        return None


# What a page never writes back into its HTML: the PIN of a signing token is typed where it is
# used, once (a stale sign-in's re-authentication page asks for it again after), and the
# password and code of a re-authentication (posted along with the form it let through).
NEVER_CARRIED = frozenset({"pin"})
NEVER_CARRIED_PREFIXES = ("reauth-",)


def carried(name: str) -> bool:
    """Whether a posted field may be written back into a page (never a secret)."""
    return name not in NEVER_CARRIED and not name.startswith(NEVER_CARRIED_PREFIXES)


def posted_fields(skip: Callable[[str], bool]) -> list[tuple[str, str]]:
    """The posted fields (every value of each), but those `skip` names and the secrets
    (`NEVER_CARRIED`), to send again from another page (a check page, the re-authentication
    page)."""
    return [(name, value) for name in request.form
            if not skip(name) and carried(name)
            for value in request.form.getlist(name)]


def status_for(form: FlaskForm) -> int:
    """422 when a posted form is shown again with errors, 200 otherwise."""
    return 422 if request.method == "POST" and (form.errors or form.form_errors) else 200
