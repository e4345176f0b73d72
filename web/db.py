"""One database session per request: committed once at the end, rolled back on error."""

from __future__ import annotations

from flask import Flask, Response, current_app, g
from sqlalchemy.orm import Session

from web.keys import AUDIT, AUDIT_WITNESS, instance_file, signing_key
from workflow.audit import chain as audit
from workflow.db import make_engine, make_session_factory


def init_app(app: Flask) -> None:
    """Create the engine and bind the request lifecycle."""
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["custody_engine"] = engine
    # Every session of the application seals the audit entries it commits; the key is read
    # once per process, on first use (after the instance folder is final).
    sealer = audit.Sealer(lambda: signing_key(AUDIT, app),
                          lambda: instance_file(AUDIT_WITNESS, app))
    app.extensions["custody_audit_sealer"] = sealer
    app.extensions["custody_sessions"] = make_session_factory(engine, {audit.SEALER: sealer})
    app.after_request(_commit)
    app.teardown_request(_close)


def session() -> Session:
    """The request's session, opened on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["custody_sessions"]()
        g.db_session.info[audit.DEFER] = True
    return g.db_session


def _commit(response: Response) -> Response:
    if "db_session" in g and response.status_code < 500:
        g.db_session.commit()
    return response


def _close(exc: BaseException | None) -> None:
    sess = g.pop("db_session", None)
    if sess is not None:
        if exc is not None:
            sess.rollback()
        sess.close()
