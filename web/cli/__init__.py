"""The `custody` command, one module per group of subcommands: `server` (init, demo, serve),
`accounts` (users, API tokens, an authenticator key's code), `audit` (verify, checkpoint,
export, the sweep), `calendar` (the government's days off and working days), `records` (bulk
import), `documents` (extracts, signing keys), `exchange` (packages, trust, feeds), `mail` (the
outbox), `webhooks` (their outbox), `worker` (all of the scheduled work, run by itself) and
`ops` (backup, restore and its drill, the database role)."""

from __future__ import annotations

from importlib import import_module

import click
from flask import Flask
from flask.cli import FlaskGroup

# Each command: where it is defined, and the first sentence of its help, so that `custody --help`
# lists the commands without importing them or building the application (a test checks both
# against the commands themselves). The one that is run is imported then.
COMMANDS: dict[str, tuple[str, str]] = {
    "audit": ("web.cli.audit:audit_group", "The audit trail."),
    "backup": ("web.cli.ops:backup_command", "Write a consistent, encrypted copy of the "
               "database to PATH (or, with --rotate, into DIR), with its manifest beside it."),
    "calendar": ("web.cli.calendar:calendar_group",
                 "The working-day calendar deadlines are counted in."),
    "create-token": ("web.cli.accounts:create_token_command", "Issue an API token for a system "
                     "account; it is printed once and only its hash is kept."),
    "create-user": ("web.cli.accounts:create_user_command",
                    "Create an account (audited as an action of the system)."),
    "demo": ("web.cli.server:demo_command",
             "Load deterministic demo data into an empty database."),
    "exchange": ("web.cli.exchange:exchange_group", "Exchange with the other subsystem and "
                 "other databases (Decree Arts. 6, 8, 13)."),
    "extract": ("web.cli.documents:extract_group", "Issued extracts and letters."),
    "grant-app-role": ("web.cli.ops:grant_app_role_command", "PostgreSQL: create ROLE for the "
                       "web application and grant it what it needs, without UPDATE, DELETE or "
                       "TRUNCATE on the audit trail and the other append-only tables."),
    "import-records": ("web.cli.records:import_records_command", "Register the persons of a "
                       "CSV, XLSX or JSON file; exit 1 with the rejected rows."),
    "init": ("web.cli.server:init_command",
             "Create or upgrade the database schema through the migrations."),
    "load-communes": ("web.cli.organisations:load_communes_command", "Load the commune police "
                      "of a CSV file (code, name, parent, valid_from[, valid_to]) into the "
                      "organisation tree; exit 1 with the bad rows, nothing loaded."),
    "list-tokens": ("web.cli.accounts:list_tokens_command", "The account's tokens: id, name, "
                    "created, expires, last used, revoked."),
    "mail": ("web.cli.mail:mail_group", "Mail about requests (the outbox)."),
    "pki": ("web.cli.documents:pki_group", "Signing certificates of the issuing organisations."),
    "restore": ("web.cli.ops:restore_command", "Restore PATH into the configured database, then "
                "check it against the manifest (row counts, audit chain and head); exit 1 "
                "unless it is good."),
    "restore-drill": ("web.cli.ops:restore_drill_command", "Restore the latest backup in DIR "
                      "(default BACKUP_DIR) into a scratch database, check its counts, audit "
                      "chain and head against its manifest, drop it, and exit 1 on any "
                      "problem."),
    "revoke-token": ("web.cli.accounts:revoke_token_command",
                     "Revoke an API token at once (its id from `custody list-tokens`)."),
    "serve": ("web.cli.server:serve_command",
              "Serve the application with gunicorn (a production WSGI server)."),
    "sweep": ("web.cli.audit:sweep_command", "Mark due-soon and overdue requests, escalate, "
              "expire; flag residence restrictions missing a report-in, an assessment or a "
              "handover; safe to run from cron."),
    # Needs neither the application nor its database: works before `custody init`.
    "totp-code": ("web.cli.accounts:totp_code_command", "The current code of an authenticator "
                  "key, for signing in without a phone: KEY as the enrolment page shows it, in "
                  "groups of four (quoted or not; case does not matter)."),
    "webhooks": ("web.cli.webhooks:webhooks_group", "Webhooks of requesting bodies (the outbox "
                 "of their requests' state changes)."),
    "worker": ("web.cli.worker:worker_command", "Run the scheduled work: the sweep every 15 "
               "minutes, mail every 2 (and the daily digest), webhooks every minute, the "
               "extracts' retention daily, and with BACKUP_DIR a rotated encrypted backup daily "
               "and its restore drill weekly."),
}


def command(name: str) -> click.Command:
    """The command of that name, imported."""
    module, attribute = COMMANDS[name][0].split(":")
    return getattr(import_module(module), attribute)


def register(app: Flask) -> None:
    """Attach the commands to the application's CLI (the worker runs them from there)."""
    for name in COMMANDS:
        app.cli.add_command(command(name), name)


class CustodyGroup(FlaskGroup):
    """`custody`: the application is built when a command that needs it runs (its
    `with_appcontext`), not to find or list the commands."""

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in COMMANDS:
            return command(name)
        return super().get_command(ctx, name)  # Flask's own, and those of extensions

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands()
        return sorted({*click.Group.list_commands(self, ctx), *COMMANDS})

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [(name, (click.Command(name, help=COMMANDS[name][1]) if name in COMMANDS
                        else self.get_command(ctx, name)).get_short_help_str(limit))
                for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _create_app() -> Flask:
    from web import create_app

    return create_app()


main = CustodyGroup(create_app=_create_app, add_default_commands=True,
                    help="Custody records database: administration commands.")
