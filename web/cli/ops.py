"""`custody backup` and `custody restore` (Decree Art. 11)."""

from __future__ import annotations

import subprocess  # noqa: S404 - only to report pg_dump / pg_restore failures
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from web.cli.common import app_engine
from workflow.db import utcnow
from workflow.errors import DomainError
from workflow.operations import backup
from workflow.security import dbroles


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False))
@with_appcontext
def backup_command(path: str) -> None:
    """Write a consistent copy of the database to PATH, with PATH.manifest.json beside it."""
    try:
        manifest = backup.back_up(app_engine(), Path(path))
    except DomainError as error:
        raise click.ClickException(error.message % error.params) from error
    except subprocess.CalledProcessError as error:
        raise click.ClickException(f"pg_dump failed: {error.stderr.decode()[-500:]}") from error
    rows = sum(manifest["counts"].values())
    click.echo(f"Backed up {len(manifest['counts'])} tables, {rows} rows (audit head "
               f"{manifest['audit_head']['seq'] if manifest['audit_head'] else '-'}) to {path}.")


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--replace", is_flag=True,
              help="Restore over a database that is not empty (it is replaced).")
@with_appcontext
def restore_command(path: str, replace: bool) -> None:
    """Restore PATH into the configured database, then check it against the manifest (row
    counts, audit chain and head); exit 1 unless it is good."""
    try:
        check = backup.restore(Path(path), app_engine(), replace=replace)
    except DomainError as error:
        raise click.ClickException(error.message % error.params) from error
    except subprocess.CalledProcessError as error:
        raise click.ClickException(
            f"pg_restore failed: {error.stderr.decode()[-500:]}") from error
    if check.good:
        click.echo(f"Restored and verified: {len(check.counts)} tables, "
                   f"{sum(check.counts.values())} rows, audit chain of {check.audit_entries} "
                   "entries intact. GOOD.")
        aside = _set_witness_aside()
        if aside:
            click.echo(f"The audit witness log of the replaced database was kept as {aside}; "
                       "a new one begins.")
        return
    for problem in check.problems:
        click.echo(f"PROBLEM {problem}", err=True)
    click.echo("The restored copy is NOT good.", err=True)
    sys.exit(1)


def _set_witness_aside() -> Path | None:
    """The restored chain ends where the backup did, before commits the witness log saw: keep
    that log under another name (evidence of what was committed) and let a new one begin."""
    path = current_app.extensions["custody_audit_sealer"].witness_path
    if not path.exists():
        return None
    aside = path.with_name(f"{path.name}.before-restore-{utcnow():%Y%m%dT%H%M%S.%fZ}")
    path.rename(aside)
    return aside


@click.command("grant-app-role")
@click.argument("role")
@with_appcontext
def grant_app_role_command(role: str) -> None:
    """PostgreSQL: create ROLE for the web application and grant it what it needs, without
    UPDATE, DELETE or TRUNCATE on the audit trail and the other append-only tables."""
    try:
        statements = dbroles.grant_app_role(app_engine(), role)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Role {role}: {len(statements)} statements applied. Connect the application "
               f"as {role} (DATABASE_URL); run migrations as the owner.")
