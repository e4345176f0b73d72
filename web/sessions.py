"""Every signed-in request is checked against its server-side session record; sensitive acts
need a sign-in within the configured window (30 minutes by default)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps

from flask import (
    Flask,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from forms.auth import ReauthForm
from web import db
from web.forms_support import posted_fields
from web.kiosk.device import COOKIE as KIOSK_COOKIE
from web.security import UNATTENDED, actor
from workflow.i18n import N_
from workflow.security import accounts, kiosk, mfa, sessions

ENDED = {
    "idle": N_("You were signed out after %(n)s minutes without activity. Sign in again."),
    "expired": N_("You were signed out because the session is %(n)s hours old. Sign in "
                  "again."),
}


def rules() -> sessions.SessionRules:
    """The configured limits."""
    config = current_app.config
    return sessions.SessionRules(idle=dt.timedelta(minutes=config["SESSION_IDLE_MINUTES"]),
                                 absolute=dt.timedelta(hours=config["SESSION_ABSOLUTE_HOURS"]),
                                 fresh=dt.timedelta(minutes=config["FRESH_SIGN_IN_MINUTES"]),
                                 kiosk_idle=dt.timedelta(
                                     minutes=config["KIOSK_IDLE_MINUTES"]))


def token() -> str | None:
    """This browser's session token."""
    return session.get("sid")


def _check() -> object:
    if request.endpoint in UNATTENDED or not current_user.is_authenticated:
        return None
    device_id = sessions.kiosk_device_of(db.session(), token())
    if device_id is not None:
        g.kiosk_device_id = device_id  # a kiosk session: its acts name the device
    reason = sessions.check(db.session(), actor(), current_user, token(), rules())
    if reason is None and device_id is not None:
        reason = kiosk.check_session(db.session(), actor(), current_user, token(),
                                     request.cookies.get(KIOSK_COOKIE))
    if reason is None:
        return None
    g.pop("kiosk_device_id", None)
    logout_user()
    fresh_session()
    if reason in ENDED:
        config = current_app.config
        idle = config["KIOSK_IDLE_MINUTES" if device_id else "SESSION_IDLE_MINUTES"]
        flash(_(ENDED[reason], n=idle if reason == "idle"
                else config["SESSION_ABSOLUTE_HOURS"]), "info")
    if request.method == "GET":
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    return redirect(url_for("auth.login"))


def fresh_session() -> None:
    """A new cookie session (at sign-in, sign-out, or when the server ended the session); only
    the language choice carries over."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def fresh_sign_in_required(view: Callable) -> Callable:
    """POSTs of a decision to this view need a sign-in within the freshness window. Otherwise
    the person confirms their password and code on a page that carries the posted form along,
    and the decision goes on from where it was (nothing is done meanwhile, nothing typed is
    lost)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if request.method != "POST" or not needs_fresh_sign_in() or sessions.is_fresh(
                db.session(), actor(), token(), rules()):
            return view(*args, **kwargs)
        form = ReauthForm(prefix="reauth", meta={"csrf": False})
        if "reauth-password" in request.form:
            if form.validate() and confirm_identity(form):
                return view(*args, **kwargs)
            form.form_errors.append(_("The password or the code is wrong."))
        carried = posted_fields(lambda name: name.startswith("reauth-"))
        uploads = [name for name, file in request.files.items(multi=True) if file.filename]
        return render_template("auth/reauthenticate.html", form=form, carried=carried,
                               minutes=current_app.config["FRESH_SIGN_IN_MINUTES"],
                               uploads=uploads), 422 if form.form_errors else 200

    return wrapped


def confirm_identity(form) -> bool:
    """The signed-in person's password and (when enrolled) authenticator code are right; the
    freshness window starts again."""
    user = current_user._get_current_object()
    fernet = current_app.extensions["custody_mfa"]
    if accounts.confirm_password(db.session(), actor(), form.password.data) and (
            user.totp_enrolled_at is None
            or mfa.verify(db.session(), actor(), user, form.code.data, fernet)):
        sessions.refresh(db.session(), actor(), token())
        return True
    return False


def code_refusal(user, code: str) -> str:
    """Why a code was refused, in words that tell the person what to do."""
    if mfa.already_used(user, code, actor().now, current_app.extensions["custody_mfa"]):
        return _("This code has already been used. Wait for the app to show the next code "
                 "(at most 30 seconds) and type that one.")
    return _("The code is not right. Type the six digits the app shows now, or one of your "
             "recovery codes.")


def needs_fresh_sign_in() -> bool:
    """Whether the posted action is a decision, a consent, or a release of data."""
    return request.form.get("action") in FRESH_ACTIONS


FRESH_ACTIONS = frozenset({"approve", "refuse", "grant_consent", "refuse_consent",
                           "return_for_supplement", "prepare", "release", "revoke", "extend"})


def init_app(app: Flask) -> None:
    """Check the session before every request."""
    app.config.setdefault("SESSION_IDLE_MINUTES", 30)
    app.config.setdefault("SESSION_ABSOLUTE_HOURS", 12)
    app.config.setdefault("FRESH_SIGN_IN_MINUTES", 30)
    app.config.setdefault("KIOSK_IDLE_MINUTES", 10)
    app.before_request(_check)
