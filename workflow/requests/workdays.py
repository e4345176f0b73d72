"""Working days in Vietnam: weekends and public holidays (Tết and Hùng Kings included) skipped,
the government's ad-hoc days off and working Saturdays applied, and a request's stopped clock
(its pauses) not counted. The one place where working days are reckoned."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import holidays

# Why a day was not counted: the kinds the deadline explainer names.
WEEKEND, HOLIDAY, DAY_OFF, PAUSED = "weekend", "holiday", "day_off", "paused"
# A day counted although it is usually off: a working Saturday decided by the government.
WORKING_DAY = "working_day"


@dataclass(frozen=True)
class Skipped:
    """A day the count passed over (or, kind `working_day`, counted by decision), and why."""

    day: dt.date
    reason: str
    kind: str = WEEKEND

    def as_json(self) -> dict:
        """As stored in a request's deadline."""
        return {"day": self.day.isoformat(), "reason": self.reason, "kind": self.kind}


@dataclass(frozen=True)
class Pause:
    """A stop of a request's clock: working days after `start` up to and including `end` are
    not counted; an open pause (no `end`) is ignored until it ends."""

    start: dt.date
    end: dt.date | None
    why: str

    def covers(self, day: dt.date) -> bool:
        """Whether the clock was stopped on that day."""
        return self.end is not None and self.start < day <= self.end


@dataclass(frozen=True)
class DueDate:
    """A due date with the days that were not counted, so users can see how it was reached."""

    start: dt.date
    working_days: int
    due: dt.date
    skipped: tuple[Skipped, ...]
    # Days counted that are usually off (working Saturdays by decision).
    worked: tuple[Skipped, ...] = ()


class WorkCalendar:
    """Vietnamese public holidays from the `holidays` library, plus the changes decided since
    (ad-hoc days off and working days, each with its reason)."""

    def __init__(self, extra_holidays: Mapping[dt.date, str] | None = None,
                 extra_workdays: Mapping[dt.date, str] | None = None) -> None:
        self.extra_holidays = dict(extra_holidays or {})
        self.extra_workdays = dict(extra_workdays or {})

    @cached_property
    def _public(self) -> holidays.HolidayBase:
        import holidays  # its calendars (lunar, Hebrew, …) load in 0.2 s: only when counting

        return holidays.country_holidays("VN", language="vi")

    def with_changes(self, days_off: Mapping[dt.date, str],
                     working: Mapping[dt.date, str]) -> WorkCalendar:
        """This calendar with more decided days off and working days (they win over its own)."""
        changed = WorkCalendar({**{d: r for d, r in self.extra_holidays.items()
                                   if d not in working}, **days_off},
                               {**{d: r for d, r in self.extra_workdays.items()
                                   if d not in days_off}, **working})
        if "_public" in self.__dict__:
            changed.__dict__["_public"] = self._public  # the library's table, built once
        return changed

    def usual(self, day: dt.date) -> tuple[str, str] | None:
        """Why the day is off without decided changes: (kind, reason), or None."""
        name = self._public.get(day)
        if name:
            return HOLIDAY, name
        if day.weekday() >= 5:
            return WEEKEND, "Thứ bảy" if day.weekday() == 5 else "Chủ nhật"
        return None

    def off(self, day: dt.date) -> tuple[str, str] | None:
        """Why the day is not a working day: (kind, reason), or None on a working day."""
        if day in self.extra_workdays:
            return None
        if day in self.extra_holidays:
            return DAY_OFF, self.extra_holidays[day]
        return self.usual(day)

    def why_not_working(self, day: dt.date) -> str | None:
        """None on a working day; otherwise the holiday's name or the weekday."""
        off = self.off(day)
        return off[1] if off else None

    def add(self, start: dt.date, working_days: int, pauses: Iterable[Pause] = ()) -> DueDate:
        """The day on which `working_days` full working days after `start` have passed, the
        working days of closed pauses not counted."""
        pauses = tuple(pauses)
        day, counted, skipped, worked = start, 0, [], []
        while counted < working_days:
            day += dt.timedelta(days=1)
            off = self.off(day)
            stop = next((p for p in pauses if p.covers(day)), None)
            if off is not None:
                skipped.append(Skipped(day, off[1], off[0]))
            elif stop is not None:
                skipped.append(Skipped(day, stop.why, PAUSED))
            else:
                counted += 1
                if day in self.extra_workdays and self.usual(day):
                    worked.append(Skipped(day, self.extra_workdays[day], WORKING_DAY))
        return DueDate(start, working_days, day, tuple(skipped), tuple(worked))

    def between(self, start: dt.date, end: dt.date) -> int:
        """Working days after `start` up to and including `end` (0 when end <= start)."""
        count, day = 0, start
        while day < end:
            day += dt.timedelta(days=1)
            if self.off(day) is None:
                count += 1
        return count
