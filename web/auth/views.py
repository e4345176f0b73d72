"""Sign in, sign out, change password, choose the language."""

from __future__ import annotations

from urllib.parse import urlsplit

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

from forms.auth import LanguageForm, LoginForm, PasswordForm, ReauthForm
from web import db
from web.extensions import limiter
from web.forms_support import attempt, status_for
from web.security import actor
from web.sessions import token
from workflow import accounts, audit, sessions

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    # Only a path on this site: never an absolute or protocol-relative URL, and no backslash,
    # which browsers read as a slash ("/\\evil.example" would leave the site).
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("main.home")


def _fresh_session() -> None:
    # A new session at every sign-in and sign-out; only the language choice carries over.
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


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
            _fresh_session()
            login_user(user)
            session["sid"] = sessions.begin(db.session(), actor(), user)
            return redirect(_safe_next(request.args.get("next")))
        # The same words whether the name is unknown, the password wrong or the account locked.
        form.form_errors.append(_("Sign-in failed: the username or password is wrong, or the "
                                  "account is locked. After 5 failed attempts within 15 minutes "
                                  "an account is locked until an administrator unlocks it."))
    return render_template("auth/login.html", form=form), status_for(form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Sign out (POST only, with the CSRF token)."""
    audit.record(db.session(), actor(), "auth.logout")
    sessions.end(db.session(), actor(), token())
    logout_user()
    _fresh_session()
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
    """Confirm one's password before a decision, a consent or a release."""
    form = ReauthForm()
    if form.validate_on_submit():
        if accounts.confirm_password(db.session(), actor(), form.password.data):
            sessions.refresh(db.session(), actor(), token())
            return redirect(_safe_next(request.args.get("next")))
        form.form_errors.append(_("The password is wrong."))
    return render_template("auth/reauthenticate.html", form=form), status_for(form)


@bp.route("/language", methods=["POST"])
def language():
    """Switch between Vietnamese and English."""
    form = LanguageForm()
    if form.validate_on_submit() and form.lang.data in current_app.config["LANGUAGES"]:
        session["lang"] = form.lang.data
    return redirect(_safe_next(request.form.get("next")))
