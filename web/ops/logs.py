"""Logs: one line per event, JSON by default under `custody serve`, each carrying the request
id (taken from a safe `X-Request-Id` or made here, echoed in the response), and one access line
per request. No personal data: the endpoint's name is logged, never the URL (it holds ids) nor
the query, a form, a user name or an exception's message (a database error quotes the values it
was given)."""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import logging
import re
import secrets
import sys
import time
import traceback
from collections.abc import Iterator

from flask import Flask, Response, g, has_request_context, request

from web.ops import metrics

HEADER = "X-Request-Id"
# What is taken from a client or a proxy as the request's id: a token, not free text.
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{7,99}")
# The fields of a record that reach a line besides the standard ones: nothing else does.
EXTRA_FIELDS = ("endpoint", "method", "status", "duration_ms")
HANDLER_NAME = "custody"
# The application's own loggers log from INFO; other libraries' only from WARNING (their INFO
# lines are noise, and some name what they handle, such as a certificate's subject).
APP_LOGGERS = ("custody", "web", "workflow", "gunicorn.error")
access_log = logging.getLogger("custody.access")
# The request id carried into work done outside the request (a job, a thread).
_carried: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being served, or the one carried into the running job."""
    if has_request_context() and "request_id" in g:
        return g.request_id
    return _carried.get()


@contextlib.contextmanager
def carried_request_id(request_id: str | None) -> Iterator[None]:
    """Run work under a request's id (what a job runner does with `current_request_id()`
    taken when the job was queued), so that its log lines name the request that asked."""
    token = _carried.set(request_id)
    try:
        yield
    finally:
        _carried.reset(token)


class RequestIdFilter(logging.Filter):
    """Adds the current request id to every record (`-` outside any request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Always keep the record."""
        record.request_id = current_request_id() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request id, access fields."""

    def format(self, record: logging.LogRecord) -> str:
        """The line."""
        line = {"time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                    timespec="milliseconds"),
                "level": record.levelname, "logger": record.name,
                "message": record.getMessage(),
                "request_id": getattr(record, "request_id", None) or current_request_id()}
        line |= {name: getattr(record, name) for name in EXTRA_FIELDS if hasattr(record, name)}
        if record.exc_info and record.exc_info[0] is not None:
            line["exception"] = exception_summary(record.exc_info[1])
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """A line for people: time, level, logger, request id, message (exceptions summarised)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def formatException(self, ei) -> str:  # noqa: N802 - logging's name
        """The exception without its message."""
        return exception_summary(ei[1])


def exception_summary(error: BaseException | None) -> str:
    """The exception's type and where it was raised, frame by frame, without its message."""
    if error is None:
        return ""
    frames = traceback.extract_tb(error.__traceback__)
    where = "; ".join(f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno} in {frame.name}"
                      for frame in frames[-8:])
    return f"{type(error).__module__}.{type(error).__qualname__} at {where}"


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is when a record comes, as logging's last resort does
    (a test runner or a daemon may swap it after logging was configured)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self):  # noqa: ANN201 - a text stream
        """Standard error now."""
        return sys.stderr


def handler(log_format: str = "json") -> logging.Handler:
    """A handler writing to standard error in this format (`json` or `text`)."""
    if log_format not in ("json", "text"):
        raise ValueError(f"LOG_FORMAT must be json or text, not {log_format!r}")
    made = _StderrHandler()
    made.set_name(HANDLER_NAME)
    made.addFilter(RequestIdFilter())
    made.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    return made


def configure(log_format: str) -> None:
    """Send every logger's records to standard error in this format; called again, it
    replaces its own handler rather than adding one."""
    made = handler(log_format)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(made)
    root.setLevel(logging.WARNING)
    for name in APP_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)


def gunicorn_config(log_format: str) -> dict:
    """gunicorn's `logconfig_dict`: its own lines go through the same handler (its access log
    is off: it writes the URL, which holds ids, and the application writes its own)."""
    return {"version": 1, "disable_existing_loggers": False,
            "handlers": {HANDLER_NAME: {"()": handler, "log_format": log_format}},
            "root": {"level": "WARNING", "handlers": [HANDLER_NAME]},
            "loggers": {**{name: {"level": "INFO", "handlers": [], "propagate": True}
                           for name in APP_LOGGERS},
                        "gunicorn.access": {"level": "INFO", "handlers": [],
                                            "propagate": False}}}


def _begin() -> None:
    given = request.headers.get(HEADER, "")
    g.request_id = given if SAFE_ID.fullmatch(given) else secrets.token_hex(16)
    g.request_started = time.perf_counter()


def _finish(response: Response) -> Response:
    response.headers[HEADER] = g.request_id
    seconds = time.perf_counter() - g.request_started
    endpoint = metrics.endpoint_label(request.endpoint)
    method = metrics.method_label(request.method)
    metrics.observe_request(endpoint, method, response.status_code, seconds)
    access_log.info("%s %s %s", method, endpoint, response.status_code,
                    extra={"endpoint": endpoint, "method": method,
                           "status": response.status_code,
                           "duration_ms": round(seconds * 1000, 1)})
    return response


def init_app(app: Flask) -> None:
    """Give each request its id, and time, count and log it. Registered before every other
    hook, so that the id exists for them and the time covers their work (the commit too)."""
    app.before_request(_begin)
    app.after_request(_finish)
