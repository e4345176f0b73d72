"""Who may read, link and change a case: the bodies that keep it (the management body above the
facility of its first episode) and, while it is open, the body handling it. Who keeps a person's
record file, and so answers the reports of errors in it (Decree 121/2017 Arts. 10 §5, 18 §2)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.orm import Session

from workflow.models import (
    Case,
    CustodyEpisode,
    DataErrorReport,
    Organisation,
    Person,
    User,
)
from workflow.organisations.scope import competent_body, management_scope, subtree_ids
from workflow.security.permissions import Permission, can

# --- cases -------------------------------------------------------------------------------------


def case_home(session: Session, case: Case) -> Organisation | None:
    """Where the case entered the records: the facility of the first episode recorded under it
    (ids only grow, so a later link never moves it) or, before any, the registering body."""
    facility_id = session.scalar(select(CustodyEpisode.facility_id).where(
        CustodyEpisode.case_id == case.id).order_by(CustodyEpisode.id).limit(1))
    if facility_id is not None:
        return session.get(Organisation, facility_id)
    creator = session.get(User, case.created_by_id) if case.created_by_id else None
    return creator.organisation if creator is not None else None


def case_keeper(session: Session, case: Case, day: dt.date) -> Organisation | None:
    """The body that keeps the case on the day: the lowest management body above its home."""
    home = case_home(session, case)
    return competent_body(session, {home.id}, day) if home is not None else None


def keeps_case(session: Session, org: Organisation, case: Case, day: dt.date) -> bool:
    """Whether the body keeps the case: it is the keeper, one of its units, or above it."""
    if management_scope(session, org, day).nationwide:
        return True
    keeper = case_keeper(session, case, day)
    return keeper is not None and (org.id in subtree_ids(session, keeper.id, day)
                                   or keeper.id in subtree_ids(session, org.id, day))


def can_view_case(session: Session, user: User, case: Case, day: dt.date) -> bool:
    """Whether the user may read the case: its keepers, and bodies holding a person under it."""
    if not can(user, Permission.READ_RECORDS):
        return False
    if keeps_case(session, user.organisation, case, day):
        return True
    scope = management_scope(session, user.organisation, day)
    facilities = session.scalars(select(CustodyEpisode.facility_id).where(
        CustodyEpisode.case_id == case.id))
    return any(scope.covers(f) for f in facilities)


def can_change_case_stage(session: Session, user: User, case: Case, day: dt.date) -> bool:
    """Whether the user may change the case's stage (or correct its title and charges): the
    clerks of the bodies that keep it, never one that only holds a person under it."""
    return can(user, Permission.WRITE_RECORDS) and keeps_case(
        session, user.organisation, case, day)


def can_link_case(session: Session, user: User, case: Case, day: dt.date) -> bool:
    """Whether the user may record an episode under the case (or take one off it): a link
    decides what the case's stage demands of the person's data, so it is the stage's rule,
    judged on the links there already are (the one being made counts for nothing)."""
    return can_change_case_stage(session, user, case, day)


# --- reading a person's record ------------------------------------------------------------------


def reads_own_record(user: User | None, person_id: int) -> bool:
    """A detained person reading their own record (at the kiosk): no purpose is asked."""
    return can(user, Permission.READ_OWN_RECORD) and user.person_id == person_id


def can_read_person(session: Session, user: User | None, person: Person | None,
                    day: dt.date) -> bool:
    """Whether the user may open the person's record: their own, or one held at a facility of
    their body's scope, or under a residence restriction one of its communes manages, by a role
    that reads records (Art. 12 §3a: directly, with a purpose)."""
    if person is None:
        return False
    if reads_own_record(user, person.id):
        return True
    if not can(user, Permission.READ_RECORDS):
        return False
    if person.merged_into_id is not None:
        # Joined to another record (`exchange.matches`): whoever may open that one is shown
        # where it went.
        person = session.get(Person, person.merged_into_id)
    return management_scope(session, user.organisation, day).covers_person(person)


def can_view_exact_figures(session: Session, user: User | None, day: dt.date) -> bool:
    """Whether the user may see the figures of their body's scope exactly as counted: whoever
    may open the records counted (a role that reads records, in a body that keeps some), as
    for a record read; figures for anyone else are perturbed (`figures.disclosure`)."""
    return can(user, Permission.READ_RECORDS) and not management_scope(
        session, user.organisation, day).empty


# --- the record file and the reports of errors in it ---------------------------------------------


def keeping_facility(session: Session, person: Person) -> Organisation | None:
    """The facility keeping the person's record file (hồ sơ quản lý): that of their latest
    episode, where they are held or were last held."""
    return session.scalars(select(Organisation).join(
        CustodyEpisode, CustodyEpisode.facility_id == Organisation.id).where(
        CustodyEpisode.person_id == person.id).order_by(
        CustodyEpisode.start_date.desc(), CustodyEpisode.id.desc()).limit(1)).first()


def can_list_error_reports(user: User | None) -> bool:
    """Whether the user has the inbox of reports of errors: the clerks who correct records."""
    return can(user, Permission.WRITE_RECORDS)


def can_handle_error_report(session: Session, user: User | None, report: DataErrorReport,
                            day: dt.date) -> bool:
    """Read and close a report of an error: clerks whose scope covers the keeping facility."""
    return can_list_error_reports(user) and management_scope(
        session, user.organisation, day).covers(report.facility_id)


def visible_error_reports(session: Session, user: User | None,
                          day: dt.date) -> ColumnElement[bool]:
    """`can_handle_error_report` as a condition on DataErrorReport, for every list and count."""
    if not can_list_error_reports(user):
        return false()
    scope = management_scope(session, user.organisation, day)
    if scope.nationwide:
        return true()
    return DataErrorReport.facility_id.in_(sorted(scope.facility_ids))
