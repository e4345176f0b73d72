"""This browser as a kiosk: its device cookie, and the guard that keeps a kiosk device and a
kiosk session on the kiosk's pages only (least privilege)."""

from __future__ import annotations

from flask import Flask, Response, abort, current_app, g, redirect, request, url_for
from flask_login import current_user

from web import db
from web.security import UNATTENDED
from workflow.models import KioskDevice
from workflow.security import kiosk

COOKIE = "custody_kiosk"
COOKIE_DAYS = 5 * 365
# The pages a kiosk device shows to anyone standing at it.
DEVICE_PAGES = frozenset({"static", "auth.language", "kiosk.sign_in", "kiosk.end_here"})
# The pages of a detained person signed in at the kiosk.
PERSON_PAGES = frozenset({"kiosk.home", "kiosk.my_record", "kiosk.my_reads", "kiosk.new_request",
                          "kiosk.request_status", "kiosk.sign_out"})


def secret() -> str | None:
    """The device secret this browser holds, if any."""
    return request.cookies.get(COOKIE)


def this_device() -> KioskDevice | None:
    """The registered kiosk device this browser is, if any (looked up once per request)."""
    if "kiosk_device" not in g:
        g.kiosk_device = kiosk.device_by_secret(db.session(), secret())
    return g.kiosk_device


def remember(response: Response, device_secret: str) -> Response:
    """Keep the device secret in a long-lived cookie no script can read and no other site can
    send."""
    response.set_cookie(COOKIE, device_secret, max_age=COOKIE_DAYS * 86400, httponly=True,
                        samesite="Strict", secure=current_app.config.get(
                            "SESSION_COOKIE_SECURE", False))
    return response


def in_kiosk_session() -> bool:
    """Whether the signed-in session was begun at a kiosk (set by the session check)."""
    return g.get("kiosk_device_id") is not None


def _guard():
    endpoint = request.endpoint
    # No such route or method (404 or 405 follows), or one that anyone may open anywhere.
    if endpoint is None or endpoint in UNATTENDED:
        return None
    if in_kiosk_session():
        if endpoint in PERSON_PAGES or endpoint in DEVICE_PAGES:
            return None
        if request.method == "GET" and endpoint in ("main.home", "auth.login"):
            return redirect(url_for("kiosk.home"))
        abort(403)
    device = this_device()
    if device is not None and device.in_kiosk_mode:
        if endpoint in DEVICE_PAGES:
            return None
        if request.method == "GET":
            return redirect(url_for("kiosk.sign_in"))
        abort(403)
    if endpoint in PERSON_PAGES:
        if not current_user.is_authenticated:  # not at a kiosk: the officials' sign-in
            return redirect(url_for("auth.login"))
        abort(403)
    return None


def init_app(app: Flask) -> None:
    """Guard every request (after the session check, which marks kiosk sessions)."""
    app.before_request(_guard)
