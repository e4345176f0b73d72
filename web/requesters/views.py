"""Requesters outside the state (Art. 12 §3b): a records clerk registers them after checking
their papers and records whom they act for; the requester sees the persons they act for and, a
lawyer, who read each one's record."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from forms import Form
from forms.requesters import MandateForm, OtherBodysMandateForm, RegisterRequesterForm
from web import db
from web.forms_support import attempt, status_for
from web.security import actor
from workflow.audit import tracker
from workflow.errors import NotFound
from workflow.i18n import N_
from workflow.models import Mandate
from workflow.requests import requesters

bp = Blueprint("requesters", __name__)


def _vouching() -> None:
    if not requesters.can_vouch(current_user):
        abort(403)


@bp.route("/requesters")
@login_required
def index():
    """The requesters outside the state the clerk's body (or one under it) vouched for."""
    _vouching()
    return render_template("requesters/index.html",
                           vettings=requesters.vettings_seen(db.session(), actor()))


@bp.route("/requesters/new", methods=["GET", "POST"])
@login_required
def new():
    """Register a requester after checking their identity papers at the counter."""
    _vouching()
    form = RegisterRequesterForm()
    if form.validate_on_submit():
        vetting = attempt(form, lambda: requesters.register_requester(
            db.session(), actor(), kind=form.kind.member, full_name=form.full_name.data,
            username=form.username.data, password=form.password.data, email=form.email.data,
            identity_document=form.identity_document.data, credential=form.credential.data,
            organisation_name=form.organisation_name.data, organisation_kind=form.org_kind))
        if vetting is not None:
            flash(_("%(name)s is registered: your body vouches for them. Record the detained "
                    "persons they act for below.", name=vetting.user.full_name), "success")
            return redirect(url_for(".show", user_id=vetting.user_id))
    return render_template("requesters/new.html", form=form), status_for(form)


def _shown(vetting, mandate_form: MandateForm | None = None):
    return render_template(
        "requesters/show.html", vetting=vetting, form=mandate_form or MandateForm(),
        mandates=requesters.mandates_seen(db.session(), actor(), vetting.user_id),
        today=actor().today)


@bp.route("/requesters/<int:user_id>")
@login_required
def show(user_id: int):
    """A registration: who checked what, and the persons in the clerk's scope they act for."""
    _vouching()
    return _shown(requesters.vetting_of(db.session(), actor(), user_id))


@bp.route("/requesters/<int:user_id>/mandates", methods=["POST"])
@login_required
def add_mandate(user_id: int):
    """Record a detained person the requester acts for (a requester of this body's
    registrations; any other is named by username on the mandates page)."""
    _vouching()
    vetting = requesters.vetting_of(db.session(), actor(), user_id)  # 404 for other bodies'
    form = MandateForm()
    if form.validate_on_submit() and attempt(form, lambda: requesters.record_mandate(
            db.session(), actor(), user_id, identity_number=form.identity_number.data,
            **form.paper)):
        flash(_("Recorded: they may now ask for data about this person."), "success")
        return redirect(url_for(".show", user_id=user_id))
    return _shown(vetting, form), 422


@bp.route("/mandates", methods=["GET", "POST"])
@login_required
def mandates():
    """The mandates about the persons held in the clerk's scope, whoever vouched for the
    requester, and recording one for a requester another body vouched for (by username)."""
    _vouching()
    form = OtherBodysMandateForm()
    if form.validate_on_submit() and attempt(form, lambda: requesters.record_mandate_named(
            db.session(), actor(), form.username.data,
            identity_number=form.identity_number.data, **form.paper)):
        flash(_("Recorded: they may now ask for data about this person."), "success")
        return redirect(url_for(".mandates"))
    return render_template("requesters/mandates.html", form=form, today=actor().today,
                           mandates=requesters.mandates_in_scope(db.session(), actor())
                           ), status_for(form)


@bp.route("/mandates/<int:mandate_id>/end", methods=["GET", "POST"])
@login_required
def end_mandate(mandate_id: int):
    """Check, then end a mandate early (any clerk whose scope holds the person)."""
    _vouching()
    mandate = db.session().get(Mandate, mandate_id)
    if mandate is None or not requesters.can_record_mandate(db.session(), current_user,
                                                            mandate.person, actor().today):
        raise NotFound(N_("No such mandate."))
    if mandate.ended_at is not None:  # a stale page: someone ended it meanwhile
        flash(_("The mandate has already ended."), "info")
        return redirect(url_for(".mandates"))
    form = Form()
    if form.validate_on_submit() and attempt(form, lambda: requesters.end_mandate(
            db.session(), actor(), mandate_id)):
        flash(_("The mandate has ended: they can no longer ask about this person, and their "
                "unfinished requests about the person are withdrawn."), "success")
        return redirect(url_for(".mandates"))
    return render_template("requesters/end_mandate.html", mandate=mandate, form=form), \
        status_for(form)


@bp.route("/requesters/<int:user_id>/withdraw", methods=["GET", "POST"])
@login_required
def withdraw(user_id: int):
    """Check, then withdraw the body's vouching."""
    _vouching()
    vetting = requesters.vetting_of(db.session(), actor(), user_id)
    if vetting.withdrawn_at is not None:  # a stale page: someone withdrew it meanwhile
        flash(_("The vouching was already withdrawn."), "info")
        return redirect(url_for(".show", user_id=user_id))
    form = Form()
    if form.validate_on_submit() and attempt(form, lambda: requesters.withdraw_vetting(
            db.session(), actor(), user_id)):
        flash(_("The vouching is withdrawn: they can file no more requests, and their "
                "unfinished requests are withdrawn."), "success")
        return redirect(url_for(".show", user_id=user_id))
    return render_template("requesters/withdraw.html", vetting=vetting, form=form), \
        status_for(form)


@bp.route("/clients")
@login_required
def clients():
    """The detained persons the requester acts for today."""
    if not requesters.is_outside_requester(current_user):
        abort(403)
    mandates = requesters.my_mandates(db.session(), actor())
    readable = {m.id for m in mandates if requesters.can_see_client_reads(
        db.session(), current_user, m, actor().today)}
    return render_template("requesters/clients.html", mandates=mandates, readable=readable,
                           vetting=requesters.live_vetting(current_user))


@bp.route("/clients/<int:mandate_id>/reads")
@login_required
def client_reads(mandate_id: int):
    """Who read the client's record, as the client sees it at the kiosk."""
    rules = current_app.extensions["custody_workflow"].rules.on(actor().today)
    person, found = tracker.client_reads(db.session(), actor(), mandate_id,
                                         rules.tracker_withheld_stages)
    return render_template("requesters/client_reads.html", person=person, found=found,
                           about=tracker.ABOUT_THE_CLIENT)
