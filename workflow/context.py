"""Who is acting, from where: passed to every service so it can check and audit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from workflow.db import utcnow
from workflow.models import User

# The records' dates are Vietnam's (UTC+7): a day starts and ends there.
VN = dt.timezone(dt.timedelta(hours=7))


def vietnam_day(moment: dt.datetime) -> dt.date:
    """The Vietnamese calendar day of a moment."""
    return moment.astimezone(VN).date()


def vn_midnight(day: dt.date) -> dt.datetime:
    """The moment a Vietnamese calendar day begins."""
    return dt.datetime.combine(day, dt.time(), VN)


@dataclass(frozen=True)
class Actor:
    """The acting user (None for anonymous acts such as a failed sign-in) and their address."""

    user: User | None
    ip: str | None = None
    now: dt.datetime = field(default_factory=utcnow)
    # The registered kiosk device a detained person acts from (every audit entry names it).
    device_id: int | None = None
    # The PIN of the actor's signing token, typed for this act alone (never stored or shown).
    pin: str | None = field(default=None, repr=False, compare=False)

    @property
    def today(self) -> dt.date:
        """Today's date in Vietnam (UTC+7), where the records' dates are kept."""
        return vietnam_day(self.now)


SYSTEM = Actor(user=None, ip="local")
