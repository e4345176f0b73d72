"""`custody exchange …`: packages between the subsystems and feeds under agreements."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from web.cli.common import refused, run_service
from web.keys import EXCHANGE, signing_key
from workflow.audit.checkpoints import key_id, public_pem
from workflow.context import Actor
from workflow.errors import NotFound
from workflow.exchange import feeds, incoming, outgoing, trust
from workflow.i18n import N_
from workflow.models import User


def _in_transaction(work, command: str, account: str | None = None):
    """Run `work(session, actor)` in one transaction as the installation or, when it moves data,
    as the named exchange account (the same gates as its API token). A domain error (an account
    that does not exist too) undoes the work, is audited as a refusal and becomes a clean
    exit."""
    with current_app.extensions["custody_sessions"]() as session:
        actor = Actor(None, "cli")
        if account is not None:
            user = session.scalar(select(User).where(User.username == account))
            if user is None:
                raise refused(session, actor, f"exchange {command}",
                              NotFound(N_("No account is named %(name)s."), name=account))
            actor = Actor(user, "cli")
        result = run_service(session, actor, f"exchange {command}",
                             lambda: work(session, actor))
        session.commit()
        return result


ACCOUNT = click.option("--account", required=True, envvar="CUSTODY_EXCHANGE_ACCOUNT",
                       help="The exchange account acted as (it decides which body's data moves).")


def _write(path: str, data: dict) -> None:
    Path(path).write_text(json.dumps(data, ensure_ascii=False, indent=1), "utf-8")


@click.group("exchange")
def exchange_group() -> None:
    """Exchange with the other subsystem and other databases (Decree Arts. 6, 8, 13)."""


@exchange_group.command("key")
@with_appcontext
def key_command() -> None:
    """Print this installation's public exchange key (give it to the receiving centre)."""
    key = signing_key(EXCHANGE)
    click.echo(f"# key {key_id(key)}")
    click.echo(public_pem(key), nl=False)


@exchange_group.command("trust")
@click.argument("code")
@click.argument("public_key", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def trust_command(code: str, public_key: str) -> None:
    """Accept packages from the body CODE signed with the key in PUBLIC_KEY (PEM)."""
    pem = Path(public_key).read_text("utf-8")
    partner = _in_transaction(lambda s, a: trust.register_partner(s, a, code, pem), "trust")
    click.echo(f"Packages of {code} signed with key {partner.key_id} are accepted.")


@exchange_group.command("export")
@ACCOUNT
@click.option("--source", help="Code of the managing body whose scope is sent (the account's).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False))
@with_appcontext
def export_command(account: str, source: str | None, out: str) -> None:
    """Write the next package of SOURCE's scope (changes since its last package) to OUT."""
    key = signing_key(EXCHANGE)
    package = _in_transaction(lambda s, a: outgoing.export_package(
        s, a, source or a.user.organisation.code, key), "export", account)
    _write(out, package)
    click.echo(f"Package {package['sequence']} of {package['source']}: "
               f"{len(package['records'])} record versions, {len(package['stages'])} case "
               f"stages, written to {out}.")


@exchange_group.command("import")
@ACCOUNT
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_command(account: str, path: str) -> None:
    """Verify and apply a package; exit 1 if it was refused (then nothing was applied)."""
    try:
        package = json.loads(Path(path).read_text("utf-8"))
    except (ValueError, UnicodeDecodeError):
        package = None  # not JSON: refused (and audited) as not a package, like any other
    report = _in_transaction(lambda s, a: incoming.import_package(s, a, package), "import", account)
    if report.already_imported:
        click.echo(f"Package {report.sequence} of {report.source} was imported before: "
                   "nothing changed.")
        return
    click.echo(f"Package {report.sequence} of {report.source}: {report.created} created, "
               f"{report.updated} updated, {report.unchanged} unchanged, "
               f"{len(report.conflicts)} conflicts.")
    for conflict in report.conflicts:
        click.echo(f"CONFLICT {conflict['type']} {conflict['id']}: {conflict['problem']}",
                   err=True)
    if report.conflicts:
        sys.exit(2)


@exchange_group.command("agreement")
@click.option("--partner", required=True, help="Who receives the data.")
@click.option("--fields", required=True,
              help=f"Comma-separated, of: {', '.join(feeds.FEED_FIELDS)}.")
@click.option("--purpose", required=True)
@click.option("--approval", "approval_ref", required=True,
              help="The approving decision (number, date, signer).")
@click.option("--from", "valid_from", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--to", "valid_to", required=True, type=click.DateTime(["%Y-%m-%d"]))
@with_appcontext
def agreement_command(partner: str, fields: str, purpose: str, approval_ref: str,
                      valid_from: dt.datetime, valid_to: dt.datetime) -> None:
    """Record an approved agreement to provide defined fields to another database."""
    made = _in_transaction(lambda s, a: feeds.create_agreement(
        s, a, partner=partner, fields=[f.strip() for f in fields.split(",") if f.strip()],
        purpose=purpose, approval_ref=approval_ref, valid_from=valid_from.date(),
        valid_to=valid_to.date()), "agreement")
    click.echo(f"Agreement {made.id} with {made.partner}: {', '.join(made.fields)}, "
               f"{made.valid_from:%d/%m/%Y} – {made.valid_to:%d/%m/%Y}.")


@exchange_group.command("feed")
@ACCOUNT
@click.argument("agreement_id", type=int)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False))
@with_appcontext
def feed_command(account: str, agreement_id: int, out: str) -> None:
    """Write the feed of an agreement (persons changed since its last run) to OUT."""
    key = signing_key(EXCHANGE)
    feed = _in_transaction(lambda s, a: feeds.run_feed(s, a, agreement_id, key), "feed", account)
    _write(out, feed)
    click.echo(f"Run {feed['run']} of agreement {agreement_id}: {len(feed['persons'])} persons, "
               f"written to {out}.")
