"""`custody backup` (encrypted, optionally rotated), `custody restore` and `custody restore-drill`
(Decree Art. 11)."""

from __future__ import annotations

import datetime as dt
import subprocess  # noqa: S404 - only to report pg_dump / pg_restore failures
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from web.cli.common import app_engine, app_sessions
from web.keys import instance_file
from workflow.audit import chain as audit
from workflow.context import Actor
from workflow.db import utcnow
from workflow.errors import DomainError
from workflow.operations import backup, encryption, rotation
from workflow.security import dbroles

BACKUP_KEY_FILE = ("BACKUP_KEY_FILE", "backup-key")


def backup_key(*, create: bool) -> bytes | None:
    """The key backups are encrypted with: BACKUP_KEY (base64, e.g. from a secret store), else
    the file BACKUP_KEY_FILE names (default instance/backup-key, made by the first backup)."""
    config = current_app.config
    if config.get("BACKUP_KEY"):
        return encryption.key_from_text(config["BACKUP_KEY"])
    path = instance_file(BACKUP_KEY_FILE)
    if create:
        return encryption.load_or_create_key(path)
    return encryption.key_from_text(path.read_text("ascii")) if path.exists() else None


def _record(drill: bool, outcome: str, details: dict) -> None:
    """Write a backup's or a drill's run to the live database's audit trail (a backup never
    holds its own entry)."""
    with app_sessions()() as session:
        audit.record(session, Actor(None, "cron"), "backup.drill" if drill else "backup.create",
                     outcome=outcome, object_type="command",
                     object_id="restore-drill" if drill else "backup", details=details)
        session.commit()


def _failure(drill: bool, details: dict, error: Exception) -> click.ClickException:
    """A run that failed: recorded as such, and its reason as the command's error."""
    if isinstance(error, DomainError):
        reason = error.message % error.params
    elif isinstance(error, subprocess.CalledProcessError):
        tool = Path(error.cmd[0]).name
        reason = f"{tool} failed: {(error.stderr or b'').decode(errors='replace')[-500:]}"
    else:
        reason = str(error)
    _record(drill, audit.Outcome.FAILURE, {**details, "reason": reason})
    return click.ClickException(reason)


@click.command("backup")
@click.argument("path", required=False, type=click.Path(dir_okay=False))
@click.option("--rotate", "directory", metavar="DIR", type=click.Path(file_okay=False),
              help="Write a backup named for this moment into DIR, then delete the older "
                   "backups --rotate made that no longer count among the newest of the last "
                   "days, weeks and months.")
@click.option("--keep-daily", type=click.IntRange(min=0),
              help="Days kept with --rotate (BACKUP_KEEP_DAILY, default 7).")
@click.option("--keep-weekly", type=click.IntRange(min=0),
              help="Weeks kept with --rotate (BACKUP_KEEP_WEEKLY, default 4).")
@click.option("--keep-monthly", type=click.IntRange(min=0),
              help="Months kept with --rotate (BACKUP_KEEP_MONTHLY, default 12).")
@with_appcontext
def backup_command(path: str | None, directory: str | None, keep_daily: int | None,
                   keep_weekly: int | None, keep_monthly: int | None) -> None:
    """Write a consistent, encrypted copy of the database to PATH (or, with --rotate, into DIR),
    with its manifest beside it."""
    if (path is None) == (directory is None):
        raise click.UsageError("Give either PATH or --rotate DIR.")
    config = current_app.config
    keep = (config["BACKUP_KEEP_DAILY"] if keep_daily is None else keep_daily,
            config["BACKUP_KEEP_WEEKLY"] if keep_weekly is None else keep_weekly,
            config["BACKUP_KEEP_MONTHLY"] if keep_monthly is None else keep_monthly)
    details: dict = {"file": path or directory}
    try:
        key = backup_key(create=True)
        if directory:
            written, manifest, deleted = rotation.back_up_and_rotate(
                app_engine(), Path(directory), key, utcnow(), *keep)
        else:
            written, deleted = Path(path), []
            manifest = backup.back_up(app_engine(), written, key)
    except (DomainError, subprocess.CalledProcessError, OSError) as error:
        raise _failure(False, details, error) from error
    rows = sum(manifest["counts"].values())
    _record(False, audit.Outcome.SUCCESS,
            {"file": str(written), "tables": len(manifest["counts"]), "rows": rows,
             "key_id": manifest["encryption"]["key_fingerprint"], "deleted": len(deleted)})
    click.echo(f"Backed up {len(manifest['counts'])} tables, {rows} rows (audit head "
               f"{manifest['audit_head']['seq'] if manifest['audit_head'] else '-'}) to "
               f"{written}, encrypted with key {manifest['encryption']['key_fingerprint']}.")
    for old in deleted:
        click.echo(f"Deleted the older backup {old.name}.")


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--replace", is_flag=True,
              help="Restore over a database that is not empty (it is replaced).")
@click.option("--allow-unencrypted", is_flag=True,
              help="Accept a backup made before backups were encrypted.")
@with_appcontext
def restore_command(path: str, replace: bool, allow_unencrypted: bool) -> None:
    """Restore PATH into the configured database, then check it against the manifest (row
    counts, audit chain and head); exit 1 unless it is good. Nothing is changed unless the
    whole file first decrypts with the backup key and matches its manifest."""
    try:
        check = backup.restore(Path(path), app_engine(), backup_key(create=False),
                               replace=replace, allow_unencrypted=allow_unencrypted)
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
    _echo_problems(check.problems)
    click.echo("The restored copy is NOT good.", err=True)
    sys.exit(1)


def _echo_problems(problems: list[str]) -> None:
    for problem in problems:
        click.echo(f"PROBLEM {problem}", err=True)


@click.command("restore-drill")
@click.argument("directory", metavar="[DIR]", required=False,
                type=click.Path(exists=True, file_okay=False))
@click.option("--max-age", "max_age_hours", type=click.FloatRange(min=0), metavar="HOURS",
              help="Fail too if the latest backup is older than this (BACKUP_DRILL_MAX_AGE_HOURS).")
@with_appcontext
def restore_drill_command(directory: str | None, max_age_hours: float | None) -> None:
    """Restore the latest backup in DIR (default BACKUP_DIR) into a scratch database, check its
    counts, audit chain and head against its manifest, drop it, and exit 1 on any problem. The
    live database is not touched (on PostgreSQL the scratch database is made on its server)."""
    config = current_app.config
    directory = directory or config["BACKUP_DIR"]
    if not directory:
        raise click.UsageError("Give DIR, or set BACKUP_DIR.")
    if max_age_hours is None:
        max_age_hours = config["BACKUP_DRILL_MAX_AGE_HOURS"]
    details: dict = {"file": directory}
    try:
        result = backup.drill(Path(directory), app_engine(), backup_key(create=False))
    except (DomainError, subprocess.CalledProcessError, OSError) as error:
        raise _failure(True, details, error) from error
    check, made = result.check, dt.datetime.fromisoformat(result.manifest["created_at"])
    age = utcnow() - made
    problems = list(check.problems)
    if max_age_hours is not None and age > dt.timedelta(hours=max_age_hours):
        problems.append(f"the latest backup is {age} old, more than {max_age_hours} hours")
    _record(True, audit.Outcome.FAILURE if problems else audit.Outcome.SUCCESS,
            {"file": str(result.path), "tables": len(check.counts),
             "rows": sum(check.counts.values()), "checked": check.audit_entries,
             **({"reason": "; ".join(problems)} if problems else {})})
    click.echo(f"Restore drill of {result.path.name} (made {made:%Y-%m-%d %H:%M} UTC, "
               f"{age.total_seconds() / 3600:.1f} h ago) into a scratch "
               f"{result.manifest['backend']} database: {len(check.counts)} tables, "
               f"{sum(check.counts.values())} rows, audit chain of {check.audit_entries} "
               "entries checked.")
    if problems:
        _echo_problems(problems)
        click.echo("The restore drill FAILED.", err=True)
        sys.exit(1)
    click.echo("The backup restores and verifies. GOOD.")


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
