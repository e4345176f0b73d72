"""Statistics computed from known records and compared with hand-counted figures; the cell-key
method's promises (zeros stay zero, small counts never show as they are, the same records give
the same figure); the dashboard shows a body its own scope only, exactly to those who may read
its records, published to its managers, and exports the published figures as CSV and XLSX."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from openpyxl import load_workbook
from sqlalchemy import BigInteger, func, literal, select

from tests.helpers import count, last_audit, org
from workflow.context import SYSTEM, Actor
from workflow.db import make_engine, make_session_factory
from workflow.enums import Role
from workflow.errors import Forbidden, InvalidInput
from workflow.figures import dashboard, disclosure, snapshots, statistics
from workflow.figures import requests as request_figures
from workflow.models import (
    AccessRequest,
    Case,
    CaseStageEntry,
    CustodyEpisode,
    CustodyEvent,
    Organisation,
    OrganisationLink,
    Person,
    RequestStep,
    RequestTransition,
    StatisticsSnapshot,
    User,
)
from workflow.organisations.enums import Branch, OrgKind, OrgLevel
from workflow.organisations.scope import management_scope, subtree_ids
from workflow.records.enums import CaseStage, EventKind, Measure, Sex
from workflow.requests.enums import (
    Channel,
    ProvisionForm,
    RequestState,
    StepKind,
    StepOutcome,
    SubjectKind,
)
from workflow.requests.rules import Rulebook
from workflow.security.accounts import create_user

DAY = dt.date(2026, 6, 30)
JUNE = (dt.date(2026, 6, 1), dt.date(2026, 6, 30))
EXACT = disclosure.exact_control()
PUBLISHED = disclosure.cell_key_control("test-secret", 5)


def _org(db, code, kind, parent, province="Tỉnh Thử") -> Organisation:
    body = Organisation(code=code, name=f"{kind.label} {code}", kind=kind, branch=Branch.POLICE,
                        level=OrgLevel.PROVINCE, province=province,
                        valid_from=dt.date(2017, 1, 1))
    db.add(body)
    db.flush()
    if parent is not None:
        db.add(OrganisationLink(organisation_id=body.id, parent_id=parent.id,
                                valid_from=dt.date(2017, 1, 1)))
    db.flush()
    return body


class Province:
    """A province of its own, with records whose figures were counted by hand."""

    def __init__(self, db) -> None:
        self.db = db
        c11 = org(db, "C11")
        self.body = _org(db, "CA-THU", OrgKind.PROVINCIAL_BODY, c11)
        self.camp = _org(db, "TTG-THU", OrgKind.DETENTION_CAMP, self.body)
        self.house = _org(db, "NTG-THU", OrgKind.CUSTODY_HOUSE, self.body)
        self.procuracy = _org(db, "VKS-THU", OrgKind.PROCURACY, None)
        self.case1 = self.case("1/2026", [(CaseStage.INVESTIGATION, "2026-02-20"),
                                          (CaseStage.PROSECUTION, "2026-07-10")])
        self.case2 = self.case("2/2026", [(CaseStage.INVESTIGATION, "2026-01-05"),
                                          (CaseStage.PROSECUTION, "2026-05-01")])
        c, h = self.camp, self.house
        D, C = Measure.DETENTION, Measure.CUSTODY
        self.p1 = self.held("P1", Sex.MALE, "1990-07-01", c, D, "2026-03-01", case=self.case1)
        self.p2 = self.held("P2", Sex.FEMALE, "2009-01-01", h, C, "2026-06-28",
                            events=[(EventKind.RECEIPT, "2026-06-28")])
        self.p3 = self.held("P3", Sex.MALE, "1996-06-30", c, D, "2026-01-10", nationality="Lào",
                            case=self.case2)
        self.p4 = self.held("P4", Sex.MALE, "1960-01-01", c, D, "2026-06-10", end="2026-06-30",
                            events=[(EventKind.RECEIPT, "2026-06-10"),
                                    (EventKind.RELEASE, "2026-06-30")])
        self.p5 = self.held("P5", Sex.MALE, "1985-05-05", c, D, "2026-04-01", case=self.case1,
                            events=[(EventKind.EXTENSION, "2026-05-25")])
        self.p6 = self.held("P6", Sex.MALE, "2000-02-02", c, D, "2026-05-15",
                            events=[(EventKind.EXTRACTION, "2026-06-20"),
                                    (EventKind.RETURN, "2026-06-21"),
                                    (EventKind.EXTRACTION, "2026-07-05")])
        self.p7 = self.held("P7", Sex.MALE, "1999-09-09", c, D, "2026-05-05", case=self.case2)
        self.p8 = self.held("P8", Sex.MALE, "1980-03-03", c, D, "2026-02-01", end="2026-06-15",
                            events=[(EventKind.TRANSFER, "2026-06-15")])

    def case(self, number: str, stages) -> Case:
        case = Case(number=f"THU-{number}", title="Vụ án thử", charges="Điều 173",
                    opened_on=dt.date(2026, 1, 1))
        self.db.add(case)
        self.db.flush()
        for stage, day in stages:
            self.db.add(CaseStageEntry(case_id=case.id, stage=stage,
                                       handling_org_id=self.procuracy.id,
                                       from_date=dt.date.fromisoformat(day)))
        self.db.flush()
        return case

    def held(self, name, sex, born, facility, measure, start, *, end=None, case=None,
             nationality="Việt Nam", events=()) -> Person:
        person = Person(full_name=f"Người thử {name}", name_key=name.lower(),
                        given_key=name.lower(), birth_date=dt.date.fromisoformat(born), sex=sex,
                        nationality=nationality)
        self.db.add(person)
        self.db.flush()
        episode = CustodyEpisode(person_id=person.id, facility_id=facility.id, measure=measure,
                                 start_date=dt.date.fromisoformat(start),
                                 end_date=dt.date.fromisoformat(end) if end else None,
                                 legal_basis="Lệnh thử", case_id=case.id if case else None)
        self.db.add(episode)
        self.db.flush()
        for kind, day in events:
            self.db.add(CustodyEvent(episode_id=episode.id, kind=kind,
                                     occurred_on=dt.date.fromisoformat(day)))
        self.db.flush()
        return person

    def scope(self):
        return management_scope(self.db, self.body, DAY)


@pytest.fixture
def province(db) -> Province:
    return Province(db)


def counts(breakdown: statistics.Breakdown) -> dict[str, int | None]:
    return {c.key: c.count for c in breakdown.cells}


def test_population_on_a_day_matches_the_hand_count(db, province):
    figures = statistics.population(db, province.scope(), DAY, EXACT)
    b = figures.breakdowns
    # P4 left on the day itself: six are held at its end.
    assert figures.total == 6
    assert counts(b["facility"]) == {str(province.camp.id): 5, str(province.house.id): 1}
    assert counts(b["province"]) == {"Tỉnh Thử": 6}
    assert counts(b["branch"]) == {"cand": 6, "qdnd": 0}
    assert counts(b["measure"]) == {"custody": 1, "detention": 5}
    assert counts(b["sex"]) == {"male": 5, "female": 1}
    # P3 turns 30 on the day: counted in 30 to 44; P2 is 17.
    assert counts(b["age_band"]) == {"0": 1, "18": 2, "30": 3, "45": 0, "60": 0}
    assert counts(b["nationality"]) == {"Việt Nam": 5, "Lào": 1}
    # Case 1 moves to prosecution only on 10 July.
    assert counts(b["stage"]) == {"investigation": 2, "prosecution": 2, "trial": 0,
                                  "enforcement": 0, "suspended": 0, "closed": 0, "none": 2}
    assert all(x.total == 6 for x in b.values())


def test_a_day_before_counts_who_was_held_then(db, province):
    figures = statistics.population(db, province.scope(), dt.date(2026, 6, 12), EXACT)
    # P2 was not yet received; P4 and P8 were still there.
    assert figures.total == 7
    assert counts(figures.breakdowns["measure"]) == {"custody": 0, "detention": 7}


def test_movements_over_a_period_match_the_hand_count(db, province):
    m = statistics.movements(db, province.scope(), *JUNE, EXACT)
    assert m.totals == {"receipt": 2, "release": 1, "transfer": 1, "extraction": 1,
                        "handover_for_sentence": 0, "escape": 0, "death": 0}
    receipts = m.by_kind["receipt"]
    assert counts(receipts["facility"]) == {str(province.camp.id): 1, str(province.house.id): 1}
    assert counts(receipts["measure"]) == {"custody": 1, "detention": 1}
    # Ages on the period's last day: P4 is 66, P2 17.
    assert counts(receipts["age_band"]) == {"0": 1, "18": 0, "30": 0, "45": 0, "60": 1}


def test_time_held_against_the_legal_limits(db, province):
    rules = Rulebook().on(DAY)
    held = statistics.time_held(db, province.scope(), DAY, rules, EXACT)
    as_counts = {m: {c.key: c.count for c in cells} for m, cells in held.cells.items()}
    # Custody: P2 received 28 June, 3 days → 1 July: near. Detention, 60 days a term: P1
    # (1 March) and P3 (10 January) past; P7 (5 May → 4 July) near; P6 (15 May → 14 July)
    # within; P5 (1 April, extended once → 30 July) within.
    assert as_counts == {"custody": {"within": 0, "near": 1, "past": 0},
                         "detention": {"within": 2, "near": 1, "past": 2}}


def test_the_limits_are_configurable(db, province):
    rules = Rulebook.from_overrides({"L94-2015.1": {"detention_days": 240}}).on(DAY)
    held = statistics.time_held(db, province.scope(), DAY, rules, EXACT)
    assert {c.key: c.count for c in held.cells["detention"]} == {"within": 5, "near": 0,
                                                                 "past": 0}


class Requests:
    """Five requests about the province, timed by hand."""

    def __init__(self, db, province: Province) -> None:
        self.db, self.p = db, province
        self.requester = create_user(db, SYSTEM, username="vks.thu", full_name="Kiểm sát viên",
                                     organisation_id=province.procuracy.id,
                                     roles={Role.REQUESTER}, password="một câu đủ dài")
        self.request("R1", "2026-06-02 02:00", "2026-06-09",
                     [("awaiting_approval", "2026-06-02 02:00"),
                      ("approved", "2026-06-05 02:00")], StepOutcome.GRANTED, "2026-06-05 02:00")
        self.request("R2", "2026-06-03 02:00", "2026-06-10",
                     [("awaiting_approval", "2026-06-03 02:00"),
                      ("refused", "2026-06-12 02:00")], StepOutcome.REFUSED, "2026-06-12 02:00")
        self.request("R3", "2026-06-20 02:00", "2026-06-27",
                     [("awaiting_approval", "2026-06-20 02:00")], StepOutcome.PENDING, None)
        self.request("R4", "2026-06-25 02:00", "2026-07-02",
                     [("awaiting_approval", "2026-06-25 02:00")], StepOutcome.PENDING, None,
                     on_behalf_of=province.p1)
        self.request("R5", "2026-05-20 02:00", "2026-05-27",
                     [("awaiting_approval", "2026-05-20 02:00"),
                      ("approved", "2026-05-21 02:00")], StepOutcome.GRANTED, "2026-05-21 02:00")

    def request(self, number, submitted, due, moves, outcome, decided, on_behalf_of=None):
        at = dt.datetime.fromisoformat(submitted).replace(tzinfo=dt.UTC)
        state = RequestState(moves[-1][0])
        r = AccessRequest(number=f"THU-{number}", state=state, requester_id=self.requester.id,
                          requester_org_id=self.p.procuracy.id, channel=Channel.NETWORK,
                          subject_kind=SubjectKind.PERSON, subject_person_id=self.p.p1.id,
                          on_behalf_of_id=on_behalf_of.id if on_behalf_of else None,
                          purpose="Thử", legal_basis="Điều 12", provision=ProvisionForm.PDF,
                          due_on=dt.date.fromisoformat(due), submitted_at=at, created_at=at,
                          rule_version=Rulebook().on(at.date()).version)  # routed
        self.db.add(r)
        self.db.flush()
        before = RequestState.DRAFT
        self.db.add(RequestTransition(request_id=r.id, trigger="submit", from_state=before,
                                      to_state=RequestState.SUBMITTED, at=at))
        before = RequestState.SUBMITTED
        for to, when in moves:
            self.db.add(RequestTransition(
                request_id=r.id, trigger="move", from_state=before, to_state=RequestState(to),
                at=dt.datetime.fromisoformat(when).replace(tzinfo=dt.UTC)))
            before = RequestState(to)
        self.db.add(RequestStep(
            request_id=r.id, kind=StepKind.APPROVAL, org_id=self.p.body.id, outcome=outcome,
            due_on=dt.date.fromisoformat(due),
            decided_at=dt.datetime.fromisoformat(decided).replace(tzinfo=dt.UTC)
            if decided else None))
        self.db.flush()


def test_request_figures_match_the_hand_count(db, province):
    Requests(db, province)
    bodies = subtree_ids(db, province.body.id, DAY)
    f = request_figures.figures(db, bodies, *JUNE, today=dt.date(2026, 11, 25),
                                control=EXACT)
    assert f.filed == 4  # R5 was submitted in May
    assert [(key, n) for key, _, n in f.by_requester] == [("procuracy", 3),
                                                          ("detained_person", 1)]
    assert (StepKind.APPROVAL, StepOutcome.GRANTED, 1) in f.decisions
    assert (StepKind.APPROVAL, StepOutcome.REFUSED, 1) in f.decisions
    # R1 answered in 3 days (in time), R2 in 9 (due on 10 June, answered on the 12th).
    assert (f.answered, f.answered_in_time, f.in_time_share) == (2, 1, 0.5)
    waiting = next(s for s in f.state_times if s.state is RequestState.AWAITING_APPROVAL)
    assert (waiting.stays, waiting.median_days, waiting.mean_days) == (2, 6.0, 6.0)
    assert f.overdue == [(province.body.name, 2)]
    # Another province's body sees none of them.
    other = subtree_ids(db, org(db, "CA-HOCHIMINH").id, DAY)
    assert request_figures.figures(db, other, *JUNE, today=dt.date(2026, 11, 25),
                                control=EXACT).filed == 0


def _manager(db, province: Province) -> User:
    return create_user(db, SYSTEM, username="manager.thu", full_name="Giám đốc thử",
                       organisation_id=province.body.id, roles={Role.MANAGER},
                       password="một câu đủ dài")


def _reader(db, province: Province) -> User:
    """An approver of the province's body: reads the records of its scope."""
    return create_user(db, SYSTEM, username="approver.thu", full_name="Phó giám đốc thử",
                       organisation_id=province.body.id, roles={Role.APPROVER},
                       password="một câu đủ dài")


def _build(db, user: User, control, **period) -> dashboard.Dashboard:
    return dashboard.build(db, Actor(user), Rulebook(), control=control,
                           **({"day": DAY, "start": JUNE[0], "end": JUNE[1]} | period))


# The cell-key method's promises.

def test_the_perturbation_table_keeps_zeros_hides_small_counts_and_moves_others_by_two():
    for key in (0.0, 0.05, 0.3, 0.5, 0.77, 0.999):
        assert disclosure.perturbed(0, key, 5) == 0
        for n in range(1, 5):
            assert disclosure.perturbed(n, key, 5) in (0, 5)
        for n in range(5, 40):
            shown = disclosure.perturbed(n, key, 5)
            assert shown >= 5 and abs(shown - n) <= 2
    # On average a small count is itself (shown as 5 with probability n/5).
    for n in range(1, 5):
        assert dict(disclosure.ptable_row(n, 5))[5] == pytest.approx(n / 5)
    assert all(sum(p for _, p in disclosure.ptable_row(n, 5)) == pytest.approx(1)
               for n in range(60))


def test_the_records_keys_summed_by_the_database_are_those_python_computes(db, province):
    keys = disclosure.RecordKeys.from_secret(b"test-secret")
    ids = db.scalars(select(CustodyEpisode.id)).all()
    # Integer arithmetic all the way: no overflow into floating point on either back-end.
    assert int(db.scalar(select(func.sum(keys.sql(CustodyEpisode.id))))) == keys.sum_of(ids)
    largest = literal(2**31 - 2, BigInteger)
    assert int(db.scalar(select(keys.sql(largest)))) == keys.of(2**31 - 2)


def test_published_figures_are_perturbed_but_the_same_records_give_the_same_figure(db, province):
    exact = statistics.population(db, province.scope(), DAY, EXACT)
    shown = statistics.population(db, province.scope(), DAY, PUBLISHED)
    assert shown == statistics.population(db, province.scope(), DAY, PUBLISHED)
    for dim, breakdown in exact.breakdowns.items():
        published = counts(shown.breakdowns[dim])
        for cell in breakdown.cells:
            n = published.get(cell.key, 0)
            if cell.count == 0:
                assert n == 0
            elif cell.count < 5:
                assert n in (0, 5)
            else:
                assert abs(n - cell.count) <= 2
    # A total is a cell of its own: the same records (all six held), the same figure.
    assert {b.total for b in shown.breakdowns.values()} == {shown.total}
    # The measure's cell and the time held cells of the same records agree: here every
    # custody is near its limit, so both cells hold P2 alone.
    held = statistics.time_held(db, province.scope(), DAY, Rulebook().on(DAY), PUBLISHED)
    near = {c.key: c.count for c in held.cells["custody"]}["near"]
    assert near == counts(shown.breakdowns["measure"])["custody"]
    # Another secret perturbs otherwise.
    others = [statistics.population(db, province.scope(), DAY,
                                    disclosure.cell_key_control(f"other-{i}", 5)) for i in range(8)]
    assert len({o.breakdowns["age_band"].cells for o in others}) > 1


def test_request_figures_are_published_too(db, province):
    Requests(db, province)
    bodies = subtree_ids(db, province.body.id, DAY)
    f = request_figures.figures(db, bodies, *JUNE, today=dt.date(2026, 11, 25),
                                control=PUBLISHED)
    # One detained person's request: never shown as 1; 4 filed: 0 or 5.
    assert dict((k, n) for k, _, n in f.by_requester).get("detained_person", 0) in (0, 5)
    assert f.filed in (0, 5) and f.answered in (0, 5)
    assert all(n in (0, 5) for _, n in f.overdue)
    # Two stays are too few for a median that is not one request's own time.
    waiting = [s for s in f.state_times if s.state is RequestState.AWAITING_APPROVAL]
    assert all(s.median_days is None and s.mean_days is None for s in waiting)


# The two audiences.

def test_the_managers_dashboard_is_published_and_audited(db, province):
    Requests(db, province)
    manager = _manager(db, province)
    board = _build(db, manager, PUBLISHED)
    assert board.organisation.id == province.body.id and not board.exact
    assert board.population == statistics.population(db, province.scope(), DAY, PUBLISHED)
    assert abs(board.population.total - 6) <= 2
    entry = last_audit(db, "statistics.view")
    assert entry.actor_name == "manager.thu" and '"day": "2026-06-30"' in entry.details
    # The manager does not read records: no exact figures.
    with pytest.raises(Forbidden):
        _build(db, manager, EXACT)


def test_those_who_read_the_records_see_them_exactly_and_each_view_is_audited(db, province):
    Requests(db, province)
    reader = _reader(db, province)
    board = _build(db, reader, EXACT, day=dt.date(2026, 6, 12))
    assert board.exact and board.population.total == 7
    assert board.requests.filed == 4
    assert last_audit(db, "statistics.exact").details.count('"day": "2026-06-12"') == 1
    # Exact figures never go into a file; a reader without the manager's role has no
    # published dashboard either.
    with pytest.raises(Forbidden):
        _build(db, reader, EXACT, export="csv")
    with pytest.raises(Forbidden):
        _build(db, reader, PUBLISHED)


@pytest.mark.parametrize("role", [Role.CLERK, Role.APPROVER, Role.INSPECTOR, Role.REQUESTER])
def test_other_roles_get_no_published_statistics(db, province, role):
    user = create_user(db, SYSTEM, username=f"x.{role.value}", full_name="X",
                       organisation_id=province.body.id, roles={role},
                       password="một câu đủ dài")
    with pytest.raises(Forbidden):
        _build(db, user, PUBLISHED)


@pytest.mark.parametrize("role", [Role.MANAGER, Role.INSPECTOR, Role.REQUESTER])
def test_exact_figures_need_records_in_the_scope(db, province, role):
    # A procuracy reads no records: its requester, like any manager or inspector, is refused.
    body = province.procuracy if role is Role.REQUESTER else province.body
    user = create_user(db, SYSTEM, username=f"y.{role.value}", full_name="Y",
                       organisation_id=body.id, roles={role}, password="một câu đủ dài")
    with pytest.raises(Forbidden):
        _build(db, user, EXACT)


@pytest.mark.parametrize(("start", "end", "day"), [
    ("2026-06-30", "2026-06-01", "2026-06-30"),   # backwards
    ("2010-01-01", "2026-06-30", "2026-06-30"),   # more than ten years
    ("2026-06-01", "2099-01-31", "2026-06-30"),   # the future
    ("2026-06-01", "2026-06-30", "2026-06-29"),   # not a month's end
    ("2026-06-02", "2026-06-30", "2026-06-30"),   # not a whole month
    ("2026-05-01", "2026-06-30", "2026-06-30"),   # two months, neither quarter nor year
    ("2026-04-01", "2026-05-31", "2026-06-30"),   # a quarter's first two months
])
def test_a_period_that_is_not_published_is_refused(db, province, start, end, day):
    manager = _manager(db, province)
    with pytest.raises(InvalidInput):
        _build(db, manager, PUBLISHED, day=dt.date.fromisoformat(day),
               start=dt.date.fromisoformat(start), end=dt.date.fromisoformat(end))


@pytest.mark.parametrize(("start", "end"), [("2026-06-01", "2026-06-30"),   # a month
                                            ("2026-04-01", "2026-06-30"),   # a quarter
                                            ("2026-01-01", "2026-06-30")])  # the year so far
def test_the_reporting_periods(db, province, start, end):
    board = _build(db, _manager(db, province), PUBLISHED, start=dt.date.fromisoformat(start),
                   end=dt.date.fromisoformat(end))
    assert (board.start, board.end) == (dt.date.fromisoformat(start), dt.date.fromisoformat(end))


def test_exports_carry_the_published_figures(db, province):
    board = _build(db, _manager(db, province), PUBLISHED)
    text = dashboard.to_csv(board, str).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Section", "Breakdown", "Item", "Figure"]
    as_dict = {(r[1], r[2]): r[3] for r in rows[1:] if r[0].startswith("Persons held")}
    assert as_dict[("Total", "")] == str(board.population.total)
    # One woman is held: her cell shows 0 or 5, never 1.
    assert as_dict[("Sex", "Female")] in ("0", "5")
    book = load_workbook(io.BytesIO(dashboard.to_xlsx(board, str)), read_only=True)
    sheet = book.worksheets[0]
    xlsx_rows = [tuple(c for c in r) for r in sheet.iter_rows(min_row=3, values_only=True)]
    assert [tuple("" if v is None else str(v) for v in r) for r in xlsx_rows] == [
        tuple(r) for r in rows[1:]]
    # Numbers stay numbers in the workbook.
    assert any(r[3] == board.population.total and r[1] == "Total" for r in xlsx_rows)


# The web side: what a manager sees and downloads, what a reader of the records sees.

def test_the_manager_of_hanoi_sees_hanoi_only(client, auth, db):
    auth.login("manager.hanoi")
    page = client.get("/statistics/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    hanoi = management_scope(db, org(db, "CA-HANOI"), SYSTEM.today)
    names = {o.name for o in db.scalars(select(Organisation).where(
        Organisation.id.in_(hanoi.facility_ids)))}
    assert any(name in html for name in names)
    assert "Hồ Chí Minh" not in html and "Quân khu" not in html
    assert last_audit(db, "statistics.view").actor_name == "manager.hanoi"
    assert "/statistics/exact" not in html


def test_the_dashboard_and_its_files_agree(app, client, auth, db):
    auth.login("manager.hanoi")
    query = "?day=2026-10-31&start=2026-01-01&end=2026-10-31"
    answer = client.get(f"/statistics/export.xlsx{query}")
    assert answer.status_code == 200
    assert answer.headers["Content-Disposition"].endswith('.xlsx"')
    assert last_audit(db, "statistics.export").details.count('"format": "xlsx"') == 1
    sheet = load_workbook(io.BytesIO(answer.data), read_only=True).worksheets[0]
    total = next(r[3] for r in sheet.iter_rows(min_row=3, values_only=True)
                 if r[1] in ("Total", "Tổng số") and str(r[0]).endswith("31/10/2026"))
    day = dt.date(2026, 10, 31)
    expected = statistics.population(db, management_scope(db, org(db, "CA-HANOI"), day), day,
                                     app.extensions["custody_statistics"]).total
    assert total == expected
    csv_answer = client.get(f"/statistics/export.csv{query}")
    assert csv_answer.headers["Content-Type"].startswith("text/csv")
    assert csv_answer.data.startswith("\ufeff".encode())


def test_a_clerk_sees_the_exact_figures_of_the_facility_on_the_page_only(client, auth, db):
    auth.login("clerk.hanoi")
    assert "/statistics/exact" in client.get("/").get_data(as_text=True)
    page = client.get("/statistics/exact?day=2026-11-20&start=2026-01-01&end=2026-11-20")
    assert page.status_code == 200
    day = dt.date(2026, 11, 20)
    clerk = db.scalars(select(User).where(User.username == "clerk.hanoi")).one()
    scope = management_scope(db, clerk.organisation, day)
    exact = statistics.population(db, scope, day, EXACT).total
    html = page.get_data(as_text=True)
    assert f'<p class="big-figure">{exact} ' in html
    assert "Tải XLSX" not in html and "export.csv" not in html
    assert last_audit(db, "statistics.exact").actor_name == "clerk.hanoi"
    assert client.get("/statistics/export.csv").status_code == 403


def test_a_bad_period_on_the_page_says_why(client, auth):
    auth.login("manager.hanoi")
    page = client.get("/statistics/?start=2026-06-30&end=2026-06-01")
    assert page.status_code == 422
    assert "Ngày kết thúc kỳ trước ngày bắt đầu." in page.get_data(as_text=True)
    assert client.get("/statistics/?day=not-a-date").status_code == 422
    page = client.get("/statistics/?day=2026-10-30")
    assert page.status_code == 422
    assert "cuối tháng" in page.get_data(as_text=True)


def test_kept_figures_are_served_until_they_are_older_than_the_age(db, province, database_url):
    reader = _reader(db, province)
    t0 = dt.datetime(2026, 11, 25, 3, 0, tzinfo=dt.UTC)
    age = dt.timedelta(minutes=10)
    engine = make_engine(database_url)

    def board(at, control=EXACT):
        # A transaction of its own, as a request has (the figures are kept in a savepoint).
        with make_session_factory(engine)() as session:
            user = session.get(User, reader.id if control is EXACT else manager.id)
            shown = dashboard.build(session, Actor(user, None, at), Rulebook(), day=DAY,
                                    start=JUNE[0], end=JUNE[1], control=control, max_age=age)
            session.commit()
            return shown

    manager = _manager(db, province)
    first = board(t0)
    assert (first.population.total, first.as_of) == (6, t0)
    # The same body's published figures are kept apart from its exact ones.
    assert board(t0, PUBLISHED).population == statistics.population(
        db, province.scope(), DAY, PUBLISHED)
    province.held("P9", Sex.FEMALE, "1991-01-01", province.camp, Measure.DETENTION,
                  "2026-06-01")
    kept = board(t0 + dt.timedelta(minutes=5))
    assert (kept.population.total, kept.as_of) == (6, t0)
    assert kept.population == first.population and kept.requests == first.requests
    assert kept.time_held == first.time_held and kept.movements == first.movements
    fresh = board(t0 + dt.timedelta(minutes=11))
    assert (fresh.population.total, fresh.as_of) == (7, t0 + dt.timedelta(minutes=11))
    engine.dispose()


def test_kept_figures_read_back_exactly_as_counted(db, province):
    Requests(db, province)
    counted = _build(db, _manager(db, province), PUBLISHED)
    parts = (counted.population, counted.movements, counted.time_held, counted.requests)
    assert snapshots.decode(json.loads(json.dumps(snapshots.encode(parts)))) == parts


def test_sweep_counts_the_managers_default_views(runner, db):
    result = runner.invoke(args=["sweep"])
    assert result.exit_code == 0 and "statistics counted for 2 bodies" in result.output
    assert "statistics counted for 0 bodies" in runner.invoke(args=["sweep"]).output
    assert count(db, StatisticsSnapshot) == 2
