"""The audit trail from the command line: verify the chain and its seals, sign a checkpoint,
export it; and the deadline sweep, which the audit records."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from web.cli.common import app_sealer, app_sessions
from workflow.audit import chain as audit
from workflow.audit import checkpoints
from workflow.context import Actor
from workflow.figures import dashboard
from workflow.requests import deadlines
from workflow.restriction import sweep as restriction_sweep


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
    sealer = app_sealer()
    public = checkpoints.public_key_of(data) if data else sealer.key.public_key()
    witness = sealer.witness_path
    with app_sessions()() as session:
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
    key = app_sealer().key
    with app_sessions()() as session:
        data = checkpoints.export(session, key)
    Path(path).write_text(json.dumps(data, indent=1), "utf-8")
    click.echo(f"Exported {len(data['checkpoints'])} checkpoints (key {data['key_id']}) to "
               f"{path}.")


def _checkpoint_if_due(force: bool = False) -> int | None:
    """Create a checkpoint when one is due (or forced); the entry it names, if any."""
    key = app_sealer().key
    config = current_app.config
    with app_sessions()() as session:
        actor = Actor(None, "cron")
        if not force and not checkpoints.due(session, actor.now,
                                             config["AUDIT_CHECKPOINT_ENTRIES"],
                                             config["AUDIT_CHECKPOINT_MINUTES"]):
            return None
        try:
            made = checkpoints.create(session, actor, key)
        except audit.ChainBroken as broken:
            raise click.ClickException(f"{broken}; no checkpoint signed (run `custody audit "
                                       f"verify`)") from broken
        session.commit()
        return made.seq if made else None


@click.command("sweep")
@with_appcontext
def sweep_command() -> None:
    """Mark due-soon and overdue requests, escalate, expire; flag residence restrictions
    missing a report-in, an assessment or a handover; safe to run from cron."""
    flow = current_app.extensions["custody_workflow"]
    with app_sessions()() as session:
        report = deadlines.sweep(session, flow, Actor(None, "cron"))
        session.commit()
    click.echo(f"due soon: {len(report.due_soon)}, overdue: {len(report.overdue)}, "
               f"escalated: {len(report.escalated)}, expired: {len(report.expired)}")
    with app_sessions()() as session:
        flagged = restriction_sweep.sweep(session, flow, Actor(None, "cron"))
        session.commit()
    click.echo(f"residence restriction: report-ins missing: {len(flagged.report_in)}, "
               f"assessments missing: {len(flagged.assessment)}, "
               f"handovers late: {len(flagged.handover)}")
    made = _checkpoint_if_due()
    if made:
        click.echo(f"audit checkpoint signed at entry {made}")
    config = current_app.config
    counted = 0
    with app_sessions()() as session:
        for fresh in dashboard.warm(session, Actor(None, "cron"), flow.rules,
                                    current_app.extensions["custody_statistics"],
                                    dt.timedelta(minutes=config["STATISTICS_MAX_AGE_MINUTES"])):
            session.commit()
            counted += fresh
    click.echo(f"statistics counted for {counted} bodies")
