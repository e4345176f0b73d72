"""`custody load-communes`: the commune police from a CSV file, all rows or none."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from web.cli.common import app_sessions
from workflow.context import SYSTEM
from workflow.organisations.communes import BadFile, load_communes


@click.command("load-communes")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def load_communes_command(path: str) -> None:
    """Load the commune police of a CSV file (code, name, parent, valid_from[, valid_to]) into
    the organisation tree; exit 1 with the bad rows, nothing loaded."""
    text = Path(path).read_text(encoding="utf-8-sig")
    with app_sessions()() as session:
        try:
            result = load_communes(session, SYSTEM, text, Path(path).name)
        except BadFile as bad:
            session.rollback()
            for row in bad.bad:
                message = row.message % row.params if row.params else row.message
                click.echo(f"line {row.line}: {message}", err=True)
            click.echo(f"Nothing was loaded: {len(bad.bad)} rows are wrong.", err=True)
            sys.exit(1)
        session.commit()
    click.echo(f"{result.rows} rows: {result.created} communes created, {result.renamed} "
               f"renamed, {result.moved} moved, {result.closed} closed, {result.unchanged} "
               "unchanged.")
