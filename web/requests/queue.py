"""A body's work queue on the request lists: officers, filters, claiming, and bulk actions (checked
on a page of their own before anything is done)."""

from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from forms import Form, choices
from forms.requests import BulkForm
from web import db
from web.forms_support import attempt
from web.i18n import domain_message
from web.requests.views import bp
from web.security import actor
from workflow.documents import tokens
from workflow.models import AccessRequest
from workflow.requests import queues
from workflow.requests.policy import visible_requests

FILTER_LABELS = {"all": "All", "unclaimed": "Not yet taken", "mine": "Mine (or I am backup)",
                 "due_soon": "Due soon", "overdue": "Overdue"}


def _colleagues(view: str) -> list[tuple[str, str]]:
    """The officers of the user's body who decide this queue's steps (each request checks its
    own: the requester or the person concerned never decides)."""
    return [(str(u.id), u.full_name) for u in queues.officers_of(
        db.session(), current_user.organisation_id, queues.QUEUES[view])]


def _form(view: str) -> BulkForm:
    form = BulkForm()
    people = _colleagues(view)
    form.officer_id.choices = choices([("", "—"), *people])
    form.backup_id.choices = choices([("", "—"), *people])
    return form


def queue_page(view: str, rows: list[AccessRequest]) -> dict:
    """What the list page adds for a work queue (empty for other lists)."""
    if view not in queues.QUEUES:
        return {}
    which = request.args.get("which", "all")
    if which not in queues.FILTERS:
        which = "all"
    flow = current_app.extensions["custody_workflow"]
    return {"queue": queues.queue(db.session(), flow, actor(), rows, which), "which": which,
            "filter_labels": FILTER_LABELS, "bulk": _form(view)}


def _back():
    view = request.form.get("view", "approval")
    which = request.form.get("which", "all")
    return redirect(url_for(".index", view=view if view in queues.QUEUES else "approval",
                            which=which if which in queues.FILTERS else "all"))


@bp.route("/queue/claim", methods=["POST"])
@login_required
def claim():
    """Take one request of the queue oneself."""
    form = Form()  # the queue's form posts here too: only its CSRF token is read
    posted = request.form.get("claim", "")
    request_id = int(posted) if _an_id(posted) else 0
    if form.validate_on_submit() and attempt(form, lambda: queues.claim(
            db.session(), actor(), request_id)):
        flash(_("You have taken the request."), "success")
    else:
        for error in form.form_errors:
            flash(error, "error")
    return _back()


def _an_id(value: str) -> bool:
    """A row id as a form may send it (a database integer, not any string of digits)."""
    return value.isascii() and value.isdigit() and len(value) <= 9


def _told(form: BulkForm, ids: list[int]) -> list[str]:
    """What the check page says is missing before the action can be confirmed (the operation
    checks it all again)."""
    missing = []
    if not ids:
        missing.append(_("Select at least one request."))
    if len(ids) > queues.MOST:
        missing.append(_("At most %(most)s requests at once.", most=queues.MOST))
    if form.action.data == "reassign" and not form.officer_id.data:
        missing.append(_("Choose the officer to give them to."))
    if len((form.reason.data or "").strip()) < 10:
        missing.append(_("Give the reason for the selected requests (at least 10 characters)."))
    return missing


def _ids() -> list[int]:
    """The selected ids, each once; one more than an action takes, so that the operation
    refuses a larger selection instead of it being cut short unseen."""
    ids = dict.fromkeys(int(v) for v in request.form.getlist("ids") if _an_id(v))
    return list(ids)[:queues.MOST + 1]


@bp.route("/queue/bulk", methods=["POST"])
@login_required
def bulk():
    """Check the selection and the action, then (confirmed) do it to every selected request."""
    view = request.form.get("view", "approval")
    if view not in queues.QUEUES:
        view = "approval"
    form = _form(view)
    ids = _ids()
    valid = form.validate_on_submit()
    personal = form.action.data == "return" and tokens.personal_credential(
        db.session(), current_user) is not None
    if valid and request.form.get("confirmed") == "yes":
        flow = current_app.extensions["custody_workflow"]
        pin = request.form.get("pin", "")[:64] if personal else None
        done = attempt(form, lambda: queues.bulk(
            db.session(), flow, actor(pin), form.action.data, ids, reason=form.reason.data or "",
            officer_id=int(form.officer_id.data) if form.officer_id.data else None,
            backup_id=int(form.backup_id.data) if form.backup_id.data else None))
        if done:
            flash(_("Done for %(count)s request(s).", count=len(done)), "success")
            return _back()
        if isinstance(g.get("refused"), queues.BulkRefused):  # and why, in the user's words
            form.form_errors.append(domain_message(g.refused.cause))
    if valid and not form.form_errors:
        form.form_errors.extend(_told(form, ids))
    # Only the requests the user may open are named (a forged id is not told apart).
    chosen = db.session().scalars(select(AccessRequest).where(
        AccessRequest.id.in_(ids), visible_requests(db.session(), current_user, actor().today))
        .order_by(AccessRequest.id)).all()
    status = 422 if (form.errors or form.form_errors) else 200
    return render_template("requests/bulk_check.html", form=form, ids=ids, view=view,
                           which=request.form.get("which", "all"), personal=personal,
                           numbers=[r.number for r in chosen if r.number]), status
