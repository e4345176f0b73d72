"""What the subcommands share: the app's sessions and engine, and a service's refusal as the
command's error."""

from __future__ import annotations

import click
from flask import Flask, current_app

from workflow.audit import chain as audit
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


def run_service(action):
    """A service's result, or its refusal as the command's error."""
    try:
        return action()
    except DomainError as error:
        raise click.ClickException(error.message % error.params) from error


def engine_of(app: Flask):
    """An application's engine, outside its context."""
    return app.extensions["custody_engine"]
