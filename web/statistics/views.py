"""The statistics dashboard of a body's own scope, and its CSV and XLSX exports."""

from __future__ import annotations

import datetime as dt
import textwrap

from flask import Blueprint, Response, current_app, render_template, request
from flask_babel import gettext

from forms.statistics import DashboardForm
from web import db
from web.i18n import domain_message, label
from web.security import actor, requires
from workflow.errors import InvalidInput
from workflow.figures import dashboard, reports, statistics
from workflow.records.enums import Measure
from workflow.security.permissions import Permission

bp = Blueprint("statistics", __name__, url_prefix="/statistics")

FORMATS = {
    "csv": ("text/csv; charset=utf-8", dashboard.to_csv),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             dashboard.to_xlsx),
}


@bp.app_template_filter("label_lines")
def label_lines(text: str, width: int = 28, most: int = 3) -> list[str]:
    """A chart label in lines that fit beside the bars (SVG text does not wrap); a name longer
    than three lines is cut in the middle, where facilities' names differ least."""
    lines = textwrap.wrap(text, width) or [""]
    if len(lines) > most:
        lines = [*lines[:most - 1], "… " + lines[-1]]
    return lines


def _board(form: DashboardForm, export: str | None = None) -> dashboard.Dashboard | None:
    """The figures for the form's day and period (today, and this year so far, by default)."""
    if not form.validate():
        return None
    who = actor()
    today = who.today
    day = form.day.data or today
    end = form.end.data or today
    start = form.start.data or dt.date(end.year, 1, 1)
    form.day.data, form.start.data, form.end.data = day, start, end
    try:
        return dashboard.build(db.session(), who, current_app.extensions["custody_workflow"].rules,
                               day=day, start=start, end=end,
                               threshold=current_app.config["STATISTICS_MIN_COUNT"],
                               max_age=dt.timedelta(
                                   minutes=current_app.config["STATISTICS_MAX_AGE_MINUTES"]),
                               export=export)
    except InvalidInput as error:
        form.form_errors.append(domain_message(error))
        return None


@bp.route("/")
@requires(Permission.READ_STATISTICS)
def index():
    """Charts with their tables: persons held, movements, time held, requests."""
    form = DashboardForm(request.args)
    board = _board(form)
    return _page(form, board), 200 if board else 422


def _page(form: DashboardForm, board: dashboard.Dashboard | None) -> str:
    return render_template("statistics/index.html", form=form, board=board,
                           dimensions=statistics.DIMENSIONS, movements=statistics.MOVEMENTS,
                           movement_matrix=dashboard.movement_matrix,
                           movement_totals=dashboard.movement_totals,
                           requester_cells=dashboard.requester_cells,
                           report_figures=reports.FIGURES,
                           measure_labels={m.value: label(m) for m in Measure},
                           args={k: v for k, v in request.args.items() if v})


@bp.route("/export.<any(csv, xlsx):fmt>")
@requires(Permission.READ_STATISTICS)
def export(fmt: str):
    """The dashboard's figures as a file."""
    form = DashboardForm(request.args)
    board = _board(form, export=fmt)
    if board is None:
        return _page(form, None), 422
    mimetype, write = FORMATS[fmt]
    name = f"thong-ke-{board.organisation.code}-{board.day:%Y%m%d}.{fmt}"
    return Response(write(board, gettext), mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
