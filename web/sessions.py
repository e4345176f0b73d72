"""Every signed-in request is checked against its server-side session record; sensitive acts
need a sign-in within the last 30 minutes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps

from flask import Flask, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from web import db
from web.security import actor
from workflow.i18n import N_
from workflow.security import sessions

ENDED = {
    "idle": N_("You were signed out after 30 minutes without activity. Sign in again."),
    "expired": N_("You were signed out because the session is 12 hours old. Sign in again."),
}


def rules() -> sessions.SessionRules:
    """The configured limits."""
    config = current_app.config
    return sessions.SessionRules(idle=dt.timedelta(minutes=config["SESSION_IDLE_MINUTES"]),
                                 absolute=dt.timedelta(hours=config["SESSION_ABSOLUTE_HOURS"]),
                                 fresh=dt.timedelta(minutes=config["FRESH_SIGN_IN_MINUTES"]))


def token() -> str | None:
    """This browser's session token."""
    return session.get("sid")


def _check() -> object:
    if request.endpoint == "static" or not current_user.is_authenticated:
        return None
    reason = sessions.check(db.session(), actor(), current_user, token(), rules())
    if reason is None:
        return None
    logout_user()
    fresh_session()
    if reason in ENDED:
        flash(_(ENDED[reason]), "info")
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
    """POSTs to this view need a sign-in within the freshness window; others re-enter their
    password first and come back to the page (nothing is done meanwhile)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if request.method == "POST" and needs_fresh_sign_in() and not sessions.is_fresh(
                db.session(), actor(), token(), rules()):
            flash(_("For this action, confirm your password first (your last sign-in was more "
                    "than 30 minutes ago)."), "info")
            return redirect(url_for("auth.reauthenticate", next=request.path))
        return view(*args, **kwargs)

    return wrapped


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
    app.before_request(_check)
