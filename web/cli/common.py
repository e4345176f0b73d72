"""What the subcommands share: the app's sessions and engine, and a service's refusal (audited)
as the command's error."""

from __future__ import annotations

import click
from flask import Flask, current_app

from workflow.audit import chain as audit
from workflow.context import Actor
from workflow.errors import DomainError


def app_sessions():
    """The application's session factory."""
    return current_app.extensions["custody_sessions"]


def app_engine():
    """The application's engine."""
    return engine_of(current_app)


def app_sealer() -> audit.Sealer:
    """The process's audit sealer: its key is read once."""
    return current_app.extensions["custody_audit_sealer"]


def refused(session, actor: Actor, command: str, error: DomainError) -> click.ClickException:
    """A command's refusal: its work undone, the refusal audited (as every surface audits one),
    and the message as the command's error."""
    session.rollback()
    audit.record(session, actor, "access.refused", outcome=audit.Outcome.DENIED,
                 object_type="command", object_id=command,
                 details={"status": error.status, "reason": error.message}, actor_name="cli")
    session.commit()
    return click.ClickException(error.message % error.params)


def run_service(session, actor: Actor, command: str, action):
    """A service's result, or its refusal (audited) as the command's error."""
    try:
        return action()
    except DomainError as error:
        raise refused(session, actor, command, error) from error


def engine_of(app: Flask):
    """An application's engine, outside its context."""
    return app.extensions["custody_engine"]
