"""The kiosk's pages: the clerk registers a device, starts and ends kiosk mode, issues PINs; the
detained person signs in at the device and reads their record and requests in plain words."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user

from forms.kiosk import PLAIN_PARTS, DeviceForm, EndKioskForm, KioskSignInForm, OwnRequestForm
from web import db
from web.extensions import filing_limit, limiter
from web.forms_support import attempt, status_for
from web.kiosk.device import in_kiosk_session, remember, this_device
from web.kiosk.status import plain_steps
from web.security import actor
from web.sessions import fresh_session, token
from workflow.audit import chain as audit
from workflow.audit import tracker
from workflow.context import Actor
from workflow.errors import NotFound
from workflow.i18n import N_
from workflow.records.persons import view_person
from workflow.requests import filing, queries
from workflow.requests.enums import ProvisionForm
from workflow.security import accounts, kiosk, mfa, sessions

bp = Blueprint("kiosk", __name__)


def _clerk() -> None:
    if not kiosk.can_manage_kiosks(current_user, current_user.organisation_id):
        abort(403)


# --- the facility's clerk ------------------------------------------------------------------


@bp.route("/kiosk/devices", methods=["GET", "POST"])
@login_required
def devices():
    """The facility's kiosk devices; register this browser as one."""
    _clerk()
    form = DeviceForm()
    if form.validate_on_submit():
        made = attempt(form, lambda: kiosk.register_device(db.session(), actor(),
                                                            form.name.data))
        if made:
            device, secret = made
            flash(_("This browser is now the kiosk “%(name)s”. Start kiosk mode when it is "
                    "ready for the persons held here.", name=device.name), "success")
            return remember(make_response(redirect(url_for(".devices"))), secret)
    here = this_device()
    return render_template("kiosk/devices.html", form=form,
                           devices=kiosk.facility_devices(db.session(), actor()),
                           here=here.id if here else None), status_for(form)


@bp.route("/kiosk/devices/<int:device_id>/start", methods=["POST"])
@login_required
def start(device_id: int):
    """Start kiosk mode on this browser, which must be the device; the clerk is signed out."""
    _clerk()
    here = this_device()
    if here is None or here.id != device_id:
        raise NotFound(N_("No such kiosk device."))
    kiosk.start_kiosk_mode(db.session(), actor(), device_id)
    audit.record(db.session(), actor(), "auth.logout")
    sessions.end(db.session(), actor(), token())
    logout_user()
    fresh_session()
    return redirect(url_for(".sign_in"))


@bp.route("/kiosk/devices/<int:device_id>/end", methods=["POST"])
@login_required
def end(device_id: int):
    """End kiosk mode on a device of the facility (and any session open on it)."""
    _clerk()
    device = kiosk.end_kiosk_mode(db.session(), actor(), device_id)
    flash(_("Kiosk mode has ended on “%(name)s”.", name=device.name), "success")
    return redirect(url_for(".devices"))


@bp.route("/persons/<int:person_id>/kiosk-pin", methods=["POST"])
@login_required
def issue_pin(person_id: int):
    """Issue a new PIN for a person held here, shown once on this page."""
    _clerk()
    pin = kiosk.issue_pin(db.session(), actor(), person_id)
    return render_template("kiosk/pin.html", pin=pin, person_id=person_id)


# --- at the kiosk device -------------------------------------------------------------------


def _device_key() -> str:
    device = this_device()
    return f"kiosk-device-{device.id}" if device is not None else f"kiosk-ip-{get_remote_address()}"


@bp.route("/kiosk/", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_SIGN_IN"], methods=["POST"])
# Failed sign-ins counted per device, across persons: five wrong PINs lock one person's PIN, but
# someone at the kiosk trying four PINs on each of many co-detainees would lock nobody.
@limiter.limit(lambda: current_app.config["RATELIMIT_KIOSK_FAILURES"], methods=["POST"],
               key_func=_device_key, scope="kiosk-failures",
               deduct_when=lambda response: response.status_code != 302)
def sign_in():
    """The kiosk's only page for whoever stands at it: the number and the PIN."""
    device = this_device()
    if device is None or not device.in_kiosk_mode:
        abort(404)
    if in_kiosk_session():
        return redirect(url_for(".home"))
    form = KioskSignInForm()
    if form.validate_on_submit():
        user = kiosk.sign_in(db.session(), actor(), device, form.number.data, form.pin.data)
        if user is not None:
            fresh_session()
            login_user(user)
            session["sid"] = sessions.begin(db.session(), actor(), user, device.id)
            return redirect(url_for(".home"))
        form.form_errors.append(_("The number or the PIN is not right. After 5 wrong PINs the "
                                  "PIN is locked: then ask the staff for a new one."))
    return render_template("kiosk/sign_in.html", form=form, bare=True), status_for(form)


@bp.route("/kiosk/end", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_SIGN_IN"], methods=["POST"])
def end_here():
    """A clerk of the facility ends kiosk mode at the device with their password and code."""
    device = this_device()
    if device is None or not device.in_kiosk_mode:
        abort(404)
    form = EndKioskForm()
    if form.validate_on_submit():
        who = actor()
        clerk = accounts.authenticate(db.session(), who, form.username.data, form.password.data)
        if clerk is not None and mfa.verify(db.session(), who, clerk, form.code.data,
                                            current_app.extensions["custody_mfa"]):
            accounts.clear_failures(clerk)
            if kiosk.can_manage_kiosks(clerk, device.facility_id):
                kiosk.end_kiosk_mode(db.session(), Actor(clerk, who.ip, who.now), device.id)
                logout_user()
                fresh_session()
                flash(_("Kiosk mode has ended on “%(name)s”.", name=device.name), "success")
                return redirect(url_for("auth.login"))
        form.form_errors.append(_("Only a clerk of this facility, with the right password and "
                                  "code, can end kiosk mode."))
    return render_template("kiosk/end.html", form=form, bare=True), status_for(form)


@bp.route("/kiosk/me")
def home():
    """The person's own page: their requests and what they can do."""
    return render_template("kiosk/home.html", bare=True,
                           requests=queries.own_requests(db.session(), actor()))


@bp.route("/kiosk/record")
def my_record():
    """The person's own record, in plain words."""
    view = view_person(db.session(), actor(), current_user.person_id)
    return render_template("kiosk/my_record.html", view=view, bare=True)


@bp.route("/kiosk/reads")
def my_reads():
    """Who read my record: the bodies that read or received it, by day, and what is withheld."""
    rules = current_app.extensions["custody_workflow"].rules.on(actor().today)
    found = tracker.own_reads(db.session(), actor(), rules.tracker_withheld_stages)
    return render_template("kiosk/reads.html", found=found, labels=tracker.TRACKED, bare=True)


@bp.route("/kiosk/requests/new", methods=["GET", "POST"])
@filing_limit()
def new_request():
    """Ask for one's own records: what, why (optional) and how to receive it."""
    form = OwnRequestForm()
    if form.validate_on_submit():
        flow = current_app.extensions["custody_workflow"]
        request = attempt(form, lambda: filing.file_own_request(
            db.session(), flow, actor(), categories=list(form.parts.data),
            provision=ProvisionForm(form.delivery.data), purpose=form.purpose.data or ""))
        if request is not None:
            flash(_("Your request has been sent."), "success")
            return redirect(url_for(".request_status", request_id=request.id))
    return render_template("kiosk/new_request.html", form=form, bare=True), status_for(form)


@bp.route("/kiosk/requests/<int:request_id>")
def request_status(request_id: int):
    """Where one of the person's own requests stands, in dated plain steps."""
    request = queries.own_request(db.session(), actor(), request_id)
    return render_template("kiosk/status.html", steps=plain_steps(request),
                           parts=[PLAIN_PARTS[c] for c in request.categories if c in PLAIN_PARTS],
                           bare=True)


@bp.route("/kiosk/sign-out", methods=["POST"])
def sign_out():
    """Leave the kiosk: the next person starts from the sign-in page."""
    audit.record(db.session(), actor(), "auth.logout")
    sessions.end(db.session(), actor(), token())
    logout_user()
    fresh_session()
    flash(_("You have signed out."), "info")
    return redirect(url_for(".sign_in"))
