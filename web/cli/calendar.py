"""`custody calendar`: the government's changes of the working-day calendar (an ad-hoc day off,
a working Saturday, a change withdrawn), each recorded with its reason and audited, and every
open request's due date reckoned again with it."""

from __future__ import annotations

import datetime as dt

import click
from flask import current_app
from flask.cli import with_appcontext

from web.cli.common import app_sessions, run_service
from workflow.context import Actor
from workflow.requests import calendar
from workflow.requests.enums import CalendarChange

REASON = click.option("--reason", required=True,
                      help="The decision and why, e.g. 'Thông báo 1234/TB-BNV: nghỉ bù'.")
DAY = click.argument("day", type=click.DateTime(formats=["%Y-%m-%d", "%d/%m/%Y"]))


@click.group("calendar")
def calendar_group() -> None:
    """The working-day calendar deadlines are counted in."""


def _change(day: dt.datetime, change: CalendarChange, reason: str) -> None:
    flow = current_app.extensions["custody_workflow"]
    with app_sessions()() as session:
        actor = Actor(None, "cli")
        report = run_service(session, actor, f"calendar {change.value}", lambda: (
            calendar.change_day(session, flow, actor, day.date(), change, reason)))
        session.commit()
    click.echo(f"{day.date():%d/%m/%Y}: {change.value} recorded ({reason}).")
    for number, before, after in report.moved:
        click.echo(f"  {number}: due {before:%d/%m/%Y} -> {after:%d/%m/%Y}")
    click.echo(f"Open requests: {len(report.moved)} due dates moved, "
               f"{len(report.unchanged)} unchanged.")


@calendar_group.command("add-day-off")
@DAY
@REASON
@with_appcontext
def add_day_off_command(day: dt.datetime, reason: str) -> None:
    """Make DAY a day off (a holiday moved or added by the government's decision)."""
    _change(day, CalendarChange.DAY_OFF, reason)


@calendar_group.command("add-working-day")
@DAY
@REASON
@with_appcontext
def add_working_day_command(day: dt.datetime, reason: str) -> None:
    """Make DAY a working day (a Saturday worked to make up for a day off)."""
    _change(day, CalendarChange.WORKING_DAY, reason)


@calendar_group.command("withdraw")
@DAY
@REASON
@with_appcontext
def withdraw_command(day: dt.datetime, reason: str) -> None:
    """Withdraw the change in force for DAY (it stays on record; a new row says so)."""
    _change(day, CalendarChange.WITHDRAWN, reason)


@calendar_group.command("list")
@with_appcontext
def list_command() -> None:
    """Every change recorded, by day, the one in force last."""
    with app_sessions()() as session:
        rows = calendar.calendar_changes(session)
        for row in rows:
            who = row.recorded_by.username if row.recorded_by else "cli"
            click.echo(f"{row.day:%d/%m/%Y}  {row.change.value:<12} {row.reason}  "
                       f"[{who}, {row.recorded_at:%Y-%m-%d %H:%M} UTC]")
    if not rows:
        click.echo("No changes recorded: the public holidays and weekends alone apply.")
