"""The `custody` command: schema, demo data, accounts, audit checks and the production server."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import func, select

from workflow import schema
from workflow.audit import chain as audit
from workflow.audit import checkpoints
from workflow.context import SYSTEM, Actor
from workflow.demo import world as demo
from workflow.enums import Role, Secrecy
from workflow.errors import DomainError
from workflow.figures import dashboard
from workflow.models import Organisation, Person, User
from workflow.requests import deadlines
from workflow.security import accounts, tokens


def _sessions():
    return current_app.extensions["custody_sessions"]


def _engine():
    return current_app.extensions["custody_engine"]


def _sealer() -> audit.Sealer:
    """The process's audit sealer: its key is read once."""
    return current_app.extensions["custody_audit_sealer"]


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Create or upgrade the database schema through the migrations."""
    from web.cli_documents import ensure_credentials

    schema.upgrade(_engine())
    click.echo(f"Database at revision {schema.current_revision(_engine())}: "
               f"{_engine().url.render_as_string(hide_password=True)}")
    created, orgs = ensure_credentials()
    if created:
        click.echo(f"Development signing certificates: {created} created for {orgs} "
                   "organisations (import real ones with `custody pki import`).")


def _print_accounts() -> None:
    click.echo("Demo accounts (username / password / role / organisation):")
    for account in [*demo.DEMO_ACCOUNTS, demo.DETAINEE_ACCOUNT]:
        click.echo(f"  {account.username:<16} {account.password:<22} {account.role.value:<16} "
                   f"{account.org_code}")


@click.command("demo")
@click.option("--persons", default=3000, show_default=True, help="How many persons to create.")
@click.option("--seed", default=2017, show_default=True, help="Random seed (same seed, same data).")
@click.option("--if-empty", is_flag=True, help="Do nothing when records exist already.")
@with_appcontext
def demo_command(persons: int, seed: int, if_empty: bool) -> None:
    """Load deterministic demo data into an empty database."""
    with _sessions()() as session:
        has_records = session.scalar(select(func.count()).select_from(Person))
        if has_records and if_empty:
            click.echo(f"The database already holds {has_records} persons; demo not loaded.")
        else:
            try:
                summary = demo.load_demo(session, SYSTEM, persons=persons, seed=seed,
                                         documents=current_app.extensions["custody_documents"])
            except DomainError as error:
                raise click.ClickException(error.message) from error
            session.commit()
            click.echo(f"Loaded {summary['persons']} persons in {summary['organisations']} "
                       f"organisations, {summary['accounts']} demo accounts.")
    _print_accounts()


@click.command("create-user")
@with_appcontext
@click.option("--username", required=True)
@click.option("--full-name", required=True)
@click.option("--org", "org_code", required=True, help="Organisation code, e.g. TTG-HANOI.")
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice([r.value for r in Role]))
@click.option("--clearance", default="none", type=click.Choice([s.value for s in Secrecy]))
@click.option("--person-id", type=int, help="The linked person (detainee accounts).")
@click.option("--system", is_flag=True,
              help="A system account: another body's software, API tokens only, no sign-in.")
@click.password_option()
def create_user_command(username, full_name, org_code, roles, clearance, person_id, system,
                        password):
    """Create an account (audited as an action of the system)."""
    with _sessions()() as session:
        org = session.execute(
            select(Organisation).where(Organisation.code == org_code)).scalar_one_or_none()
        if org is None:
            raise click.ClickException(f"Unknown organisation code {org_code}.")
        user = _run(lambda: accounts.create_user(
            session, SYSTEM, username=username, full_name=full_name,
            organisation_id=org.id, roles={Role(r) for r in roles}, password=password,
            clearance=Secrecy(clearance), person_id=person_id, system=system))
        session.commit()
        click.echo(f"Created {user.username} at {org.name}.")


def _run(action):
    """A service's result, or its refusal as the command's error."""
    try:
        return action()
    except DomainError as error:
        raise click.ClickException(error.message % error.params) from error


@click.command("create-token")
@click.option("--username", required=True, help="The system account the token acts as.")
@click.option("--name", required=True, help="What the token is for.")
@click.option("--days", type=int, help="How long it lives (default: CUSTODY_API_TOKEN_DAYS).")
@with_appcontext
def create_token_command(username: str, name: str, days: int | None) -> None:
    """Issue an API token for a system account; it is printed once and only its hash is kept."""
    with _sessions()() as session:
        user = _account(session, username)
        _row, token = _run(lambda: tokens.issue(
            session, SYSTEM, user, name, days or current_app.config["API_TOKEN_DAYS"]))
        session.commit()
    click.echo(token)


@click.command("list-tokens")
@click.option("--username", required=True, help="The system account.")
@with_appcontext
def list_tokens_command(username: str) -> None:
    """The account's tokens: id, name, created, expires, last used, revoked."""
    with _sessions()() as session:
        user = _account(session, username)
        for row in tokens.tokens_of(session, user.id):
            click.echo("\t".join([str(row.id), row.name, *(
                moment.isoformat(timespec="minutes") if moment else "-" for moment in (
                    row.created_at, row.expires_at, row.last_used_at, row.revoked_at))]))


@click.command("revoke-token")
@click.argument("token_id", type=int)
@with_appcontext
def revoke_token_command(token_id: int) -> None:
    """Revoke an API token at once (its id from `custody list-tokens`)."""
    with _sessions()() as session:
        row = _run(lambda: tokens.revoke(session, SYSTEM, token_id))
        session.commit()
        click.echo(f"Revoked token {row.id} ({row.name}) of {row.user.username}.")


def _account(session, username: str) -> User:
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise click.ClickException(f"No account {username}.")
    return user


@click.group("audit")
def audit_group() -> None:
    """The audit trail."""


@audit_group.command("verify")
@click.option("--checkpoints", "exported", type=click.Path(exists=True, dir_okay=False),
              help="An exported checkpoint file kept off the machine (its key is trusted).")
@with_appcontext
def audit_verify_command(exported: str | None) -> None:
    """Recompute the hash chain, check every commit's seal and the witness log, and every signed
    checkpoint (those in the database and, if given, those of an exported file); name what is
    wrong and exit 1 if anything is."""
    data = checkpoints.read_export(Path(exported)) if exported else None
    sealer = _sealer()
    public = checkpoints.public_key_of(data) if data else sealer.key.public_key()
    witness = sealer.witness_path
    with _sessions()() as session:
        if session.get_bind().dialect.name == "postgresql":
            # One snapshot for the chain, its head and the witness check, while others write.
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        result = audit.verify(session, sealer.key.public_key(), witness)
        report = checkpoints.verify(session, public, data)
    failed = False
    if result.ok:
        since = (f"; entries 1 to {result.sealed_from - 1} predate sealing"
                 if result.sealed_from and result.sealed_from > 1 else "")
        click.echo(f"Audit chain intact: {result.checked} entries verified, every commit's "
                   f"seal checked{since}.")
    else:
        failed = True
        click.echo(f"Audit chain BROKEN at entry {result.broken_seq}: {result.problem} "
                   f"({result.checked} entries before it verified).", err=True)
    if not witness.exists():
        click.echo(f"No witness log at {witness}: entries cut off the end can be noticed only "
                   f"from exported checkpoints.", err=True)
    if report.ok:
        click.echo(f"Checkpoints: {report.checked} signed checkpoints verified.")
    for problem in report.problems:
        failed = True
        click.echo(f"Checkpoint PROBLEM {problem}", err=True)
    if failed:
        sys.exit(1)


@audit_group.command("checkpoint")
@click.option("--force", is_flag=True, help="Sign the head now even if no checkpoint is due.")
@with_appcontext
def audit_checkpoint_command(force: bool) -> None:
    """Sign the chain's head if N entries or M minutes passed since the last checkpoint."""
    made = _checkpoint_if_due(force)
    click.echo(f"Checkpoint signed at entry {made}." if made else "No checkpoint due.")


@audit_group.command("export-checkpoints")
@click.argument("path", type=click.Path(dir_okay=False))
@with_appcontext
def audit_export_command(path: str) -> None:
    """Write every checkpoint and the public key to PATH, to keep off the machine."""
    key = _sealer().key
    with _sessions()() as session:
        data = checkpoints.export(session, key)
    Path(path).write_text(json.dumps(data, indent=1), "utf-8")
    click.echo(f"Exported {len(data['checkpoints'])} checkpoints (key {data['key_id']}) to "
               f"{path}.")


def _checkpoint_if_due(force: bool = False) -> int | None:
    """Create a checkpoint when one is due (or forced); the entry it names, if any."""
    key = _sealer().key
    config = current_app.config
    with _sessions()() as session:
        actor = Actor(None, "cron")
        if not force and not checkpoints.due(session, actor.now,
                                             config["AUDIT_CHECKPOINT_ENTRIES"],
                                             config["AUDIT_CHECKPOINT_MINUTES"]):
            return None
        made = checkpoints.create(session, actor, key)
        session.commit()
        return made.seq if made else None


@click.command("sweep")
@with_appcontext
def sweep_command() -> None:
    """Mark due-soon and overdue requests, escalate, expire; safe to run from cron."""
    flow = current_app.extensions["custody_workflow"]
    with _sessions()() as session:
        report = deadlines.sweep(session, flow, Actor(None, "cron"))
        session.commit()
    click.echo(f"due soon: {len(report.due_soon)}, overdue: {len(report.overdue)}, "
               f"escalated: {len(report.escalated)}, expired: {len(report.expired)}")
    made = _checkpoint_if_due()
    if made:
        click.echo(f"audit checkpoint signed at entry {made}")
    config = current_app.config
    with _sessions()() as session:
        counted = dashboard.warm(session, Actor(None, "cron"), flow.rules,
                                 config["STATISTICS_MIN_COUNT"],
                                 dt.timedelta(minutes=config["STATISTICS_MAX_AGE_MINUTES"]))
        session.commit()
    click.echo(f"statistics counted for {counted} bodies")


def default_workers() -> int:
    """gunicorn's advice for the number of workers: 2 × cores + 1."""
    return 2 * (os.cpu_count() or 1) + 1


@click.command("serve")
@with_appcontext
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
# gunicorn's advice of 2 × cores + 1 workers: a worker's threads share one interpreter lock, so
# an extract being drawn (seconds of Python) holds up only the requests of its own worker. The
# threads are for waits, such as a sign-in's password check on the low-priority lane.
@click.option("--workers", default=default_workers, type=int,
              show_default="2 × cores + 1")
@click.option("--threads", default=4, show_default=True, type=int)
def serve_command(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the application with gunicorn (a production WSGI server)."""
    from gunicorn.app.base import BaseApplication

    app = current_app._get_current_object()
    audit_key = _sealer().key  # read once, here: the workers inherit it

    class Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", threads)
            # A sign-in's argon2 check and a long extract take seconds under load: allow them.
            self.cfg.set("timeout", 120)
            # Longer than a client's pause between clicks, so a kept-alive connection is not
            # closed just as the next request is sent on it (seen as resets under load).
            self.cfg.set("keepalive", 15)
            self.cfg.set("accesslog", "-")
            # Each worker opens its own connections.
            self.cfg.set("post_fork", lambda _server, _worker: _engine_of(app).dispose(False))

        def load(self) -> Flask:
            return app

    click.echo(f"Serving on http://{host}:{port} (audit key {checkpoints.key_id(audit_key)})")
    Server().run()


def _engine_of(app: Flask):
    return app.extensions["custody_engine"]


def register(app: Flask) -> None:
    """Attach the commands to the application's CLI."""
    from web.cli_documents import extract_group, pki_group
    from web.cli_exchange import exchange_group
    from web.cli_ops import backup_command, grant_app_role_command, restore_command
    from web.cli_records import import_records_command

    for command in (init_command, demo_command, create_user_command, audit_group, serve_command,
                    sweep_command, create_token_command, list_tokens_command,
                    revoke_token_command, pki_group, extract_group,
                    backup_command, restore_command, grant_app_role_command, exchange_group,
                    import_records_command):
        app.cli.add_command(command)


def _create_app() -> Flask:
    from web import create_app

    return create_app()


main = FlaskGroup(create_app=_create_app, add_default_commands=True,
                  help="Custody records database: administration commands.")
