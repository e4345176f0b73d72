"""Reports of errors in provided data (báo sai sót dữ liệu, Decree 121/2017 Art. 18 §2): the
recipient of an extract says what is wrong, and the facility keeping the record checks it and
corrects it through a new version of the record (Art. 10 §5), or says why nothing is wrong."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.db import Base, UTCDateTime, utcnow
from workflow.enums import enum_type
from workflow.models.extracts import IssuedDocument
from workflow.models.organisations import Organisation
from workflow.models.records import Person, RecordVersion
from workflow.models.requests import AccessRequest
from workflow.models.users import User
from workflow.records.enums import ErrorReportState

# The lifecycle's states and the columns they imply.
ERROR_REPORT_STATE_CHECKS = {
    "closed_when": "(state = 'open') = (closed_at IS NULL)",
    "closed_by": "state = 'open' OR (closed_by_id IS NOT NULL AND outcome_note IS NOT NULL)",
    "corrected_by": "(state = 'corrected') = (correction_id IS NOT NULL)",
}


class DataErrorReport(Base):
    """One recipient's report of an error in an extract: a correction task for the keeping
    facility."""

    __tablename__ = "data_error_report"
    __table_args__ = (
        *[CheckConstraint(sql, name=name) for name, sql in ERROR_REPORT_STATE_CHECKS.items()],
        # The keeping facility's inbox: its open reports.
        Index("ix_data_error_report_inbox", "facility_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("issued_document.id"), index=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("access_request.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    facility_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    part: Mapped[str | None] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text)
    state: Mapped[ErrorReportState] = mapped_column(enum_type(ErrorReportState),
                                                    default=ErrorReportState.OPEN)
    reported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    reported_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    outcome_note: Mapped[str | None] = mapped_column(Text)
    correction_id: Mapped[int | None] = mapped_column(ForeignKey("record_version.id"))

    document: Mapped[IssuedDocument] = relationship()
    request: Mapped[AccessRequest] = relationship()
    person: Mapped[Person] = relationship()
    facility: Mapped[Organisation] = relationship()
    reported_by: Mapped[User] = relationship(foreign_keys=[reported_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    correction: Mapped[RecordVersion | None] = relationship()
