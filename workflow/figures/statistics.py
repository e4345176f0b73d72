"""Figures on detained persons computed from the records, never typed in twice (Decree Art. 9 §1):
the population held on a day and the movements over a period, each broken down by facility,
province, branch, measure, stage of the case, sex, age band and nationality; time held against the
legal limits. Each figure is shown as its `disclosure.Control` says: exact, or perturbed by the
cell-key method (every count is summed with its records' keys for that)."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import String, and_, case, func, literal, or_, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from workflow.figures.disclosure import Control, Publish
from workflow.i18n import N_
from workflow.models import CaseStageEntry, CustodyEpisode, CustodyEvent, Organisation, Person
from workflow.organisations.enums import Branch
from workflow.organisations.scope import Scope
from workflow.records.enums import CaseStage, EventKind, Measure, Sex
from workflow.requests.rules import RuleSet

DIMENSIONS: dict[str, str] = {
    "facility": N_("Facility"),
    "province": N_("Province or city"),
    "branch": N_("Branch"),
    "measure": N_("Custody or detention"),
    "stage": N_("Stage of the case"),
    "sex": N_("Sex"),
    "age_band": N_("Age"),
    "nationality": N_("Nationality"),
}
# Lower bounds of the age bands, in years on the day counted.
AGE_BANDS: tuple[tuple[int, str], ...] = (
    (0, N_("under 18")), (18, N_("18 to 29")), (30, N_("30 to 44")), (45, N_("45 to 59")),
    (60, N_("60 and over")))
MOVEMENTS: tuple[EventKind, ...] = (
    EventKind.RECEIPT, EventKind.RELEASE, EventKind.TRANSFER, EventKind.EXTRACTION,
    EventKind.HANDOVER_FOR_SENTENCE, EventKind.ESCAPE, EventKind.DEATH)
NO_CASE = "none"
NO_PROVINCE = "central"
NO_CASE_LABEL = N_("No case recorded")
CENTRAL_LABEL = N_("Central (no province)")


@dataclass(frozen=True)
class Cell:
    """One figure of a breakdown, as shown."""

    key: str
    label: str
    count: int


@dataclass(frozen=True)
class Breakdown:
    """A figure split along one dimension; `total` is a cell of its own (perturbed figures
    need not add up to it)."""

    dimension: str
    cells: tuple[Cell, ...]
    total: int

    @property
    def title(self) -> str:
        """What the breakdown is by."""
        return DIMENSIONS[self.dimension]

    @property
    def largest(self) -> int:
        """The largest shown figure (charts scale to it)."""
        return max((c.count for c in self.cells), default=0)


@dataclass(frozen=True)
class Population:
    """Persons held at the end of a day in a scope."""

    day: dt.date
    total: int
    breakdowns: dict[str, Breakdown]


@dataclass(frozen=True)
class Movements:
    """Movements (receipts, releases, transfers…) over a period in a scope, by kind and
    dimension."""

    start: dt.date
    end: dt.date
    totals: dict[str, int]
    by_kind: dict[str, dict[str, Breakdown]]


@dataclass(frozen=True)
class TimeHeld:
    """How many of the persons held on a day are within, near or past their legal limit."""

    day: dt.date
    cells: dict[str, tuple[Cell, ...]]  # measure → within / near / past


def years_before(day: dt.date, years: int) -> dt.date:
    """The same calendar day `years` earlier (28 February for 29 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def age_band(birth: ColumnElement, day: dt.date) -> ColumnElement:
    """The age band on `day` as an SQL expression: born on or before the day the band starts."""
    whens = [(birth <= years_before(day, low), literal(str(low)))
             for low, _ in reversed(AGE_BANDS) if low > 0]
    return case(*whens, else_=literal("0"))


# Grouped by the labels: PostgreSQL would not match two renderings of one expression whose
# parameters are numbered apart.
GROUPS = ("g_facility", "g_measure", "g_stage", "g_sex", "g_band", "g_nationality")


def _grouped(day: dt.date) -> list[ColumnElement]:
    return [CustodyEpisode.facility_id.label("g_facility"),
            CustodyEpisode.measure.label("g_measure"),
            func.coalesce(_stage_on(day), NO_CASE, type_=String).label("g_stage"),
            Person.sex.label("g_sex"), age_band(Person.birth_date, day).label("g_band"),
            Person.nationality.label("g_nationality")]


def _in_scope(scope: Scope) -> ColumnElement:
    return literal(True) if scope.nationwide else CustodyEpisode.facility_id.in_(
        sorted(scope.facility_ids) or [-1])


def _stage_on(day: dt.date) -> ColumnElement:
    """The stage on the day of the episode's case: its latest stage entry started on or before
    it, looked up per row through the (case, from_date) index. A join to a ranked table of all
    stages instead made SQLite scan that table once per event (108 s at 100,000 persons)."""
    return (select(CaseStageEntry.stage)
            .where(CaseStageEntry.case_id == CustodyEpisode.case_id,
                   CaseStageEntry.from_date <= day)
            .order_by(CaseStageEntry.from_date.desc(), CaseStageEntry.id.desc())
            .limit(1).scalar_subquery())


def analytical(session: Session) -> None:
    """On PostgreSQL, let this transaction's aggregations sort in memory and use both cores
    (the app's connections otherwise keep requests small and serial)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL work_mem = '64MB'"))
        session.execute(text("SET LOCAL max_parallel_workers_per_gather = 2"))


def held_on(day: dt.date) -> ColumnElement:
    """Episodes in force at the end of the day (an episode ends on the day the person left)."""
    return and_(CustodyEpisode.start_date <= day,
                or_(CustodyEpisode.end_date.is_(None), CustodyEpisode.end_date > day))


def population(session: Session, scope: Scope, day: dt.date, control: Control) -> Population:
    """Persons held at the end of `day` in the scope, by every dimension."""
    stmt = (
        select(*_grouped(day), func.count(),
               func.sum(control.keys.sql(CustodyEpisode.id)))
        .join(Person, Person.id == CustodyEpisode.person_id)
        .where(held_on(day), _in_scope(scope))
        .group_by(*GROUPS)
    )
    rows = list(session.execute(stmt))
    publish = control.publisher("population")
    return Population(day, *_breakdowns(rows, _facilities(session, rows), publish))


def movements(session: Session, scope: Scope, start: dt.date, end: dt.date,
              control: Control) -> Movements:
    """Receipts, releases, transfers out, extractions, handovers, escapes and deaths over the
    period (both days included); ages and stages of the case are those of the period's last
    day."""
    in_period = and_(CustodyEvent.occurred_on.between(start, end),
                     CustodyEvent.kind.in_([k.value for k in MOVEMENTS]))
    stmt = (
        select(CustodyEvent.kind.label("g_kind"), *_grouped(end), func.count(),
               func.sum(control.keys.sql(CustodyEvent.id)))
        .join(CustodyEpisode, CustodyEpisode.id == CustodyEvent.episode_id)
        .join(Person, Person.id == CustodyEpisode.person_id)
        .where(in_period, _in_scope(scope))
        .group_by("g_kind", *GROUPS)
    )
    per_kind: dict[str, list[tuple]] = defaultdict(list)
    for kind, *rest in session.execute(stmt):
        per_kind[str(kind)].append(rest)
    facilities = _facilities(session, [r for rows in per_kind.values() for r in rows])
    totals, by_kind = {}, {}
    for kind in MOVEMENTS:
        publish = control.publisher(f"movements|{kind.value}")
        totals[kind.value], by_kind[kind.value] = _breakdowns(per_kind.get(kind.value, []),
                                                              facilities, publish)
    return Movements(start, end, totals, by_kind)


def time_held(session: Session, scope: Scope, day: dt.date, rules: RuleSet,
              control: Control) -> TimeHeld:
    """Persons held on `day` whose time is within, near (`rules.near_days`) or past the limit
    their measure and its recorded extensions allow."""
    held = select(CustodyEpisode.id).where(held_on(day), _in_scope(scope))
    extensions = (select(CustodyEvent.episode_id, func.count().label("n"))
                  .where(CustodyEvent.kind == EventKind.EXTENSION.value,
                         CustodyEvent.occurred_on <= day, CustodyEvent.episode_id.in_(held))
                  .group_by(CustodyEvent.episode_id).subquery())
    stmt = (select(CustodyEpisode.measure.label("g_measure"),
                   CustodyEpisode.start_date.label("g_start"),
                   func.coalesce(extensions.c.n, 0).label("g_extensions"), func.count(),
                   func.sum(control.keys.sql(CustodyEpisode.id)))
            .select_from(CustodyEpisode)
            .outerjoin(extensions, extensions.c.episode_id == CustodyEpisode.id)
            .where(held_on(day), _in_scope(scope))
            .group_by("g_measure", "g_start", "g_extensions"))
    tally: dict[str, dict[str, list[int]]] = {
        m.value: {s: [0, 0] for s in STATUS_LABELS} for m in Measure}
    for measure, start, extended, count, keys in session.execute(stmt):
        limit = start + dt.timedelta(days=rules.limit_days(Measure(measure), extended))
        near = dt.timedelta(days=rules.near_days(Measure(measure)))
        status = "past" if day > limit else "near" if limit - day <= near else "within"
        tally[str(measure)][status][0] += count
        tally[str(measure)][status][1] += int(keys)
    # Perturbed as the population's cells are: the same records held give the same figure.
    publish = control.publisher("population")
    return TimeHeld(day, {
        measure: tuple(Cell(s, STATUS_LABELS[s], publish(*counts[s])) for s in STATUS_LABELS)
        for measure, counts in tally.items()})


STATUS_LABELS = {"within": N_("within the limit"), "near": N_("near the limit"),
                 "past": N_("past the limit")}


def _facilities(session: Session, rows: list) -> dict[int, Organisation]:
    """The facilities grouped rows name (a row starts with the facility's id)."""
    ids = sorted({row[0] for row in rows})
    if not ids:
        return {}
    return {o.id: o for o in session.scalars(select(Organisation).where(
        Organisation.id.in_(ids)))}


def _breakdowns(rows: list, facilities: Mapping[int, Organisation],
                publish: Publish) -> tuple[int, dict[str, Breakdown]]:
    """The total and a breakdown by every dimension of grouped rows (facility, measure, stage,
    sex, band, nationality, count, key sum), each cell shown as `publish` says."""
    counts: dict[str, Counter] = {dim: Counter() for dim in DIMENSIONS}
    keys: dict[str, Counter] = {dim: Counter() for dim in DIMENSIONS}
    for fid, measure, stage, sex, band, nationality, n, key_sum in rows:
        org = facilities[fid]
        for dim, value in (("facility", str(fid)), ("province", org.province or NO_PROVINCE),
                           ("branch", org.branch.value), ("measure", str(measure)),
                           ("stage", str(stage)), ("sex", str(sex)), ("age_band", band),
                           ("nationality", nationality)):
            counts[dim][value] += n
            keys[dim][value] += int(key_sum)
    total = publish(sum(row[-2] for row in rows), sum(int(row[-1]) for row in rows))
    return total, {dim: _breakdown(dim, counts[dim], keys[dim], total, facilities, publish)
                   for dim in DIMENSIONS}


def _labels(dim: str, facilities: Mapping[int, Organisation]) -> dict[str, str]:
    """Every value a dimension can take that has a fixed list, with its label, in order."""
    if dim == "branch":
        return {b.value: b.label for b in (Branch.POLICE, Branch.ARMY)}
    if dim == "measure":
        return {m.value: m.label for m in Measure}
    if dim == "stage":
        return {**{s.value: s.label for s in CaseStage}, NO_CASE: NO_CASE_LABEL}
    if dim == "sex":
        return {s.value: s.label for s in Sex}
    if dim == "age_band":
        return {str(low): label for low, label in AGE_BANDS}
    if dim == "facility":
        return {str(fid): org.name for fid, org in facilities.items()}
    return {}


def _breakdown(dim: str, counts: Counter, keys: Counter, total: int,
               facilities: Mapping[int, Organisation], publish: Publish) -> Breakdown:
    fixed = _labels(dim, facilities)
    if fixed and dim != "facility":
        cells = [Cell(key, label, publish(counts.get(key, 0), keys.get(key, 0)))
                 for key, label in fixed.items()]
    else:
        # Open lists (facilities, provinces, nationalities): largest first, then by name. A
        # value shown as 0 is left out: its row alone would say that someone has it.
        named = [(key, fixed.get(key, CENTRAL_LABEL if key == NO_PROVINCE else key),
                  publish(n, keys[key])) for key, n in counts.items()]
        cells = [Cell(key, label, n) for key, label, n in
                 sorted(named, key=lambda c: (-c[2], c[1])) if n]
    return Breakdown(dim, tuple(cells), total)
