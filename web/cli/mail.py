"""Mail from the command line: send what the outbox owes at once (`custody mail send`, every
minute or two from cron) and each user's daily digest (`custody mail digest`, once a day)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from web.cli.common import app_sessions
from workflow.audit import chain as audit
from workflow.context import Actor
from workflow.db import utcnow
from workflow.notifications import sending
from workflow.notifications.enums import MailDelivery


@click.group("mail")
def mail_group() -> None:
    """Mail about requests (the outbox)."""


def mail_settings(config: dict | None = None) -> sending.MailSettings:
    """The configured SMTP server, sender and public address (of `config`, else the current
    app's); a usage error when missing."""
    config = current_app.config if config is None else config
    base_url = config["PUBLIC_BASE_URL"] or config["SERVING_BASE_URL"]
    missing = [name for name, value in (("CUSTODY_MAIL_SMTP_HOST", config["MAIL_SMTP_HOST"]),
                                        ("CUSTODY_MAIL_SENDER", config["MAIL_SENDER"]),
                                        ("CUSTODY_PUBLIC_BASE_URL", base_url)) if not value]
    if missing:
        raise click.UsageError(f"set {', '.join(missing)}: mail needs a server, a sender and "
                               "the address its links point to")
    return sending.MailSettings(
        host=config["MAIL_SMTP_HOST"], port=int(config["MAIL_SMTP_PORT"]),
        # from_prefixed_env reads JSON: a password of digits arrives as a number.
        username=config["MAIL_SMTP_USER"] or None,
        password=None if config["MAIL_SMTP_PASSWORD"] is None
        else str(config["MAIL_SMTP_PASSWORD"]),
        starttls=bool(config["MAIL_SMTP_STARTTLS"]), sender=config["MAIL_SENDER"],
        base_url=base_url, timeout=float(config["MAIL_SMTP_TIMEOUT"]))


def _run(delivery: MailDelivery) -> None:
    """Send what is due, committing after each mail; a run that sent or tried something is on
    the trail (an idle one is not: cron runs these every minute)."""
    settings = mail_settings()
    counts = {"sent": 0, "refused": 0}
    with app_sessions()() as session:
        batches = sending.due(session, delivery, utcnow())
        session.commit()
        for ids in batches:
            outcome = sending.send(session, settings, ids, utcnow())
            session.commit()  # each mail's attempt is kept whatever the next one does
            if outcome is not None:
                counts["sent" if outcome else "refused"] += 1
        if any(counts.values()):
            audit.record(session, Actor(None, "cron"),
                         "mail.digest" if delivery is MailDelivery.DIGEST else "mail.send",
                         details=counts)
            session.commit()
    click.echo(f"sent: {counts['sent']}, refused (tried again later): {counts['refused']}")


@mail_group.command("send")
@with_appcontext
def send_command() -> None:
    """Send the mail owed at once; a refused mail is tried again later (safe from cron)."""
    _run(MailDelivery.IMMEDIATE)


@mail_group.command("digest")
@with_appcontext
def digest_command() -> None:
    """Send each user the one mail that gathers their notifications since the last (daily)."""
    _run(MailDelivery.DIGEST)
