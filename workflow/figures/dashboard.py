"""A body's statistics dashboard: its scope's figures for a day and a period, and the same figures
as rows for CSV and XLSX files. Two audiences: those who may read the records counted see the
figures exactly (operational: occupancy, time held against the limit), on the page only; the
managers' dashboard and every file leave that circle, so they are published for fixed reporting
periods and perturbed by the cell-key method (`disclosure`). Every view and export is
audited."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.audit import chain as audit
from workflow.context import Actor
from workflow.enums import Role
from workflow.errors import Forbidden, InvalidInput
from workflow.figures import disclosure, reports, snapshots, statistics
from workflow.figures import requests as request_figures
from workflow.i18n import N_
from workflow.models import FacilityReport, Organisation, User, UserRole
from workflow.organisations.scope import NATIONWIDE_KINDS, Scope, management_scope, subtree_ids
from workflow.records.enums import Measure
from workflow.records.policy import can_view_exact_figures
from workflow.requests.rules import Rulebook
from workflow.security.permissions import Permission, require

MAX_PERIOD_DAYS = 3660


@dataclass(frozen=True)
class Dashboard:
    """What one body sees: population, movements, time held and requests of its scope."""

    organisation: Organisation
    day: dt.date
    start: dt.date
    end: dt.date
    threshold: int
    exact: bool  # figures as counted (else perturbed by the cell-key method)
    population: statistics.Population
    movements: statistics.Movements
    time_held: statistics.TimeHeld
    requests: request_figures.RequestFigures
    as_of: dt.datetime
    # Entered through the facilities' accepted periodic reports (read at every load).
    facility_figures: list[tuple[Organisation, FacilityReport]] = field(default_factory=list)

    def held_at(self, facility_id: int) -> int:
        """Persons held at a facility on the day."""
        for cell in self.population.breakdowns["facility"].cells:
            if cell.key == str(facility_id):
                return cell.count
        return 0


def build(session: Session, actor: Actor, rulebook: Rulebook, *, day: dt.date,
          start: dt.date, end: dt.date, control: disclosure.Control,
          export: str | None = None, max_age: dt.timedelta = dt.timedelta(0)) -> Dashboard:
    """The figures of the actor's own body (never another's), audited as viewed or exported:
    exact for those who may read the records counted (never as a file), else published for a
    reporting period and perturbed."""
    user = actor.user
    if control.exact:
        if user is None or not can_view_exact_figures(session, user, actor.today):
            raise Forbidden(N_("Exact figures are for those who may read the records counted."))
        if export:
            raise Forbidden(N_("Exact figures are not exported: a file leaves your body."))
    else:
        user = require(user, Permission.READ_STATISTICS)
    if start > end:
        raise InvalidInput(N_("The period ends before it starts."))
    if (end - start).days > MAX_PERIOD_DAYS:
        raise InvalidInput(N_("The period may span at most ten years."))
    if max(day, end) > actor.today:
        raise InvalidInput(N_("Figures are counted up to today, not in the future."))
    if not control.exact:
        disclosure.check_reporting(day, start, end)
    org = user.organisation
    scope = management_scope(session, org, day)
    figures, as_of = _kept(session, org, scope, rulebook, day, start, end, control, actor,
                           max_age)
    result = Dashboard(org, day, start, end, control.threshold, control.exact, *figures,
                       as_of=as_of, facility_figures=reports.latest_figures(
                           session, None if scope.nationwide else sorted(scope.facility_ids)))
    audit.record(session, actor, "statistics.exact" if control.exact else
                 "statistics.export" if export else "statistics.view",
                 object_type="organisation", object_id=org.id,
                 details={"day": day.isoformat(), "from": start.isoformat(),
                          "to": end.isoformat(), "as_of": as_of.isoformat(timespec="seconds"),
                          **({"format": export} if export else {})})
    return result


def _kept(session: Session, org: Organisation, scope: Scope, rulebook: Rulebook, day: dt.date,
          start: dt.date, end: dt.date, control: disclosure.Control, actor: Actor,
          max_age: dt.timedelta) -> tuple[tuple, dt.datetime]:
    """The body's figures and when they were counted: kept ones while younger than `max_age`,
    else counted from the records now."""

    def count(reader: Session) -> tuple:
        statistics.analytical(reader)
        bodies = None if org.kind in NATIONWIDE_KINDS else subtree_ids(reader, org.id, end)
        return (statistics.population(reader, scope, day, control),
                statistics.movements(reader, scope, start, end, control),
                statistics.time_held(reader, scope, day, rulebook.on(day), control),
                request_figures.figures(reader, bodies, start, end, actor.today, control))

    key = {"day": day, "start": start, "end": end, "threshold": control.threshold,
           "exact": control.exact}
    return snapshots.cached(session, org.id, key, actor.now, max_age, count)


def warm(session: Session, actor: Actor, rulebook: Rulebook, control: disclosure.Control,
         max_age: dt.timedelta) -> Iterator[bool]:
    """Count the default view (the latest published figures) of every body with an active
    manager whose kept figures are older than half `max_age`, one body at a time: yields
    whether each was counted afresh (the caller commits between, so that each body's figures
    are kept in a short transaction of their own and no count runs while a write is held)."""
    day, start, end = disclosure.default_reporting(actor.today)
    orgs = session.scalars(select(Organisation).join(User, User.organisation_id == Organisation.id)
                           .join(UserRole, UserRole.user_id == User.id)
                           .where(UserRole.role == Role.MANAGER.value, User.active.is_(True))
                           .distinct())
    for org in list(orgs):
        _, as_of = _kept(session, org, management_scope(session, org, day), rulebook, day,
                         start, end, control, actor, max_age / 2)
        yield as_of == actor.now


def movement_matrix(board: Dashboard, dimension: str) -> list[tuple[str, list[statistics.Cell]]]:
    """Rows of a dimension's values with a cell per kind of movement."""
    table: dict[str, dict[str, statistics.Cell]] = {}
    for kind in statistics.MOVEMENTS:
        for cell in board.movements.by_kind[kind.value][dimension].cells:
            table.setdefault(cell.label, {})[kind.value] = cell
    return [(label, [cells.get(k.value, statistics.Cell(k.value, label, 0))
                     for k in statistics.MOVEMENTS]) for label, cells in table.items()]


def movement_totals(board: Dashboard) -> list[statistics.Cell]:
    """One cell per kind of movement over the period."""
    return [statistics.Cell(k.value, k.label, board.movements.totals[k.value])
            for k in statistics.MOVEMENTS]


def requester_cells(figures: request_figures.RequestFigures) -> list[statistics.Cell]:
    """Requests by kind of requester, as chart cells."""
    return [statistics.Cell(key, label, n) for key, label, n in figures.by_requester]


Row = tuple[str, str, str, int | float | str | None]


def rows(board: Dashboard, t: Callable[[str], str]) -> Iterator[Row]:
    """(section, breakdown, item, figure) for every figure on the dashboard, as shown."""
    section = t(N_("Persons held on %(day)s")) % {"day": board.day.strftime("%d/%m/%Y")}
    yield section, t(N_("Total")), "", board.population.total
    for b in board.population.breakdowns.values():
        for cell in b.cells:
            yield section, t(b.title), t(cell.label), cell.count
    section = t(N_("Movements from %(start)s to %(end)s")) % {
        "start": board.start.strftime("%d/%m/%Y"), "end": board.end.strftime("%d/%m/%Y")}
    for kind in statistics.MOVEMENTS:
        yield section, t(N_("Total")), t(kind.label), board.movements.totals[kind.value]
        for b in board.movements.by_kind[kind.value].values():
            for cell in b.cells:
                yield section, f"{t(kind.label)} – {t(b.title)}", t(cell.label), cell.count
    section = t(N_("Time held against the legal limit"))
    for measure, cells in board.time_held.cells.items():
        for cell in cells:
            yield section, t(Measure(measure).label), t(cell.label), cell.count
    section = t(N_("Facility figures from accepted periodic reports"))
    for facility, report in board.facility_figures:
        for key, label in reports.FIGURES.items():
            yield section, facility.name, t(label), report.figures.get(key)
    r = board.requests
    section = t(N_("Access requests submitted from %(start)s to %(end)s")) % {
        "start": board.start.strftime("%d/%m/%Y"), "end": board.end.strftime("%d/%m/%Y")}
    yield section, t(N_("Total")), "", r.filed
    for _key, label, n in r.by_requester:
        yield section, t(N_("Requester")), t(label), n
    for kind, outcome, n in r.decisions:
        yield section, t(N_("Decisions")), f"{t(kind.label)} – {t(outcome.label)}", n
    for st in r.state_times:
        yield section, t(N_("Median days in state")), t(st.state.label), st.median_days
    yield section, t(N_("Answered")), "", r.answered
    yield section, t(N_("Answered within the deadline")), "", r.answered_in_time
    for name, n in r.overdue:
        yield section, t(N_("Overdue decisions")), name, n


HEADER = (N_("Section"), N_("Breakdown"), N_("Item"), N_("Figure"))


def to_csv(board: Dashboard, t: Callable[[str], str]) -> bytes:
    """The figures as CSV (UTF-8 with a byte-order mark, so spreadsheet programs read the
    Vietnamese letters)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([t(h) for h in HEADER])
    writer.writerows(rows(board, t))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(board: Dashboard, t: Callable[[str], str]) -> bytes:
    """The figures as an XLSX workbook: one sheet, one figure a row, numbers as numbers."""
    from openpyxl import Workbook  # a large library: loaded by the first export, not at start

    book = Workbook(write_only=True)
    sheet = book.create_sheet(t(N_("Statistics"))[:31])
    sheet.append([f"{board.organisation.name}"])
    sheet.append([t(h) for h in HEADER])
    for row in rows(board, t):
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
