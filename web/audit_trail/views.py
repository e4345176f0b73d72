"""The inspectors' view of the audit trail."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from forms.audit import AuditFilterForm
from web import db
from web.audit_trail import display
from web.forms_support import attempt
from web.records import searches
from web.security import actor, requires
from workflow.audit import trail
from workflow.security.permissions import Permission

bp = Blueprint("audit_trail", __name__, url_prefix="/audit")
# What the page's address may carry: everything but the person asked about, which is kept in
# the session under the search id `s` (see web.records.searches).
IN_ADDRESS = ("actor", "action", "date_from", "date_to", "own_views")


@bp.route("/", methods=["GET", "POST"])
@requires(Permission.READ_AUDIT)
def index():
    """Entries newest first, filterable by person, actor, action and period: the filter form
    posts, and the entries are a page of their own that Back, reload and paging return to."""
    if request.method == "POST":
        form = AuditFilterForm()
        if form.validate_on_submit():
            return redirect(url_for(".index", **_address(form)), 303)
        return _page(form, None, 422)
    search_id = request.args.get("s")
    terms = searches.recall(search_id) if search_id else {}
    if terms is None:
        flash(_("That search is no longer kept (they last until you sign out). Search again."),
              "info")
        terms = {}
    formdata = MultiDict([(k, v) for k, v in request.args.items(multi=True) if k != "subject"])
    formdata.update(terms)
    form = AuditFilterForm(formdata=formdata, meta={"csrf": False})
    page = None
    if form.validate():
        flt = trail.TrailFilter(
            subject=form.subject.data or None, person_id=form.person_id.data,
            actor=form.actor.data or None, action=form.action.data or None,
            date_from=form.date_from.data, date_to=form.date_to.data, before=form.before.data,
            own_views=form.own_views.data)
        page = attempt(form, lambda: trail.read_trail(
            db.session(), actor(), flt, size=current_app.config["AUDIT_PAGE_SIZE"]))
    return _page(form, page, 200 if page is not None else 422)


def _address(form: AuditFilterForm) -> dict[str, str]:
    """The filter as the entries page's address: the person asked about only by a search id."""
    args = {name: form[name].raw_data[0] for name in IN_ADDRESS
            if form[name].data and form[name].raw_data}
    if form.subject.data and form.subject.data.strip():
        args["s"] = searches.remember({"subject": form.subject.data.strip()})
    return args


def _page(form: AuditFilterForm, page: trail.TrailPage | None, status: int):
    here = {k: v for k, v in request.args.items() if k != "before" and v}
    # Choosing a person from those a name matched: the same filter, for that person.
    choose = {k: v for k, v in here.items() if k not in ("s", "person_id")}
    rows = [display.row(entry) for entry in page.entries] if page else []
    return render_template("audit/index.html", form=form, page=page, rows=rows, here=here,
                           choose=choose), status


@bp.route("/verify", methods=["POST"])
@requires(Permission.READ_AUDIT)
def verify():
    """Recompute the chain now and say whether it holds."""
    result = trail.verify_chain(db.session(), actor())
    if result.ok:
        flash(_("The audit chain is intact: %(n)s entries verified.", n=result.checked),
              "success")
    else:
        flash(_("The audit chain is broken at entry %(seq)s: %(problem)s",
                seq=result.broken_seq, problem=result.problem), "error")
    return redirect(url_for(".index"))
