"""Who is acting, from where: passed to every service so it can check and audit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from workflow.db import utcnow
from workflow.models import User


@dataclass(frozen=True)
class Actor:
    """The acting user (None for anonymous acts such as a failed sign-in) and their address."""

    user: User | None
    ip: str | None = None
    now: dt.datetime = field(default_factory=utcnow)

    @property
    def today(self) -> dt.date:
        """Today's date in Vietnam (UTC+7), where the records' dates are kept."""
        return (self.now + dt.timedelta(hours=7)).date()


SYSTEM = Actor(user=None, ip="local")
