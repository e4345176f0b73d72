"""Accounts from the command line: creating users (system accounts included) and the API tokens
of system accounts."""

from __future__ import annotations

import datetime as dt

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from web.cli.common import app_sessions, run_service
from workflow.context import SYSTEM
from workflow.enums import Role, Secrecy
from workflow.models import Organisation, User
from workflow.security import accounts, mfa, tokens


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
    with app_sessions()() as session:
        org = session.execute(
            select(Organisation).where(Organisation.code == org_code)).scalar_one_or_none()
        if org is None:
            raise click.ClickException(f"Unknown organisation code {org_code}.")
        user = run_service(session, SYSTEM, "create-user", lambda: accounts.create_user(
            session, SYSTEM, username=username, full_name=full_name,
            organisation_id=org.id, roles={Role(r) for r in roles}, password=password,
            clearance=Secrecy(clearance), person_id=person_id, system=system))
        session.commit()
        click.echo(f"Created {user.username} at {org.name}.")


@click.command("create-token")
@click.option("--username", required=True, help="The system account the token acts as.")
@click.option("--name", required=True, help="What the token is for.")
@click.option("--days", type=int, help="How long it lives (default: CUSTODY_API_TOKEN_DAYS).")
@with_appcontext
def create_token_command(username: str, name: str, days: int | None) -> None:
    """Issue an API token for a system account; it is printed once and only its hash is kept."""
    with app_sessions()() as session:
        user = _account(session, username)
        _row, token = run_service(session, SYSTEM, "create-token", lambda: tokens.issue(
            session, SYSTEM, user, name, days or current_app.config["API_TOKEN_DAYS"]))
        session.commit()
    click.echo(token)


@click.command("list-tokens")
@click.option("--username", required=True, help="The system account.")
@with_appcontext
def list_tokens_command(username: str) -> None:
    """The account's tokens: id, name, created, expires, last used, revoked."""
    with app_sessions()() as session:
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
    with app_sessions()() as session:
        row = run_service(session, SYSTEM, "revoke-token",
                          lambda: tokens.revoke(session, SYSTEM, token_id))
        session.commit()
        click.echo(f"Revoked token {row.id} ({row.name}) of {row.user.username}.")


def _account(session, username: str) -> User:
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise click.ClickException(f"No account {username}.")
    return user


@click.command("totp-code")
@click.argument("key", nargs=-1, required=True)
def totp_code_command(key: tuple[str, ...]) -> None:
    """The current code of an authenticator key, for signing in without a phone: KEY as the
    enrolment page shows it, in groups of four (quoted or not; case does not matter)."""
    secret = mfa.normalise_secret(" ".join(key))
    if secret is None:
        raise click.ClickException("This is not an authenticator key: type the letters A-Z and "
                                   "digits 2-7 shown under the QR code of the enrolment page.")
    click.echo(mfa.current_code(secret, dt.datetime.now(dt.UTC)))
