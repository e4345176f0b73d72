"""The body handling a case lets the persons under it see who read their record: the cases it
handles at a stage that withholds those reads, and the act of disclosing them (checked first)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from forms import Form
from web import db
from web.forms_support import attempt, status_for
from web.security import actor
from workflow.audit import tracker

bp = Blueprint("reads", __name__)


def _handled():
    if not tracker.can_list_handled_cases(current_user):
        abort(403)
    rules = current_app.extensions["custody_workflow"].rules.on(actor().today)
    return tracker.handled_cases(db.session(), actor(), rules.tracker_withheld_stages)


@bp.route("/handled-cases")
@login_required
def handled_cases():
    """The cases the body handles whose reads are withheld from the persons under them."""
    return render_template("records/handled_cases.html", cases=_handled())


@bp.route("/handled-cases/<int:case_id>/disclose-reads", methods=["GET", "POST"])
@login_required
def disclose(case_id: int):
    """Check, then let the persons under the case see every read of their record until now."""
    found = next((pair for pair in _handled() if pair[0].id == case_id), None)
    if found is None:
        abort(404)
    form = Form()
    if form.validate_on_submit() and attempt(form, lambda: tracker.disclose_reads(
            db.session(), actor(), case_id)):
        flash(_("The persons under case %(number)s can now see who read their record until "
                "now.", number=found[0].number), "success")
        return redirect(url_for(".handled_cases"))
    return render_template("records/disclose_reads.html", case=found[0], last=found[1],
                           form=form), status_for(form)
