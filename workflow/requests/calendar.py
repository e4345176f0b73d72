"""Changes of the working-day calendar the government decides (an ad-hoc day off, a working
Saturday, a change withdrawn): each a new row with its reason and who recorded it, audited, and
every open request's due date reckoned again with it, the change written on its timeline (a
stopped clock's too: its due date is the one it resumes towards)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.audit import chain as audit
from workflow.context import Actor
from workflow.errors import Forbidden, InvalidInput
from workflow.i18n import N_
from workflow.models import AccessRequest, CalendarDay
from workflow.requests import clock
from workflow.requests.enums import OPEN_STATES, CalendarChange
from workflow.requests.kernel import Workflow, calendar_of, system_note
from workflow.requests.policy import can_change_calendar


@dataclass
class CalendarReport:
    """What one change did: the row, and the requests whose due date moved or stayed."""

    entry: CalendarDay
    moved: list[tuple[str, dt.date, dt.date]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def change_day(session: Session, flow: Workflow, actor: Actor, day: dt.date,
               change: CalendarChange, reason: str) -> CalendarReport:
    """Record a day off, a working day or the withdrawal of the day's change, then reckon every
    open request's due date again."""
    if not can_change_calendar(actor.user):
        raise Forbidden(N_("Your role does not allow this."))
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise InvalidInput(N_("Say why the calendar changes: the decision and its number "
                              "(at least 5 characters)."))
    before = calendar_of(session, flow)
    in_force = clock.changes_in_force(session).get(day)
    if change is CalendarChange.WITHDRAWN:
        if in_force is None or in_force.change is CalendarChange.WITHDRAWN:
            raise InvalidInput(N_("No change of %(day)s is in force to withdraw."), day=day)
    elif change is CalendarChange.DAY_OFF and before.off(day) is not None:
        raise InvalidInput(N_("%(day)s is already a day off."), day=day)
    elif change is CalendarChange.WORKING_DAY and before.off(day) is None:
        raise InvalidInput(N_("%(day)s is already a working day."), day=day)
    entry = CalendarDay(day=day, change=change, reason=reason,
                        recorded_by_id=actor.user.id if actor.user else None,
                        recorded_at=actor.now)
    session.add(entry)
    session.flush()
    report = CalendarReport(entry)
    calendar = calendar_of(session, flow)
    stmt = (select(AccessRequest).where(AccessRequest.state.in_(sorted(OPEN_STATES)),
                                        AccessRequest.due_on.is_not(None))
            .order_by(AccessRequest.id).with_for_update(key_share=True))
    for request in session.scalars(stmt):
        if "start" not in request.deadline:
            continue
        was, due = clock.reckon_into(request, calendar)
        if was == due:
            report.unchanged.append(request.number)
            continue
        request.version += 1
        report.moved.append((request.number, was, due))
        system_note(session, actor, request, "calendar", {
            "day": day, "change": change.value, "reason": reason, "due_before": was,
            "due": due})
    audit.record(session, actor, f"calendar.{change.value}", object_type="calendar_day",
                 object_id=entry.id, purpose=reason,
                 details={"day": day.isoformat(), "moved": len(report.moved)},
                 actor_name=actor.ip)
    session.flush()
    return report


def calendar_changes(session: Session) -> list[CalendarDay]:
    """Every change recorded, by day and then in the order recorded."""
    return list(session.scalars(select(CalendarDay).order_by(CalendarDay.day, CalendarDay.id)))

