"""Facility reports: clerks draft and submit; managers of the body above accept or send back."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from forms.reports import ReportActionForm, ReportForm
from web import db
from web.forms_support import attempt, status_for
from web.security import actor, requires
from workflow.figures import reports
from workflow.i18n import N_
from workflow.security.permissions import Permission, can

bp = Blueprint("reports", __name__, url_prefix="/reports")
DONE = {"submit": N_("The report has been submitted."), "accept": N_("The report is accepted."),
        "send_back": N_("The report has been sent back for correction.")}


def filer_or_reviewer(view: Callable) -> Callable:
    """Clerks who file reports and managers who check them; others get 403."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not (can(current_user, Permission.FILE_REPORTS)
                or can(current_user, Permission.REVIEW_REPORTS)):
            abort(403)
        return view(*args, **kwargs)

    return wrapped


@bp.route("/")
@filer_or_reviewer
def index():
    """The facility's reports, or those of the bodies below."""
    return render_template("reports/index.html",
                           reports=reports.visible(db.session(), actor()),
                           can_file=can(current_user, Permission.FILE_REPORTS))


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.FILE_REPORTS)
def new():
    """Draft a report of one's facility."""
    form = ReportForm()
    if form.validate_on_submit():
        made = attempt(form, lambda: reports.create(db.session(), actor(), form.report_input()))
        if made:
            flash(_("The report is saved as a draft."), "success")
            return redirect(url_for(".show", report_id=made.id))
    return render_template("reports/form.html", form=form, report=None,
                           figures=reports.FIGURES), status_for(form)


@bp.route("/<int:report_id>/edit", methods=["GET", "POST"])
@filer_or_reviewer
def edit(report_id: int):
    """Change a draft or a returned report."""
    report = reports.get(db.session(), actor(), report_id)
    if "edit" not in reports.allowed_actions(db.session(), actor(), report):
        if not can(current_user, Permission.FILE_REPORTS):
            abort(403)
        flash(_("This report cannot be changed now."), "info")
        return redirect(url_for(".show", report_id=report_id))
    form = ReportForm(obj=report)
    if not form.is_submitted():
        form.kind.data = report.kind.value
        for key, value in report.figures.items():
            getattr(form, key).data = value
    if form.validate_on_submit():
        done = attempt(form, lambda: reports.edit(db.session(), actor(), report_id,
                                                  form.report_input()))
        if done:
            flash(_("The report has been saved."), "success")
            return redirect(url_for(".show", report_id=report_id))
    return render_template("reports/form.html", form=form, report=report,
                           figures=reports.FIGURES), status_for(form)


@bp.route("/<int:report_id>", methods=["GET", "POST"])
@filer_or_reviewer
def show(report_id: int):
    """The report, its versions, and what the user may do with it now."""
    report = reports.get(db.session(), actor(), report_id)
    form = ReportActionForm()
    if form.validate_on_submit():
        trigger = request.form.get("action", "")
        if trigger == "correct":
            made = attempt(form, lambda: reports.correct(db.session(), actor(), report_id))
            if made:
                flash(_("A new version is drafted; the accepted one stands until it is "
                        "accepted."), "success")
                return redirect(url_for(".edit", report_id=made.id))
        else:
            version = int(form.version.data) if (form.version.data or "").isdigit() else None
            done = attempt(form, lambda: reports.fire(db.session(), actor(), report_id,
                                                      trigger, form.note.data, version))
            if done:
                flash(_(DONE[trigger]), "success")
                return redirect(url_for(".show", report_id=report_id))
    form.version.data = str(reports.version_of(report))
    versions = []
    cursor = report
    while cursor is not None:
        versions.append(cursor)
        cursor = cursor.previous
    return render_template("reports/show.html", report=report, form=form, versions=versions,
                           figures=reports.FIGURES,
                           may=reports.allowed_actions(db.session(), actor(), report)), \
        status_for(form)
