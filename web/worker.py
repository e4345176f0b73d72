"""The worker: runs the installation's scheduled work itself — the sweep (deadlines, audit
checkpoints, statistics), mail, webhooks, the extracts' retention, encrypted backups and their
restore drill — so that none of it waits for an operator to remember cron. Each task is one of
the `custody` commands, run in this process at its slots; every run is recorded with its outcome
and what it printed (`custody worker --status`), and a slot claimed by one worker is never run
by another (`workflow.operations.schedule.claim`)."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

import click
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy.exc import SQLAlchemyError

from workflow.db import utcnow
from workflow.models import ScheduledRun
from workflow.operations import schedule
from workflow.operations.schedule import Daily, Every, Schedule

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Task:
    """A command run on a schedule, when the installation is configured for it."""

    name: str
    when: Schedule
    command: str  # the command's path under `custody`, e.g. "mail send"
    enabled: Callable[[dict], bool] = field(default=lambda config: True)
    # Arguments taken from the configuration when the task runs (e.g. the backup folder).
    config_args: Callable[[dict], tuple[str, ...]] = field(default=lambda config: ())


def _mail(config: dict) -> bool:
    """Mail is sent where `custody mail` would send it: a server, a sender, an address."""
    from web.cli.mail import mail_settings

    try:
        mail_settings(config)
    except click.UsageError:
        return False
    return True


def _backups(config: dict) -> bool:
    return bool(config.get("BACKUP_DIR"))


TASKS = (
    # Due-soon and overdue marks, escalation, expiry; the audit checkpoint when due; the
    # statistics counted again (the sweep command does all three).
    Task("sweep", Every(15), "sweep"),
    Task("mail.send", Every(2), "mail send", enabled=_mail),
    Task("mail.digest", Daily(dt.time(7, 0)), "mail digest", enabled=_mail),
    Task("webhooks.deliver", Every(1), "webhooks deliver"),
    Task("extract.purge", Daily(dt.time(3, 0)), "extract purge"),
    Task("backup", Daily(dt.time(2, 0)), "backup", enabled=_backups,
         config_args=lambda config: ("--rotate", str(config["BACKUP_DIR"]))),
    Task("restore-drill", Daily(dt.time(4, 30), weekday=6), "restore-drill", enabled=_backups),
)


# Set in the environment of a worker `custody serve --with-worker` starts: it stops when the
# server does, even one killed without a chance to stop it.
BESIDE_SERVER = "CUSTODY_WORKER_BESIDE_SERVER"
# A run with no end after this long was cut short (its worker stopped or lost the database).
STALE = dt.timedelta(hours=6)


def unfinished(run: ScheduledRun, now: dt.datetime | None = None) -> str:
    """How a run without an end is shown: running, or stale."""
    return "running" if (now or utcnow()) - run.started_at < STALE else "no end (stale)"


def worker_name() -> str:
    """Who claims a slot: the host and the process."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Outcome:
    """How one run of a task went."""

    task: str
    ok: bool
    summary: str


def _run_command(app: Flask, task: Task) -> tuple[bool, str]:
    """Run the task's command in this process, as `custody` would; its output is the summary."""
    group = app.cli
    names = task.command.split()
    command = group
    for name in names:
        command = command.get_command(click.Context(command), name)
    args = list(task.config_args(app.config))
    out = io.StringIO()
    ok = True
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            command.main(args=args, prog_name=f"custody {task.command}", standalone_mode=False,
                         obj=ScriptInfo(create_app=lambda: app))
    except click.ClickException as error:
        ok = False
        out.write(f"\n{error.format_message()}")
    except SystemExit as stop:  # a command that ends with a non-zero exit (the drill)
        ok = stop.code in (0, None)
    except Exception as error:  # noqa: BLE001 - a failed task is recorded, the worker goes on
        ok = False
        log.exception("scheduled task %s failed", task.name)
        out.write(f"\n{type(error).__name__}")  # not its text: it may quote data
    return ok, out.getvalue()


def run_due(app: Flask, now: dt.datetime | None = None,
            tasks: tuple[Task, ...] = TASKS) -> list[Outcome]:
    """Run each enabled task whose current slot no worker has claimed yet; their outcomes."""
    now = now or utcnow()
    sessions = app.extensions["custody_sessions"]
    outcomes = []
    for task in tasks:
        if not task.enabled(app.config):
            continue
        try:
            with sessions() as session:
                run = schedule.claim(session, task.name, task.when.slot(now), worker_name(),
                                     now)
                if run is None:
                    continue
                with app.app_context():
                    ok, summary = _run_command(app, task)
                schedule.finish(session, run, ok, summary, utcnow())
        except SQLAlchemyError:
            # The database went away (a restart, a failover): the worker lives on and tries
            # again at its next look; a claimed run left unfinished shows as such.
            log.exception("the schedule of %s could not be read or written", task.name)
            continue
        outcomes.append(Outcome(task.name, ok, summary))
    return outcomes


def status(app: Flask, limit: int = 30) -> list[ScheduledRun]:
    """The latest runs, newest first."""
    with app.extensions["custody_sessions"]() as session:
        runs = schedule.latest_runs(session, limit)
        session.expunge_all()
        return runs
