"""Reports facilities file with the body above them: periodic (with the facility's figures),
incident and thematic; a correction is a new version of the report."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.db import Base, UTCDateTime, utcnow
from workflow.enums import enum_type
from workflow.figures.enums import ReportKind, ReportState
from workflow.models.organisations import Organisation
from workflow.models.users import User

REPORT_STATE_CHECKS = {
    "submitted_when": "state = 'draft' OR submitted_at IS NOT NULL",
    "decided_when": "state NOT IN ('accepted', 'returned', 'superseded') "
                    "OR (decided_at IS NOT NULL AND decided_by_id IS NOT NULL)",
    "returned_why": "state <> 'returned' OR decision_note IS NOT NULL",
}


class FacilityReport(Base):
    """One version of one report of a facility."""

    __tablename__ = "facility_report"
    __table_args__ = (
        CheckConstraint("period_end >= period_start", name="period"),
        # The lifecycle's states and the columns they imply (migration 0016).
        *[CheckConstraint(sql, name=name) for name, sql in REPORT_STATE_CHECKS.items()],
        Index("ix_facility_report_facility", "facility_id", "kind", "period_end"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    kind: Mapped[ReportKind] = mapped_column(enum_type(ReportKind))
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(255))
    figures_json: Mapped[str] = mapped_column("figures", Text, default="{}")
    body: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[ReportState] = mapped_column(enum_type(ReportState),
                                               default=ReportState.DRAFT)
    version: Mapped[int] = mapped_column(Integer, default=1)
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("facility_report.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    decision_note: Mapped[str | None] = mapped_column(Text)

    facility: Mapped[Organisation] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    previous: Mapped[FacilityReport | None] = relationship(remote_side=[id])

    @property
    def figures(self) -> dict[str, int]:
        """The facility's figures a periodic report gives."""
        return json.loads(self.figures_json)
