"""The `custody` command, one module per group of subcommands: `server` (init, demo, serve),
`accounts` (users, API tokens, an authenticator key's code), `audit` (verify, checkpoint,
export, the sweep), `calendar` (the government's days off and working days), `records` (bulk
import), `documents` (extracts, signing keys), `exchange` (packages, trust, feeds), `mail` (the
outbox), `webhooks` (their outbox), `worker` (all of the scheduled work, run by itself) and
`ops` (backup, restore and its drill, the database role)."""

from __future__ import annotations

from flask import Flask
from flask.cli import FlaskGroup


def register(app: Flask) -> None:
    """Attach the commands to the application's CLI."""
    from web.cli.accounts import (
        create_token_command,
        create_user_command,
        list_tokens_command,
        revoke_token_command,
    )
    from web.cli.audit import audit_group, sweep_command
    from web.cli.calendar import calendar_group
    from web.cli.documents import extract_group, pki_group
    from web.cli.exchange import exchange_group
    from web.cli.mail import mail_group
    from web.cli.ops import (
        backup_command,
        grant_app_role_command,
        restore_command,
        restore_drill_command,
    )
    from web.cli.records import import_records_command
    from web.cli.server import demo_command, init_command, serve_command
    from web.cli.webhooks import webhooks_group
    from web.cli.worker import worker_command

    for command in (init_command, demo_command, create_user_command, audit_group, serve_command,
                    sweep_command, create_token_command, list_tokens_command,
                    revoke_token_command, pki_group, extract_group, backup_command,
                    restore_command, restore_drill_command, grant_app_role_command,
                    exchange_group, import_records_command, mail_group, calendar_group,
                    webhooks_group, worker_command):
        app.cli.add_command(command)


def _create_app() -> Flask:
    from web import create_app

    return create_app()


main = FlaskGroup(create_app=_create_app, add_default_commands=True,
                  help="Custody records database: administration commands.")


def _standalone() -> None:
    # Commands that need neither the application nor its database: found without building the
    # app, so they work before `custody init` and without the instance folder.
    from web.cli.accounts import totp_code_command

    main.add_command(totp_code_command)


_standalone()
