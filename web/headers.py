"""Security headers on every response, and no caching of anything personal."""

from __future__ import annotations

from flask import Flask, Response, request

# No inline script or style anywhere in the templates: everything comes from this origin.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    # Same-origin only: Flask-WTF checks the Referer of forms posted over HTTPS.
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}


def secure(response: Response) -> Response:
    """Add the headers; pages and files of signed-in users are never stored by any cache."""
    for name, value in ALWAYS.items():
        response.headers.setdefault(name, value)
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", CSP)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security",
                                    "max-age=31536000; includeSubDomains")
    if request.endpoint != "static":
        # Every page and file may hold personal data or depend on who asks.
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    return response


def init_app(app: Flask) -> None:
    """Register the after-request hook."""
    app.after_request(secure)
