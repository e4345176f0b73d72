"""The inspectors' view of the audit trail."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from forms.audit import AuditFilterForm
from web import db
from web.security import actor, requires
from workflow.audit import trail
from workflow.security.permissions import Permission

bp = Blueprint("audit_trail", __name__, url_prefix="/audit")


@bp.route("/")
@requires(Permission.READ_AUDIT)
def index():
    """Entries newest first, filterable by person, actor, action and period."""
    form = AuditFilterForm(request.args)
    page = None
    if form.validate():
        flt = trail.TrailFilter(form.person_id.data, form.actor.data or None,
                                form.action.data or None, form.date_from.data,
                                form.date_to.data, form.before.data)
        page = trail.read_trail(db.session(), actor(), flt,
                                size=current_app.config["AUDIT_PAGE_SIZE"])
    args = {k: v for k, v in request.args.items() if k != "before" and v}
    status = 200 if page is not None else 422
    return render_template("audit/index.html", form=form, page=page, args=args), status


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
