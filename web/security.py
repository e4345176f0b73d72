"""The acting user for services, and view decorators that check permissions."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps

from flask import abort, g, request, session
from flask_login import current_user, login_required

from web import db
from web.extensions import login_manager
from workflow.context import Actor
from workflow.models import User
from workflow.security import sessions
from workflow.security.permissions import Permission, can

# Answered to anyone without looking at who asks: no session check, no kiosk guard, no
# database read on the way in (the static files, and the probes and metrics polled every few
# seconds by a load balancer and Prometheus).
UNATTENDED = frozenset({"static", "ops.healthz", "ops.readyz", "ops.metrics"})


@login_manager.user_loader
def load_user(token: str) -> User | None:
    """Load the user named by the session token if the password has not changed since."""
    user_id, _, stamp = token.partition(":")
    if not user_id.isdigit():
        return None
    user = sessions.load_signed_in(db.session(), int(user_id), session.get("sid"))
    # A disabled or locked account is signed out everywhere at its next request.
    if user is None or not user.active or user.locked_at is not None \
            or user.get_id() != token:
        return None
    return user


def actor(pin: str | None = None) -> Actor:
    """The acting user and their address, for services and the audit trail; with the PIN of
    their signing token when the act signs a document with it."""
    user = current_user if current_user.is_authenticated else None
    return Actor(user, request.remote_addr, device_id=g.get("kiosk_device_id"), pin=pin or None)


def requires(permission: Permission) -> Callable:
    """Sign-in plus a permission; others get 403 (the error handler audits it)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not can(current_user, permission):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_permission = permission
        return wrapped

    return decorator


def refuse_nul_characters() -> None:
    """A NUL character in the path or in a form or query field answers 400: no field may hold
    one, and PostgreSQL cannot store or even compare it (found by the form fuzzer: a 500 at
    sign-in)."""
    if "\x00" in request.path:  # a path segment reaches queries too (/api/v1/verify/<code>)
        abort(400)
    for values in (request.args, request.form):
        if any("\x00" in key or "\x00" in value for key, value in values.items(multi=True)):
            abort(400)
    # A JSON body writes one as \u0000: only a body that holds that text is parsed to look.
    if request.is_json and re.search(rb"\\u0000", request.get_data(cache=True), re.IGNORECASE) \
            and _holds_nul(request.get_json(silent=True)):
        abort(400)


def _holds_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False
