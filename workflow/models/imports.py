"""A facility's file of records waiting for the job that imports it (tệp nhập hồ sơ): kept in
the database, not on one node's disk, so that the worker of either node finds it; the file is
dropped once imported (or once its job failed for good), the report of what happened to each
row kept for its uploader."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from workflow.db import Base


class RecordImport(Base):
    """An uploaded file of records and its import job: the file until the job has imported it
    (or rejected it), then the report instead; neither if the job failed."""

    __tablename__ = "record_import"
    __table_args__ = (
        # Never both: the file is dropped as its report is written (or once its job failed).
        CheckConstraint("content IS NULL OR report_json IS NULL", name="file_or_report"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("background_job.id"), unique=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    filename: Mapped[str] = mapped_column(String(255))
    rows: Mapped[int]
    content: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    # The ImportResult (rows, imported, each rejected row and why), once the job has run.
    report_json: Mapped[str | None] = mapped_column(Text)
