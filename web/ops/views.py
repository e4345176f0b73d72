"""The probes a load balancer polls and the metrics Prometheus scrapes: anonymous, never
audited, outside the rate limits, the session check and the kiosk guard, and telling nothing
of the installation (no versions, paths or addresses)."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Iterable

from flask import Blueprint, Flask, Response, abort, current_app, jsonify, request

from web.extensions import limiter, limits_shared
from web.ops import metrics
from workflow import health
from workflow.db import utcnow

bp = Blueprint("ops", __name__)
# A request relayed by a proxy: its peer address is the proxy's, whatever client sent it.
FORWARDED = ("Forwarded", "X-Forwarded-For", "X-Real-IP")
log = logging.getLogger(__name__)


class Probes:
    """The engine the probes read through, and one deadline for each kind of read."""

    def __init__(self, app: Flask) -> None:
        self.engine = health.probe_engine(app.extensions["custody_engine"])
        self.readiness: health.Deadline[list[health.Check]] = health.Deadline()
        self.figures: health.Deadline[health.Figures | None] = health.Deadline()


def _probes() -> Probes:
    # Made on first use: the application's engine exists only once the factory has run.
    app = current_app._get_current_object()
    if "custody_probes" not in app.extensions:
        app.extensions["custody_probes"] = Probes(app)
    return app.extensions["custody_probes"]


@bp.get("/healthz")
@limiter.exempt
def healthz() -> Response:
    """Liveness: the process answers (the database is not asked)."""
    return jsonify(status="ok")


@bp.get("/readyz")
@limiter.exempt
def readyz() -> tuple[Response, int]:
    """Readiness: the database answers in time, its schema is at the migrations' head and
    the audit chain has its head row; 503 with the failed checks' reasons otherwise."""
    probes, seconds = _probes(), current_app.config["READINESS_TIMEOUT_SECONDS"]
    late = [health.Check("database", False, f"the checks did not finish within {seconds:g} s")]
    others = [_store_check(limiter.storage)] if limits_shared(current_app) else []
    if current_app.config.get("QUEUE_URL"):
        others.append(_queue_check(current_app.extensions["custody_jobs"]))
    try:
        checks = probes.readiness.run(lambda: health.readiness(probes.engine, others),
                                      seconds, late)
    except Exception as error:  # a bug in a check: not ready (the message may hold data)
        log.error("the readiness checks failed: %s", type(error).__name__)
        checks = [health.Check("checks", False, "the checks could not run")]
    ready = all(check.ok for check in checks)
    return jsonify(status="ready" if ready else "not ready", checks=[
        {"name": c.name, "status": "ok" if c.ok else "failed", **({"reason": c.reason}
                                                                   if c.reason else {})}
        for c in checks]), 200 if ready else 503


def _store_check(store) -> Callable[[], health.Check]:
    def check() -> health.Check:
        try:
            answered = bool(store.check())
        except Exception:  # noqa: BLE001 - a store that raises does not answer either
            answered = False
        return health.Check("rate_limit_store", answered,
                            "" if answered else "the shared rate-limit store does not answer")

    return check


def _queue_check(dispatcher) -> Callable[[], health.Check]:
    def check() -> health.Check:
        try:
            answered = bool(dispatcher.queue().connection.ping())
        except Exception:  # noqa: BLE001 - a queue that raises does not answer either
            answered = False
        return health.Check("job_queue", answered,
                            "" if answered else "the job queue (Redis) does not answer")

    return check


@bp.get("/metrics", endpoint="metrics")
@limiter.exempt
def metrics_view() -> Response:
    """The metrics, to the addresses of METRICS_ALLOWED only (404 to others, like any route
    that does not exist). A relayed request is refused too: a reverse proxy on this machine
    would otherwise pass anyone's request on from the loopback address."""
    if any(name in request.headers for name in FORWARDED) or not address_allowed(
            request.remote_addr, current_app.config["METRICS_ALLOWED"]):
        abort(404)
    probes = _probes()
    try:
        figures = probes.figures.run(lambda: health.figures(probes.engine, utcnow()),
                                     current_app.config["READINESS_TIMEOUT_SECONDS"], None)
    except Exception as error:  # the database did not answer: custody_database_up says so
        log.warning("the database figures could not be read: %s", type(error).__name__)
        figures = None
    return Response(metrics.exposition(figures), content_type=metrics.CONTENT_TYPE)


def address_allowed(address: str | None, allowed: Iterable[str]) -> bool:
    """Whether the address is one of, or in a network of, the allowed ones."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for entry in allowed:
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue  # a mistyped entry allows nothing
    return False
