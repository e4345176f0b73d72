"""The deadlines of a residence restriction, in working days of the calendar in force: the
report-in after the order, the handover after a change of residence, and the monthly assessment
on the last working day of each month."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from workflow.requests.rules import RuleSet
from workflow.requests.workdays import WorkCalendar


def report_in_due(calendar: WorkCalendar, rules: RuleSet, order_date: dt.date) -> dt.date:
    """The last day the person may report to the commune police after the order."""
    return calendar.add(order_date, rules.restriction_report_days).due


def handover_due(calendar: WorkCalendar, rules: RuleSet, moved_on: dt.date) -> dt.date:
    """The last day the commune may hand the person over after a change of residence."""
    return calendar.add(moved_on, rules.restriction_handover_days).due


def month_of(day: dt.date) -> dt.date:
    """The month of a day, as its first day."""
    return day.replace(day=1)


def next_month(month: dt.date) -> dt.date:
    """The first day of the month after."""
    return (month + dt.timedelta(days=32)).replace(day=1)


def last_working_day(calendar: WorkCalendar, month: dt.date) -> dt.date:
    """The month's last working day (the day its assessment is due)."""
    day = next_month(month) - dt.timedelta(days=1)
    while calendar.off(day) is not None and day > month:
        day -= dt.timedelta(days=1)
    return day


def assessment_months(calendar: WorkCalendar, first_due: dt.date, until: dt.date,
                      ended: dt.date | None = None) -> Iterator[tuple[dt.date, dt.date]]:
    """(month, due day) of each month whose assessment falls due from `first_due` (a person
    is assessed once managed: from the report-in's due day) up to `until`, and not after the
    episode's end."""
    month = month_of(first_due)
    while True:
        due = last_working_day(calendar, month)
        if due > until or (ended is not None and due > ended):
            return
        if due >= first_due:
            yield month, due
        month = next_month(month)
