"""The statistics dashboard of a body's own scope (published figures), its CSV and XLSX exports,
and the exact figures for those who may read the records counted."""

from __future__ import annotations

import datetime as dt
import textwrap

from flask import Blueprint, Response, current_app, render_template, request
from flask_babel import gettext

from forms.statistics import DashboardForm
from web import db
from web.i18n import domain_message, label
from web.security import actor, requires
from workflow.errors import Forbidden, InvalidInput
from workflow.figures import dashboard, disclosure, reports, statistics
from workflow.i18n import N_
from workflow.records.enums import Measure
from workflow.records.policy import can_view_exact_figures
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


@bp.app_context_processor
def exact_figures_gate() -> dict:
    """`exact_figures_open()` for the menu: whether the user may see exact figures today."""

    def exact_figures_open() -> bool:
        who = actor()
        return can_view_exact_figures(db.session(), who.user, who.today)

    return {"exact_figures_open": exact_figures_open}


def _board(form: DashboardForm, exact: bool = False,
           export: str | None = None) -> dashboard.Dashboard | None:
    """The figures for the form's day and period: by default the latest published ones (the
    last month ended, the year to its end), or today and this year so far when exact."""
    if not form.validate():
        return None
    who = actor()
    today = who.today
    if exact:
        day, start, end = today, dt.date(today.year, 1, 1), today
    else:
        day, start, end = disclosure.default_reporting(today)
    day = form.day.data or day
    end = form.end.data or end
    start = form.start.data or dt.date(end.year, 1, 1)
    form.day.data, form.start.data, form.end.data = day, start, end
    config = current_app.config
    control = (disclosure.exact_control() if exact
               else current_app.extensions["custody_statistics"])
    try:
        return dashboard.build(db.session(), who, current_app.extensions["custody_workflow"].rules,
                               day=day, start=start, end=end, control=control,
                               max_age=dt.timedelta(minutes=config["STATISTICS_MAX_AGE_MINUTES"]),
                               export=export)
    except InvalidInput as error:
        form.form_errors.append(domain_message(error))
        return None


@bp.route("/")
@requires(Permission.READ_STATISTICS)
def index():
    """Charts with their tables: persons held, movements, time held, requests (published)."""
    form = DashboardForm(request.args)
    board = _board(form)
    return _page(form, board), 200 if board else 422


@bp.route("/exact")
@requires(Permission.READ_RECORDS)
def exact():
    """The same figures exactly as counted, for those who may read the records counted."""
    if not can_view_exact_figures(db.session(), actor().user, actor().today):
        raise Forbidden(N_("Exact figures are for those who may read the records counted."))
    form = DashboardForm(request.args)
    board = _board(form, exact=True)
    return _page(form, board, exact=True), 200 if board else 422


def _page(form: DashboardForm, board: dashboard.Dashboard | None, exact: bool = False) -> str:
    return render_template("statistics/index.html", form=form, board=board, exact=exact,
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
