"""Reports of facilities to the body above them (Decree Art. 10 §3): a clerk of the facility
drafts and submits; a manager of a body above checks and accepts or returns it; a correction of
an accepted report is a new version, which replaces the old one once accepted. The state machine
is the table below, run by `transitions`."""

from __future__ import annotations

import datetime as dt
import json
import zlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.audit import chain as audit
from workflow.context import Actor
from workflow.errors import Conflict, Forbidden, InvalidInput, NotFound
from workflow.figures.enums import ReportKind, ReportState
from workflow.i18n import N_
from workflow.lifecycle import Lifecycle, Row
from workflow.models import FacilityReport, Organisation
from workflow.organisations.scope import subtree_ids
from workflow.records import checks
from workflow.security.permissions import Permission, can, require

S = ReportState
FILER, REVIEWER, SYSTEM = "filer", "reviewer", "system"
TABLE = (
    Row("submit", (S.DRAFT, S.RETURNED), S.SUBMITTED, FILER),
    Row("accept", (S.SUBMITTED,), S.ACCEPTED, REVIEWER),
    Row("send_back", (S.SUBMITTED,), S.RETURNED, REVIEWER),
    # The version a correction replaces, once the correction is accepted.
    Row("supersede", (S.ACCEPTED,), S.SUPERSEDED, SYSTEM),
)
LIFECYCLE = Lifecycle(S, TABLE, {
    "submit": N_("submit"), "accept": N_("accept"), "send_back": N_("send back"),
    "supersede": N_("replaced by its accepted correction")}, initial=(S.DRAFT,),
    refusal=N_("This report is %(state)s: that cannot be done now."))
EDITABLE = (S.DRAFT, S.RETURNED)
# The facility's figures a periodic report gives (whole numbers, none negative).
FIGURES: dict[str, str] = {
    "staff": N_("Staff"),
    "capacity": N_("Capacity (places)"),
    "cameras": N_("Surveillance cameras"),
    "vehicles": N_("Vehicles"),
    "budget_vnd": N_("Budget spent (VND)"),
}


@dataclass
class ReportInput:
    """What a clerk writes in a report."""

    kind: ReportKind
    period_start: dt.date | None
    period_end: dt.date | None
    title: str
    body: str
    figures: dict[str, int | None]


def _filer_may(session: Session, actor: Actor, facility_id: int) -> None:
    user = require(actor.user, Permission.FILE_REPORTS)
    scope = checks.user_scope(session, actor)
    if scope.nationwide or not scope.covers(facility_id) or facility_id != user.organisation_id:
        raise NotFound(N_("No such report."))


def can_review_report(session: Session, actor: Actor, report: FacilityReport) -> bool:
    """Whether the user reviews the report: a manager of a body above its facility."""
    user = actor.user
    if user is None or not can(user, Permission.REVIEW_REPORTS):
        return False
    # The body above: the facility is under the manager's body, not the body itself.
    return (report.facility_id != user.organisation_id
            and report.facility_id in subtree_ids(session, user.organisation_id, actor.today))


def can_file_report(actor: Actor, report: FacilityReport) -> bool:
    """Whether the user files reports for the report's facility (its own clerk)."""
    user = actor.user
    return (user is not None and can(user, Permission.FILE_REPORTS)
            and report.facility_id == user.organisation_id)


def can_view_report(session: Session, actor: Actor, report: FacilityReport) -> bool:
    """Its facility's clerks and the managers above it."""
    return can_file_report(actor, report) or can_review_report(session, actor, report)


def _clean(data: ReportInput, actor: Actor) -> dict[str, object]:
    title = (data.title or "").strip()
    if not title or len(title) > 255:
        raise InvalidInput(N_("Give the report a title (at most 255 characters)."))
    start, end = data.period_start, data.period_end
    if start is None or end is None or end < start:
        raise InvalidInput(N_("The period must start on or before its end."))
    if end > actor.today:
        raise InvalidInput(N_("A report covers days that have passed."))
    body = (data.body or "").strip()
    if len(body) > 20000:
        raise InvalidInput(N_("The text is too long (at most 20,000 characters)."))
    figures: dict[str, int] = {}
    if data.kind is ReportKind.PERIODIC:
        for key in FIGURES:
            value = data.figures.get(key)
            if value is None or value < 0:
                raise InvalidInput(N_("A periodic report gives every figure, none negative: "
                                      "%(figure)s is missing."), figure=FIGURES[key])
            figures[key] = int(value)
    elif not body:
        raise InvalidInput(N_("An incident or thematic report needs its text."))
    return {"kind": data.kind, "period_start": start, "period_end": end, "title": title,
            "body": body, "figures_json": json.dumps(figures, sort_keys=True)}


def get(session: Session, actor: Actor, report_id: int) -> FacilityReport:
    """A report the user may see (404 otherwise)."""
    report = session.get(FacilityReport, report_id)
    if report is None or not can_view_report(session, actor, report):
        raise NotFound(N_("No such report."))
    return report


def visible(session: Session, actor: Actor) -> list[FacilityReport]:
    """The facility's own reports for a clerk; those of the bodies below for a manager."""
    user = actor.user
    ids: set[int] = set()
    if user is not None and can(user, Permission.FILE_REPORTS):
        ids.add(user.organisation_id)
    if user is not None and can(user, Permission.REVIEW_REPORTS):
        ids |= subtree_ids(session, user.organisation_id, actor.today) - {user.organisation_id}
    if not ids:
        return []
    return list(session.scalars(select(FacilityReport).where(
        FacilityReport.facility_id.in_(sorted(ids)))
        .order_by(FacilityReport.period_end.desc(), FacilityReport.id.desc()).limit(200)))


def create(session: Session, actor: Actor, data: ReportInput) -> FacilityReport:
    """A draft report of the clerk's facility."""
    assert actor.user is not None
    _filer_may(session, actor, actor.user.organisation_id)
    report = FacilityReport(facility_id=actor.user.organisation_id, **_clean(data, actor),
                            created_at=actor.now, created_by_id=actor.user.id)
    session.add(report)
    session.flush()
    audit.record(session, actor, "report.create", object_type="report", object_id=report.id)
    return report


def edit(session: Session, actor: Actor, report_id: int, data: ReportInput) -> FacilityReport:
    """Change a draft or returned report."""
    report = get(session, actor, report_id)
    _filer_may(session, actor, report.facility_id)
    if report.state not in EDITABLE:
        raise Conflict(N_("Only a draft or a returned report can be changed; correct an "
                          "accepted one with a new version."))
    if data.kind is not report.kind:
        raise InvalidInput(N_("A report keeps its kind."))
    for key, value in _clean(data, actor).items():
        setattr(report, key, value)
    audit.record(session, actor, "report.edit", object_type="report", object_id=report.id)
    return report


def correct(session: Session, actor: Actor, report_id: int) -> FacilityReport:
    """A new version of an accepted report, as a draft; the accepted one stands until the new
    one is accepted."""
    report = get(session, actor, report_id)
    _filer_may(session, actor, report.facility_id)
    if report.state is not S.ACCEPTED:
        raise Conflict(N_("Only an accepted report is corrected with a new version."))
    pending = session.scalar(select(FacilityReport.id).where(
        FacilityReport.previous_id == report.id))
    if pending is not None:
        raise Conflict(N_("A correction of this report exists already."))
    assert actor.user is not None
    new = FacilityReport(
        facility_id=report.facility_id, kind=report.kind, period_start=report.period_start,
        period_end=report.period_end, title=report.title, body=report.body,
        figures_json=report.figures_json, version=report.version + 1, previous_id=report.id,
        created_at=actor.now, created_by_id=actor.user.id)
    session.add(new)
    session.flush()
    audit.record(session, actor, "report.correct", object_type="report", object_id=new.id,
                 details={"corrects": report.id, "version": new.version})
    return new


def fire(session: Session, actor: Actor, report_id: int, trigger: str,
         note: str | None = None, version: int | None = None) -> FacilityReport:
    """Submit, accept or send back a report, if the table allows it for this user now."""
    report = session.scalars(select(FacilityReport).where(FacilityReport.id == report_id)
                             .with_for_update(key_share=True)
                             .execution_options(populate_existing=True)).one_or_none()
    if report is None or not can_view_report(session, actor, report):
        raise NotFound(N_("No such report."))
    rows = [row for row in TABLE if row.trigger == trigger and row.actor != SYSTEM]
    if not rows:
        raise InvalidInput(N_("Unknown action."))
    who = rows[0].actor
    allowed = (can_review_report(session, actor, report) if who == REVIEWER
               else can_file_report(actor, report))
    if not allowed:
        raise Forbidden(N_("Your role does not allow this."))
    if version is not None and version != version_of(report):
        raise Conflict(N_("The report changed meanwhile; nothing was done."))
    note = (note or "").strip() or None
    if trigger == "send_back" and not note:
        raise InvalidInput(N_("Say what must be corrected."))
    before, _after = LIFECYCLE.fire(report, trigger)
    if trigger == "submit":
        report.submitted_at = actor.now
    else:
        assert actor.user is not None
        report.decided_at, report.decided_by_id, report.decision_note = (
            actor.now, actor.user.id, note)
        if report.state is S.ACCEPTED and report.previous is not None:
            LIFECYCLE.fire(report.previous, "supersede")
    audit.record(session, actor, f"report.{trigger}", object_type="report", object_id=report.id,
                 details={"from": before.value if before else None, "to": report.state.value,
                          **({"note": note} if note else {})})
    return report


def allowed_actions(session: Session, actor: Actor, report: FacilityReport) -> set[str]:
    """The buttons the page shows this user for this report now."""
    actions: set[str] = set()
    if can_file_report(actor, report):
        if report.state in EDITABLE:
            actions |= {"edit", "submit"}
        if report.state is S.ACCEPTED and session.scalar(select(FacilityReport.id).where(
                FacilityReport.previous_id == report.id)) is None:
            actions.add("correct")
    if report.state is S.SUBMITTED and can_review_report(session, actor, report):
        actions |= {"accept", "send_back"}
    return actions


def version_of(report: FacilityReport) -> int:
    """A token of what the report's page showed: a decision posted from an older page (the
    report was resubmitted meanwhile) changes nothing."""
    return zlib.crc32(f"{report.state.value}|{report.submitted_at}|{report.decided_at}"
                      .encode())


def latest_figures(session: Session, facility_ids: list[int] | None
                   ) -> list[tuple[Organisation, FacilityReport]]:
    """For each facility, its accepted periodic report with the latest period."""
    stmt = select(FacilityReport).where(FacilityReport.kind == ReportKind.PERIODIC.value,
                                        FacilityReport.state == S.ACCEPTED.value)
    if facility_ids is not None:
        stmt = stmt.where(FacilityReport.facility_id.in_(facility_ids or [-1]))
    latest: dict[int, FacilityReport] = {}
    for report in session.scalars(stmt.order_by(FacilityReport.period_end, FacilityReport.id)):
        latest[report.facility_id] = report
    return sorted(((r.facility, r) for r in latest.values()), key=lambda p: p[0].name)
