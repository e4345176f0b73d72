"""A request's clock: the terms its deadline was set on (start, working days, the extension
allowed, whether a consent stops it), its pauses and stacked extensions, kept in the request's
`deadline`; the due date is reckoned from them with the calendar in force (`workdays`), so that
it can be reckoned again when the calendar changes. Pure bookkeeping: the operations write the
timeline."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.models import AccessRequest, CalendarDay
from workflow.requests.enums import CalendarChange, RequestState
from workflow.requests.workdays import DueDate, Pause, WorkCalendar

# Why a clock stops: the requester's turn, or a consent the law sets no time for.
RETURNED, CONSENT = "returned", "consent"
WAITING = (RequestState.AWAITING_APPROVAL, RequestState.AWAITING_CONSENT)


def changes_in_force(session: Session) -> dict[dt.date, CalendarDay]:
    """The calendar's decided change of each day: the latest row recorded for it."""
    return {row.day: row for row in session.scalars(select(CalendarDay).order_by(CalendarDay.id))}


def calendar_in(session: Session, base: WorkCalendar) -> WorkCalendar:
    """The calendar with the changes in force."""
    latest = changes_in_force(session)
    return base.with_changes(
        {d: r.reason for d, r in latest.items() if r.change is CalendarChange.DAY_OFF},
        {d: r.reason for d, r in latest.items() if r.change is CalendarChange.WORKING_DAY})


def terms(due: DueDate, rule_version: str, *, extension_cap: int,
          consent_stops_clock: bool) -> dict:
    """A new deadline: what it was set on, with no pause and no extension yet."""
    return {"rule_version": rule_version, "start": due.start.isoformat(),
            "working_days": due.working_days, "extension_cap": extension_cap,
            "consent_stops_clock": consent_stops_clock, "pauses": [], "extensions": [],
            **_reckoned(due)}


def pauses(request: AccessRequest) -> list[Pause]:
    """The request's pauses, oldest first (the last may be open)."""
    return [Pause(dt.date.fromisoformat(p["from"]),
                  dt.date.fromisoformat(p["to"]) if p.get("to") else None, p["why"])
            for p in request.deadline.get("pauses", [])]


def open_pause(request: AccessRequest) -> Pause | None:
    """The pause the clock is in now, if it is stopped."""
    found = pauses(request)
    return found[-1] if found and found[-1].end is None else None


def extensions(request: AccessRequest) -> list[dict]:
    """The extensions granted, oldest first: working days, reason, day decided."""
    return list(request.deadline.get("extensions", []))


def extension_left(request: AccessRequest) -> int:
    """Working days of extension the rule set still allows this request."""
    cap = request.deadline.get("extension_cap", 0)
    return max(cap - sum(e["working_days"] for e in extensions(request)), 0)


def stops_for(request: AccessRequest, state: RequestState) -> str | None:
    """Why the clock is stopped in this state, or None while it runs."""
    if state is RequestState.RETURNED:
        return RETURNED
    if state is RequestState.AWAITING_CONSENT and request.deadline.get("consent_stops_clock"):
        return CONSENT
    return None


def follow(request: AccessRequest, now: dt.datetime, day: dt.date) -> str | None:
    """Stop or restart the clock for the state the request is now in; why it stopped now, if
    it did. A request without a deadline has no pauses, only when it was returned."""
    current, why = open_pause(request), stops_for(request, request.state)
    if "start" not in request.deadline:
        request.paused_at = (request.paused_at or now) if why else None
        return None
    if (current.why if current else None) == why:
        return None
    listed = request.deadline.get("pauses", [])
    if current is not None:
        listed[-1]["to"] = day.isoformat()
    if why is not None:
        listed.append({"from": day.isoformat(), "to": None, "why": why})
    request.paused_at = now if why is not None else None
    _write(request, pauses=listed)
    return why


def add_extension(request: AccessRequest, working_days: int, reason: str,
                  day: dt.date) -> None:
    """Record an extension decided on `day` (reckon the due date again after)."""
    _write(request, extensions=[*extensions(request), {
        "working_days": working_days, "reason": reason, "on": day.isoformat()}])


def reckon(request: AccessRequest, calendar: WorkCalendar) -> DueDate:
    """The due date from the deadline's terms: its working days after its start, then each
    extension after the due date before it (after the day it was decided, if that was later:
    an extension decided when the request was overdue runs from that day), the working days of
    closed pauses not counted."""
    d = request.deadline
    stops = pauses(request)
    due = calendar.add(dt.date.fromisoformat(d["start"]), d["working_days"], stops)
    skipped, worked, total = list(due.skipped), list(due.worked), due.working_days
    for extension in extensions(request):
        start = max(due.due, dt.date.fromisoformat(extension["on"]))
        due = calendar.add(start, extension["working_days"], stops)
        skipped += due.skipped
        worked += due.worked
        total += extension["working_days"]
    return DueDate(dt.date.fromisoformat(d["start"]), total, due.due, tuple(skipped),
                   tuple(worked))


def reckon_into(request: AccessRequest, calendar: WorkCalendar) -> tuple[dt.date, dt.date]:
    """Reckon the due date again and set it on the request and its open steps; (before, after).
    """
    before, due = request.due_on, reckon(request, calendar)
    request.due_on = due.due
    for step in request.open_steps():
        step.due_on = due.due
    _write(request, **_reckoned(due))
    if before != due.due:
        request.due_soon_notified = request.overdue_notified = False
    return before, due.due


def paused_days(pause: Pause, calendar: WorkCalendar) -> int:
    """The working days a closed pause took off the clock."""
    return calendar.between(pause.start, pause.end) if pause.end else 0


def is_overdue(request: AccessRequest, day: dt.date) -> bool:
    """Past its due date, waiting for a decision, and its clock running."""
    return (request.state in WAITING and request.due_on is not None
            and request.paused_at is None and day > request.due_on)


@dataclass(frozen=True)
class Explanation:
    """How a request's due date is reached, for its page: `due` (days counted and skipped),
    the pauses with the working days each took, the extensions, the clock stopped now."""

    due: DueDate
    base_days: int
    pauses: tuple[tuple[Pause, int], ...]
    extensions: tuple[dict, ...]
    stopped: Pause | None


def explain(request: AccessRequest, calendar: WorkCalendar) -> Explanation | None:
    """The deadline explainer of a request with a deadline, with the calendar in force."""
    if "start" not in request.deadline:
        return None
    return Explanation(reckon(request, calendar), request.deadline["working_days"],
                       tuple((p, paused_days(p, calendar)) for p in pauses(request) if p.end),
                       tuple(extensions(request)), open_pause(request))


def _reckoned(due: DueDate) -> dict:
    return {"due": due.due.isoformat(), "skipped": [s.as_json() for s in due.skipped],
            "worked": [s.as_json() for s in due.worked]}


def _write(request: AccessRequest, **values) -> None:
    request.deadline_json = json.dumps(request.deadline | values, ensure_ascii=False)

