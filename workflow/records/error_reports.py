"""Reports of errors in provided data (báo sai sót dữ liệu, Decree 121/2017 Art. 18 §2): the
recipient of an extract says what is wrong in it; the report becomes a correction task for the
facility keeping the person's record file (Art. 10 §5), whose clerk corrects the record through
the corrections of `records.corrections` (a new version, never a silent change) and closes the
report as corrected, naming that correction, or as no error found, saying why. The reporter is
told the outcome in their inbox; every step is audited."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.audit import chain as audit
from workflow.context import Actor
from workflow.errors import Conflict, Forbidden, InvalidInput, NotFound
from workflow.i18n import N_
from workflow.lifecycle import Lifecycle, Row
from workflow.models import DataErrorReport, IssuedDocument, RecordVersion, User
from workflow.records.enums import ErrorReportState as S
from workflow.records.policy import (
    can_handle_error_report,
    can_list_error_reports,
    keeping_facility,
    visible_error_reports,
)
from workflow.requests import inbox
from workflow.requests.policy import can_report_error

TABLE = (
    Row("correct", (S.OPEN,), S.CORRECTED, "clerk"),
    Row("dismiss", (S.OPEN,), S.NO_ERROR, "clerk"),
)
LIFECYCLE = Lifecycle(S, TABLE, {"correct": N_("closed as corrected"),
                                 "dismiss": N_("closed: no error found")},
                      initial=(S.OPEN,),
                      refusal=N_("This report is already closed (%(state)s)."))
# What the reporter's inbox says of each outcome (the notification's kind).
NOTICES = {S.CORRECTED: "error_corrected", S.NO_ERROR: "error_no_error"}
DESCRIPTION_MIN, DESCRIPTION_MAX, NOTE_MIN, NOTE_MAX = 10, 2000, 10, 2000


def reportable_extract(session: Session, actor: Actor, document_id: int) -> IssuedDocument:
    """The extract, if the actor is one of its recipients who may report an error in it;
    NotFound for anyone else (its existence is not revealed)."""
    document = session.get(IssuedDocument, document_id) if 0 < document_id < 2**31 else None
    if document is None or not can_report_error(actor.user, document):
        raise NotFound(N_("No such document."))
    return document


def granted_parts(document: IssuedDocument) -> list[str]:
    """The parts of the record the extract provides (what an error can be named in)."""
    return list(document.contents.get("granted", []))


def _text(value: str | None, minimum: int, maximum: int, message: str) -> str:
    text = (value or "").strip()
    if len(text) < minimum:
        raise InvalidInput(message, n=minimum)
    if len(text) > maximum:
        raise InvalidInput(N_("The text is longer than %(n)s characters."), n=maximum)
    return text


OPEN_PER_REPORTER = 3  # open reports one recipient may have on one extract


def report_error(session: Session, actor: Actor, document_id: int, *, description: str,
                 part: str | None = None) -> DataErrorReport:
    """A recipient reports an error in an extract: a task for the facility keeping the
    person's record file."""
    document = reportable_extract(session, actor, document_id)
    description = _text(description, DESCRIPTION_MIN, DESCRIPTION_MAX,
                        N_("Say what is wrong in the data (at least %(n)s characters)."))
    part = part or None
    if part is not None and part not in granted_parts(document):
        raise InvalidInput(N_("Choose a part the extract provides, or none."))
    open_reports = session.scalar(select(func.count(DataErrorReport.id)).where(
        DataErrorReport.document_id == document.id,
        DataErrorReport.reported_by_id == actor.user.id, DataErrorReport.state == S.OPEN))
    if open_reports >= OPEN_PER_REPORTER:
        # A facility's list is a work queue: one recipient cannot flood it with one extract.
        raise Conflict(N_("You already have %(n)s open reports on this extract: add what else "
                          "is wrong to them when the facility answers."), n=OPEN_PER_REPORTER)
    person = document.request.subject_person
    facility = keeping_facility(session, person) if person is not None else None
    if facility is None:  # an extract is always of a person with an episode
        raise Conflict(N_("No facility keeps this record: the error cannot be routed."))
    report = DataErrorReport(
        document_id=document.id, request_id=document.request_id, person_id=person.id,
        facility_id=facility.id, part=part, description=description, state=S.OPEN,
        reported_at=actor.now, reported_by_id=actor.user.id)
    session.add(report)
    session.flush()
    audit.record(session, actor, "data_error.report", object_type="error_report",
                 object_id=report.id, person_id=person.id,
                 details={"document": document.id, "number": document.number,
                          "request": document.request.number, "org": facility.code,
                          "part": part})
    return report


def reports_by(session: Session, user: User, request_id: int) -> list[DataErrorReport]:
    """The reports this user made about a request's extracts, newest first (their own)."""
    return list(session.scalars(select(DataErrorReport).where(
        DataErrorReport.request_id == request_id, DataErrorReport.reported_by_id == user.id)
        .order_by(DataErrorReport.id.desc())))


def list_error_reports(session: Session, actor: Actor, *,
                       open_only: bool = True) -> list[DataErrorReport]:
    """The reports of errors the actor's facilities keep, open ones by default, oldest first
    (audited: they name persons)."""
    if not can_list_error_reports(actor.user):
        raise Forbidden(N_("Your role does not allow this."))
    stmt = select(DataErrorReport).where(
        visible_error_reports(session, actor.user, actor.today))
    if open_only:
        stmt = stmt.where(DataErrorReport.state == S.OPEN)
    reports = list(session.scalars(stmt.order_by(DataErrorReport.id).limit(500)))
    audit.record(session, actor, "data_error.list",
                 details={"count": len(reports), "open_only": open_only})
    return reports


def open_count(session: Session, user: User | None, day: dt.date) -> int:
    """How many open reports wait for the user's facilities (the menu's badge)."""
    if not can_list_error_reports(user):
        return 0
    return session.scalar(select(func.count()).select_from(DataErrorReport).where(
        visible_error_reports(session, user, day), DataErrorReport.state == S.OPEN)) or 0


def _visible(session: Session, actor: Actor, report_id: int,
             lock: bool = False) -> DataErrorReport:
    if not can_list_error_reports(actor.user):
        raise Forbidden(N_("Your role does not allow this."))
    report = None
    if 0 < report_id < 2**31:
        stmt = select(DataErrorReport).where(DataErrorReport.id == report_id)
        if lock:
            stmt = stmt.with_for_update(key_share=True).execution_options(
                populate_existing=True)
        report = session.scalars(stmt).one_or_none()
    if report is None or not can_handle_error_report(session, actor.user, report, actor.today):
        raise NotFound(N_("No such report."))
    return report


def get_error_report(session: Session, actor: Actor, report_id: int) -> DataErrorReport:
    """One report, for the clerks of the keeping facility (audited)."""
    report = _visible(session, actor, report_id)
    audit.record(session, actor, "data_error.view", object_type="error_report",
                 object_id=report.id, person_id=report.person_id)
    return report


def corrections_since(session: Session, report: DataErrorReport) -> list[RecordVersion]:
    """The corrections of the person's records made since the report: what "corrected" may
    name (first versions are entries, not corrections)."""
    return list(session.scalars(select(RecordVersion).where(
        RecordVersion.person_id == report.person_id, RecordVersion.version > 1,
        RecordVersion.changed_at >= report.reported_at).order_by(RecordVersion.id.desc())))


def close_error_report(session: Session, actor: Actor, report_id: int, *, corrected: bool,
                       note: str | None = None,
                       correction_id: int | None = None) -> DataErrorReport:
    """Close a report: corrected (naming the correction made to the record since), or no error
    found (saying why); the reporter is told."""
    report = _visible(session, actor, report_id, lock=True)
    if report.state is not S.OPEN:
        raise Conflict(N_("This report is already closed (%(state)s)."), state=report.state.label)
    if corrected:
        made = {v.id: v for v in corrections_since(session, report)}
        if correction_id not in made:
            raise InvalidInput(N_("Choose the correction made to the record for this report: "
                                  "correct the record first (a new version with its reason)."))
        note = (note or "").strip()[:NOTE_MAX] or made[correction_id].reason
    else:
        note = _text(note, NOTE_MIN, NOTE_MAX,
                     N_("Say why no error was found (at least %(n)s characters)."))
        correction_id = None
    LIFECYCLE.fire(report, "correct" if corrected else "dismiss")
    report.closed_at, report.closed_by_id = actor.now, actor.user.id
    report.outcome_note, report.correction_id = note, correction_id
    inbox.notify(session, report.reported_by_id, report.request, NOTICES[report.state])
    audit.record(session, actor, "data_error.close", object_type="error_report",
                 object_id=report.id, person_id=report.person_id, purpose=note,
                 details={"to": report.state.value, "correction": correction_id,
                          "request": report.request.number})
    session.flush()
    return report
