"""The working-day calendar's changes: days off and working days the government decides, each
a new row with its reason and who recorded it (never changed or deleted: a change is withdrawn
by a later row)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.db import Base, UTCDateTime, utcnow
from workflow.enums import enum_type
from workflow.models.users import User
from workflow.requests.enums import CalendarChange


class CalendarDay(Base):
    """One decided change of a day (ngày nghỉ, ngày làm bù); the latest row of a day is in
    force."""

    __tablename__ = "calendar_day"
    __table_args__ = (CheckConstraint("length(reason) >= 5", name="reason_given"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    change: Mapped[CalendarChange] = mapped_column(enum_type(CalendarChange))
    reason: Mapped[str] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    recorded_by: Mapped[User | None] = relationship()
