"""The conflict queue: the open conflicts of the senders a records officer receives for, and one
conflict with the two records side by side and the decision (keep ours, take theirs, merge field
by field, ask the sender again)."""

from __future__ import annotations

import json

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import Date

from forms import choices
from forms.exchange import ConflictDecisionForm
from web import db
from web.forms_support import attempt, status_for
from web.i18n import label, vn_date
from web.security import actor
from workflow.exchange import conflicts
from workflow.exchange.incoming import person_of
from workflow.exchange.wire import ORG_REFS
from workflow.i18n import N_
from workflow.models import Organisation
from workflow.records.versions import FIELD_LABELS, RECORD_LABELS

bp = Blueprint("conflicts", __name__, url_prefix="/exchange/conflicts")
STATES = {"open": N_("Waiting for a decision"), "asked": N_("Asked of the sender"),
          "ours": N_("Kept ours"), "theirs": N_("Took theirs"), "merged": N_("Merged"),
          "applied": N_("Applied by a later package")}


@bp.app_context_processor
def menu() -> dict:
    """The menu's entry and its count (counted only for those the menu shows it to)."""
    def waiting() -> int:
        if not current_user.is_authenticated:
            return 0
        return conflicts.open_count(db.session(), current_user, actor().today)

    return {"may_list_conflicts": conflicts.may_list, "open_conflicts": waiting,
            "conflict_state": lambda status: _(STATES[status])}


def problem_text(conflict) -> str:
    """Why the sender's record was not applied, in the reader's language."""
    problem = json.loads(conflict.problem)
    params = dict(problem.get("params") or {})
    if "type" in params:
        params["type"] = _(RECORD_LABELS.get(params["type"], params["type"]))
    if "column" in params:  # a field's name in words, not the column's
        params["column"] = _(FIELD_LABELS.get(params["column"], params["column"]))
    if "fields" in params:
        params["fields"] = ", ".join(_(FIELD_LABELS.get(f, f))
                                     for f in str(params["fields"]).split(", "))
    return _(problem["message"], **params)


def shown(conflict, name: str, value: object) -> str:
    """A field's value as a person reads it: dates as dd/mm/yyyy, codes in words, bodies by
    name."""
    if value is None or value == "":
        return "—"
    column = conflicts.column_of(conflict, name)
    enum_class = getattr(column.type, "enum_class", None) if column is not None else None
    if enum_class is not None:
        try:
            return label(enum_class(value))
        except ValueError:
            return str(value)
    if column is not None and isinstance(column.type, Date):
        return vn_date(str(value))
    if name in ORG_REFS and isinstance(value, int):
        org = db.session().get(Organisation, value)
        return org.name if org is not None else str(value)
    return str(value)


@bp.route("/")
@login_required
def index():
    """The open conflicts (all, settled too: `?all=1`)."""
    everything = request.args.get("all") == "1"
    rows = conflicts.list_conflicts(db.session(), actor(), open_only=not everything)
    return render_template("conflicts/index.html", rows=rows, everything=everything,
                           problem_text=problem_text, record_labels=RECORD_LABELS)


@bp.route("/<int:conflict_id>", methods=["GET", "POST"])
@login_required
def show(conflict_id: int):
    """One conflict: the record here beside the sender's, and the decision."""
    sess = db.session()
    conflict = conflicts.read_conflict(sess, actor(), conflict_id)
    rows = conflicts.comparison(sess, conflict)
    form = ConflictDecisionForm()
    form.take.choices = choices([(row.name, _(FIELD_LABELS.get(row.name, row.name)))
                                 for row in rows if row.differs and conflict.local_id is not None])
    record = conflicts.local_record(sess, conflict)
    # A settled conflict's form is still heard: the decision refuses it with a clear message.
    if form.validate_on_submit():
        decision = form.decision.data
        if decision == "ask":
            done = attempt(form, lambda: conflicts.ask_again(
                sess, actor(), conflict.id, reason=form.reason.data))
            message = _("Marked to be asked of %(source)s; the exchange account sends it the "
                        "request.", source=conflict.source)
        else:
            done = attempt(form, lambda: conflicts.decide(
                sess, actor(), conflict.id, keep=decision, fields=form.take.data or (),
                reason=form.reason.data,
                seen_version=int(form.version.data) if form.version.data else None))
            message = _("The conflict is settled; the record's history shows the decision.")
        if done:
            flash(message, "success")
            return redirect(url_for(".show", conflict_id=conflict.id))
    if record is not None:  # the version the page shows, which its decision is about
        form.version.data = str(record.version)
    return render_template("conflicts/show.html", conflict=conflict, rows=rows, form=form,
                           record=record, person_id=person_of(sess, record) if record else None,
                           problem_text=problem_text, field_labels=FIELD_LABELS, shown=shown,
                           record_labels=RECORD_LABELS), status_for(form)
