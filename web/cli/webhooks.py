"""Webhooks from the command line: deliver what the outbox owes (`custody webhooks deliver`,
every minute from cron) and an administrator's registering or disabling of a body's
webhooks (`--as` names the administrator's account: the same gate as the API's)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from web.api.integration import http_hosts
from web.cli.common import app_sessions, run_service
from workflow.audit import chain as audit
from workflow.context import Actor
from workflow.db import utcnow
from workflow.models import Organisation, User
from workflow.webhooks import delivery, registry


@click.group("webhooks")
def webhooks_group() -> None:
    """Webhooks of requesting bodies (the outbox of their requests' state changes)."""


@webhooks_group.command("deliver")
@with_appcontext
def deliver_command() -> None:
    """Deliver the owed state changes, committing after each; a failed one is tried again
    later with a doubling wait (safe from cron)."""
    counts = {"delivered": 0, "failed": 0}
    with app_sessions()() as session:
        owed = delivery.due(session, utcnow())
        session.commit()
        for outbox_id in owed:
            outcome = delivery.deliver(session, outbox_id, utcnow())
            session.commit()  # each attempt is kept whatever the next one does
            if outcome is not None:
                counts["delivered" if outcome else "failed"] += 1
        if any(counts.values()):  # an idle run is not on the trail: cron runs it every minute
            audit.record(session, Actor(None, "cron"), "webhook.deliver", details=counts)
            session.commit()
    click.echo(f"delivered: {counts['delivered']}, failed (tried again later): "
               f"{counts['failed']}")


def _as_admin(session, username: str) -> Actor:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"No account is named {username}.")
    return Actor(user, "cli")


def _org(session, code: str) -> Organisation:
    org = session.scalar(select(Organisation).where(Organisation.code == code))
    if org is None:
        raise click.ClickException(f"No organisation has the code {code}.")
    return org


AS = click.option("--as", "username", required=True, help="The administrator's account.")
ORG = click.option("--org", "code", required=True, help="The requesting body's code.")


@webhooks_group.command("register")
@AS
@ORG
@click.option("--url", required=True, help="HTTPS address of the body's receiver.")
@with_appcontext
def register_command(username: str, code: str, url: str) -> None:
    """Register a webhook for a body; prints its secret (shown this once)."""
    with app_sessions()() as session:
        actor, org = _as_admin(session, username), _org(session, code)
        hook = run_service(session, actor, "webhooks register", lambda: registry.register(
            session, actor, org.id, url, http_hosts=http_hosts()))
        session.commit()
        click.echo(f"webhook {hook.id} for {org.code}: {hook.url}\nsecret: {hook.secret}")


@webhooks_group.command("disable")
@AS
@ORG
@click.argument("webhook_id", type=int)
@with_appcontext
def disable_command(username: str, code: str, webhook_id: int) -> None:
    """Stop sending to a body's webhook."""
    with app_sessions()() as session:
        actor, org = _as_admin(session, username), _org(session, code)
        run_service(session, actor, "webhooks disable",
                    lambda: registry.disable(session, actor, org.id, webhook_id))
        session.commit()
        click.echo(f"webhook {webhook_id} disabled")
