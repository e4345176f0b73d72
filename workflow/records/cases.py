"""Cases: opened by their keeper, linked to episodes, moved through their stages (each stage
decides whose consent a request needs, Decree 121/2017 Art. 12 §3)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.audit import chain as audit
from workflow.context import Actor
from workflow.errors import Conflict, Forbidden, InvalidInput, NotFound
from workflow.i18n import N_
from workflow.models import (
    Case,
    CaseStageEntry,
    CustodyEpisode,
    Organisation,
)
from workflow.records.checks import HANDLING_KINDS, clean_text, lock_row, past_date
from workflow.records.enums import CaseStage
from workflow.records.policy import can_change_case_stage, can_link_case, can_view_case
from workflow.records.versions import (
    write_version,
)
from workflow.security.permissions import Permission, require


def linkable_case(session: Session, actor: Actor, number: str | None) -> Case | None:
    # A number of another body's case gets the answer of a number no case has: the form must
    # not tell a clerk which numbers exist outside their scope.
    number = (number or "").strip()
    if not number:
        return None
    case = session.execute(select(Case).where(Case.number == number)).scalar_one_or_none()
    assert actor.user is not None
    if case is None or not can_link_case(session, actor.user, case, actor.today):
        raise InvalidInput(N_("No case kept by your organisation has the number %(number)s."),
                           number=number)
    return case


def check_case(session: Session, actor: Actor, case: Case, gate) -> None:
    assert actor.user is not None
    if not can_view_case(session, actor.user, case, actor.today):
        raise NotFound(N_("No such record."))
    if not gate(session, actor.user, case, actor.today):
        raise Forbidden(N_("Only the body that keeps this case may change it."))


def check_relink(session: Session, actor: Actor, episode: CustodyEpisode,
                  case_id: int | None) -> None:
    # Moving an episode off a case drops what the case's stage demands (consent): the old
    # case's keeper decides that as much as the new one's.
    assert actor.user is not None
    if case_id == episode.case_id:
        return
    # By id, not `episode.case`: a loaded relationship would outlive the new case_id.
    old = session.get(Case, episode.case_id) if episode.case_id is not None else None
    if old is not None and not can_link_case(session, actor.user, old, actor.today):
        raise Forbidden(N_("Only the body that keeps this case may change it."))
    case = session.get(Case, case_id) if case_id is not None else None
    if case_id is not None and (case is None or not can_link_case(session, actor.user, case,
                                                                  actor.today)):
        raise InvalidInput(N_("Unknown case."))


def _check_handler(session: Session, stage: CaseStage, handling_org_id: int | None):
    if stage not in HANDLING_KINDS:
        if handling_org_id:
            raise InvalidInput(N_("Only a case under investigation, prosecution or trial has a "
                                  "handling body."))
        return None
    org = session.get(Organisation, handling_org_id) if handling_org_id else None
    if org is None or org.kind is not HANDLING_KINDS[stage]:
        raise InvalidInput(N_("At this stage the case is handled by a body of kind: %(kind)s."),
                           kind=HANDLING_KINDS[stage].label)
    return org


def create_case(
    session: Session,
    actor: Actor,
    *,
    number: str,
    title: str,
    charges: str,
    opened_on: dt.date | None,
    stage: CaseStage,
    handling_org_id: int | None,
) -> Case:
    """Register a case with its first stage and handling body."""
    user = require(actor.user, Permission.WRITE_RECORDS)
    number = clean_text(number, N_("Case number"), 64) or ""
    if session.execute(select(Case.id).where(Case.number == number)).first():
        raise Conflict(N_("A case with this number exists."))
    opened = past_date(opened_on, N_("Opened on"), actor)
    stage = CaseStage(stage)
    handler = _check_handler(session, stage, handling_org_id)
    case = Case(number=number, title=clean_text(title, N_("Title"), 255),
                charges=clean_text(charges, N_("Charges"), 255), opened_on=opened,
                created_by_id=user.id)
    session.add(case)
    session.flush()
    session.add(CaseStageEntry(case=case, stage=stage, handling_org=handler, from_date=opened,
                               recorded_at=actor.now, recorded_by_id=user.id))
    write_version(session, actor, case, person_id=None, reason=None)
    audit.record(session, actor, "record.create", object_type="case", object_id=case.id,
                 details={"number": number, "stage": stage.value})
    return case


def change_case_stage(
    session: Session,
    actor: Actor,
    case_id: int,
    *,
    stage: CaseStage,
    handling_org_id: int | None,
    from_date: dt.date | None,
    note: str | None = None,
) -> CaseStageEntry:
    """Record that the case moved to a stage (and body) from a date; the history is kept."""
    case = lock_row(session, Case, case_id)
    check_case(session, actor, case, can_change_case_stage)
    stage = CaseStage(stage)
    day = past_date(from_date, N_("From date"), actor)
    assert day is not None
    last = case.stages[-1] if case.stages else None
    if last is not None and day < last.from_date:
        raise InvalidInput(N_("A new stage cannot start before the current one."))
    handler = _check_handler(session, stage, handling_org_id)
    entry = CaseStageEntry(case=case, stage=stage, handling_org=handler, from_date=day,
                           note=clean_text(note, N_("Note"), 255, False), recorded_at=actor.now,
                           recorded_by_id=actor.user.id if actor.user else None)
    session.add(entry)
    session.flush()
    audit.record(session, actor, "record.case_stage", object_type="case", object_id=case.id,
                 details={"stage": stage.value, "handling_org_id": handling_org_id,
                          "from_date": day.isoformat()})
    return entry


def get_case(session: Session, actor: Actor, case_id: int) -> Case:
    """A case the user may read (`can_view_case`), audited."""
    user = require(actor.user, Permission.READ_RECORDS)
    case = session.get(Case, case_id)
    if case is None or not can_view_case(session, user, case, actor.today):
        raise NotFound(N_("No such record."))
    audit.record(session, actor, "record.view", object_type="case", object_id=case.id)
    return case
