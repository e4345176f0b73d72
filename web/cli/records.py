"""`custody import-records`: a facility's file of records, all rows or none."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from workflow.context import Actor
from workflow.errors import DomainError
from workflow.models import Organisation, User
from workflow.records import bulk_import


@click.command("import-records")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--facility", "facility_code", required=True, help="Code of the facility.")
@click.option("--as", "username", required=True, help="The clerk the records are entered by.")
@with_appcontext
def import_records_command(path: str, facility_code: str, username: str) -> None:
    """Register the persons of a CSV, XLSX or JSON file; exit 1 with the rejected rows."""
    with current_app.extensions["custody_sessions"]() as session:
        user = session.scalar(select(User).where(User.username == username))
        facility = session.scalar(select(Organisation).where(
            Organisation.code == facility_code))
        if user is None or facility is None:
            raise click.ClickException("No such account or facility.")
        try:
            rows = bulk_import.read_rows(Path(path).read_bytes(), path)
            result = bulk_import.import_rows(session, Actor(user, "cli"), facility.id, rows,
                                             Path(path).name)
        except DomainError as error:
            raise click.ClickException(error.message % error.params) from error
        session.commit()
    if result.applied:
        click.echo(f"Imported {result.imported} persons into {facility_code}.")
        return
    for r in result.rejected:
        click.echo(f"row {r.row}{' ' + r.column if r.column else ''}: "
                   f"{r.message % r.params if r.params else r.message}", err=True)
    click.echo(f"Nothing was imported: {len(result.rejected)} of {result.rows} rows rejected.",
               err=True)
    sys.exit(1)
