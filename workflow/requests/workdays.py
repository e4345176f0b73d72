"""Working days in Vietnam: weekends and public holidays (Tết and Hùng Kings included) skipped."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property

import holidays


@dataclass(frozen=True)
class Skipped:
    """A day the count passed over, and why."""

    day: dt.date
    reason: str


@dataclass(frozen=True)
class DueDate:
    """A due date with the days that were not counted, so users can see how it was reached."""

    start: dt.date
    working_days: int
    due: dt.date
    skipped: tuple[Skipped, ...]


class WorkCalendar:
    """Vietnamese public holidays from the `holidays` library, plus configured changes."""

    def __init__(self, extra_holidays: dict[dt.date, str] | None = None,
                 extra_workdays: frozenset[dt.date] = frozenset()) -> None:
        self.extra_holidays = dict(extra_holidays or {})
        self.extra_workdays = extra_workdays

    @cached_property
    def _public(self) -> holidays.HolidayBase:
        return holidays.country_holidays("VN", language="vi")

    def why_not_working(self, day: dt.date) -> str | None:
        """None on a working day; otherwise the holiday's name or 'weekend'."""
        if day in self.extra_workdays:
            return None
        if day in self.extra_holidays:
            return self.extra_holidays[day]
        name = self._public.get(day)
        if name:
            return name
        return "Thứ bảy" if day.weekday() == 5 else "Chủ nhật" if day.weekday() == 6 else None

    def add(self, start: dt.date, working_days: int) -> DueDate:
        """The day on which `working_days` full working days after `start` have passed."""
        day, counted, skipped = start, 0, []
        while counted < working_days:
            day += dt.timedelta(days=1)
            reason = self.why_not_working(day)
            if reason is None:
                counted += 1
            else:
                skipped.append(Skipped(day, reason))
        return DueDate(start, working_days, day, tuple(skipped))

    def between(self, start: dt.date, end: dt.date) -> int:
        """Working days after `start` up to and including `end` (0 when end <= start)."""
        count, day = 0, start
        while day < end:
            day += dt.timedelta(days=1)
            if self.why_not_working(day) is None:
                count += 1
        return count
