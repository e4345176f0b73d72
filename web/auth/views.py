"""Sign in, sign out, change password, choose the language."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import segno
from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from markupsafe import Markup

from forms.auth import CodeForm, LanguageForm, LoginForm, PasswordForm, ReauthForm
from web import db
from web.extensions import limiter
from web.forms_support import attempt, status_for
from web.security import actor
from web.sessions import code_refusal, confirm_identity, fresh_session, token
from workflow.audit import chain as audit
from workflow.models import User
from workflow.security import accounts, mfa, sessions

bp = Blueprint("auth", __name__)
PENDING_SECONDS = 300  # between the password and the code


def _safe_next(target: str | None) -> str:
    # Only a path on this site: never an absolute or protocol-relative URL, and no backslash,
    # which browsers read as a slash ("/\\evil.example" would leave the site).
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("main.home")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_SIGN_IN"], methods=["POST"])
def login():
    """Sign-in page."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(db.session(), actor(), form.username.data,
                                     form.password.data)
        if user is not None:
            # The password is right: the second factor comes next (enrolment the first time).
            fresh_session()
            session.update(mfa_user=user.id, mfa_at=time.time(),
                           mfa_next=request.args.get("next"))
            return redirect(url_for(".login_code" if user.totp_enrolled_at else ".login_enrol"))
        # The same words whether the name is unknown, the password wrong or the account locked.
        form.form_errors.append(_("Sign-in failed: the username or password is wrong, or the "
                                  "account is locked. After 5 failed attempts within 15 minutes "
                                  "an account is locked until an administrator unlocks it."))
    return render_template("auth/login.html", form=form), status_for(form)


def _fernet():
    return current_app.extensions["custody_mfa"]


def _pending_user() -> User | None:
    """The user who gave the right password in the last 5 minutes and still may sign in."""
    user_id, since = session.get("mfa_user"), session.get("mfa_at")
    if user_id is None or since is None or time.time() - since > PENDING_SECONDS:
        return None
    user = db.session().get(User, user_id)
    return user if user is not None and user.active and user.locked_at is None else None


def _complete(user: User):
    target = session.get("mfa_next")
    fresh_session()
    login_user(user)
    session["sid"] = sessions.begin(db.session(), actor(), user)
    return _safe_next(target)


def _restart():
    fresh_session()
    flash(_("Sign in again."), "info")
    return redirect(url_for(".login"))


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_CODE"], methods=["POST"])
def login_code():
    """The second step: a code from the authenticator app, or a recovery code."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    user = _pending_user()
    if user is None:
        return _restart()
    if user.totp_enrolled_at is None:
        return redirect(url_for(".login_enrol"))
    form = CodeForm()
    if form.validate_on_submit():
        if mfa.verify(db.session(), actor(), user, form.code.data, _fernet()):
            return redirect(_complete(user))
        if user.locked_at is not None:
            return _restart()
        form.form_errors.append(code_refusal(user, form.code.data))
    return render_template("auth/code.html", form=form), status_for(form)


@bp.route("/login/enrol", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_CODE"], methods=["POST"])
def login_enrol():
    """First sign-in: set up the authenticator app, confirm it with a code, get recovery
    codes."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    user = _pending_user()
    if user is None:
        return _restart()
    if user.totp_enrolled_at is not None:
        return redirect(url_for(".login_code"))
    secret = session.get("mfa_secret") or mfa.new_secret()
    session["mfa_secret"] = secret
    form = CodeForm()
    if form.validate_on_submit():
        codes = attempt(form, lambda: mfa.enrol(db.session(), actor(), user, secret,
                                                form.code.data, _fernet()))
        if codes:
            target = _complete(user)
            return render_template("auth/recovery_codes.html", codes=codes, target=target)
    uri = mfa.provisioning_uri(secret, user)
    return render_template("auth/enrol.html", form=form, secret=secret, uri=uri,
                           qr=Markup(segno.make(uri, error="m").svg_inline(  # noqa: S704
                               scale=4, border=2)), user=user), status_for(form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Sign out (POST only, with the CSRF token)."""
    audit.record(db.session(), actor(), "auth.logout")
    sessions.end(db.session(), actor(), token())
    logout_user()
    fresh_session()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change one's own password; other sessions end because the session token changes."""
    form = PasswordForm()
    if form.validate_on_submit():
        done = attempt(form, lambda: accounts.change_password(
            db.session(), actor(), form.current.data, form.new.data) or True)
        if done:
            login_user(current_user._get_current_object())
            sessions.end_all(db.session(), actor(), current_user.id, "password_change",
                             keep=token())
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("main.home"))
    return render_template("auth/password.html", form=form), status_for(form)


@bp.route("/reauthenticate", methods=["GET", "POST"])
@login_required
def reauthenticate():
    """Confirm one's password (and code) to start the freshness window again."""
    form = ReauthForm()
    if form.validate_on_submit():
        if confirm_identity(form):
            return redirect(_safe_next(request.args.get("next")))
        form.form_errors.append(_("The password or the code is wrong."))
    return render_template("auth/reauthenticate.html", form=form, carried=None,
                           minutes=current_app.config["FRESH_SIGN_IN_MINUTES"]), status_for(form)


@bp.route("/language", methods=["POST"])
def language():
    """Switch between Vietnamese and English."""
    form = LanguageForm()
    if form.validate_on_submit() and form.lang.data in current_app.config["LANGUAGES"]:
        session["lang"] = form.lang.data
    return redirect(_safe_next(request.form.get("next")))
