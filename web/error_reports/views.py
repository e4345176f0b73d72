"""Reports of errors in provided data (Decree 121/2017 Art. 18 §2): a recipient of an extract
reports one from the request's page; the clerks of the facility keeping the record see the open
reports, open one and close it as corrected (naming the correction) or as no error found."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from forms import choices
from forms.error_reports import CorrectedForm, ErrorReportForm, NoErrorForm
from web import db
from web.forms_support import attempt, status_for
from web.requests.labels import category_label
from web.security import actor
from workflow.records import error_reports
from workflow.records.policy import can_list_error_reports
from workflow.records.versions import RECORD_LABELS
from workflow.requests.policy import can_view

bp = Blueprint("error_reports", __name__)


@bp.app_context_processor
def menu() -> dict:
    """The menu's entry and its count of open reports (counted only where the menu shows)."""
    def open_count() -> int:
        if not current_user.is_authenticated:
            return 0
        return error_reports.open_count(db.session(), current_user, actor().today)

    return {"may_list_error_reports": can_list_error_reports,
            "open_error_reports": open_count}


@bp.route("/documents/<int:document_id>/report-error", methods=["GET", "POST"])
@login_required
def report(document_id: int):
    """A recipient of the extract says what is wrong in it; others get 404."""
    document = error_reports.reportable_extract(db.session(), actor(), document_id)
    form = ErrorReportForm()
    form.part.choices = choices(
        [("", _("Not sure, or something else"))]
        + [(part, category_label(part)) for part in error_reports.granted_parts(document)])
    if form.validate_on_submit():
        made = attempt(form, lambda: error_reports.report_error(
            db.session(), actor(), document.id, description=form.description.data,
            part=form.part.data or None))
        if made:
            flash(_("Your report has been sent to %(facility)s, which keeps the record. You "
                    "will be told the outcome in your inbox.", facility=made.facility.name),
                  "success")
            if can_view(db.session(), current_user, document.request, actor().today):
                return redirect(url_for("requests.show", request_id=document.request_id,
                                        _anchor="error-reports"))
            return redirect(url_for("requests.inbox"))
    return render_template("error_reports/report.html", form=form,
                           document=document), status_for(form)


@bp.route("/error-reports/")
@login_required
def index():
    """The open reports of errors in the records the user's facilities keep (all: `?all=1`)."""
    everything = request.args.get("all") == "1"
    rows = error_reports.list_error_reports(db.session(), actor(), open_only=not everything)
    return render_template("error_reports/index.html", rows=rows, everything=everything)


@bp.route("/error-reports/<int:report_id>", methods=["GET", "POST"])
@login_required
def show(report_id: int):
    """One report: what is wrong, where; closed as corrected or as no error found."""
    sess = db.session()
    found = error_reports.get_error_report(sess, actor(), report_id)
    corrected = CorrectedForm(prefix="corrected")
    no_error = NoErrorForm(prefix="no_error")
    made = error_reports.corrections_since(sess, found)
    corrected.correction.choices = choices(
        [("", _("— Choose —"))]
        + [(v.id, _("%(record)s No. %(id)s, version %(version)s: %(reason)s",
                    record=_(RECORD_LABELS.get(v.record_type, v.record_type)), id=v.record_id,
                    version=v.version, reason=v.reason or "")) for v in made])
    action = request.form.get("action") if request.method == "POST" else None
    form = {"corrected": corrected, "no_error": no_error}.get(action or "")
    if action is not None and form is None:
        abort(400)
    if form is not None and form.validate_on_submit():
        done = attempt(form, lambda: error_reports.close_error_report(
            sess, actor(), found.id, corrected=action == "corrected", note=form.note.data,
            correction_id=corrected.correction.data if action == "corrected" else None))
        if done:
            flash(_("The report is closed and the reporter has been told."), "success")
            return redirect(url_for(".show", report_id=found.id))
    return render_template("error_reports/show.html", report=found, corrected=corrected,
                           no_error=no_error, failed=action, corrections=made,
                           category_label=category_label), (
        status_for(form) if form is not None else 200)
