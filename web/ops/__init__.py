"""Running the service: liveness and readiness probes, Prometheus metrics, request ids and
JSON logs."""

from __future__ import annotations

from flask import Flask

from web.ops import logs


def init_app(app: Flask) -> None:
    """Request ids, timing and logs first (every later hook runs inside them), then the
    probes' routes."""
    from web.ops.views import bp

    if app.config.get("LOG_FORMAT"):
        logs.configure(app.config["LOG_FORMAT"])
    logs.init_app(app)
    app.register_blueprint(bp)
