"""Facility reports (Decree Art. 10 §3): the clerk of a facility drafts and submits, a manager of
a body above accepts or sends back; a correction is a new version that replaces the accepted one
only once it is accepted; nobody else sees or decides; the accepted figures reach the
dashboard."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from tests.helpers import last_audit, org
from workflow.context import SYSTEM, Actor
from workflow.enums import Role
from workflow.errors import Conflict, Forbidden, InvalidInput, NotFound
from workflow.figures import reports
from workflow.figures.enums import ReportKind, ReportState
from workflow.models import User
from workflow.security.accounts import create_user

NOW = dt.datetime(2026, 11, 25, 3, 0, tzinfo=dt.UTC)
FIGURES = {"staff": 120, "capacity": 800, "cameras": 64, "vehicles": 9,
           "budget_vnd": 12_500_000_000}


def who(db, username: str) -> Actor:
    return Actor(db.scalars(select(User).where(User.username == username)).one(), "t", NOW)


def periodic(**changes) -> reports.ReportInput:
    data = {"kind": ReportKind.PERIODIC, "period_start": dt.date(2026, 10, 1),
            "period_end": dt.date(2026, 10, 31), "title": "Báo cáo tháng 10/2026",
            "body": "", "figures": dict(FIGURES)}
    return reports.ReportInput(**{**data, **changes})


def test_filed_submitted_accepted_then_corrected_by_a_new_version(db):
    clerk, manager = who(db, "clerk.hanoi"), who(db, "manager.hanoi")
    report = reports.create(db, clerk, periodic())
    assert (report.state, report.version) == (ReportState.DRAFT, 1)
    assert reports.allowed_actions(db, manager, report) == set()  # not submitted yet
    reports.fire(db, clerk, report.id, "submit")
    assert reports.allowed_actions(db, manager, report) == {"accept", "send_back"}
    with pytest.raises(InvalidInput):
        reports.fire(db, manager, report.id, "send_back", note="  ")
    reports.fire(db, manager, report.id, "send_back", note="Thiếu số liệu camera")
    assert report.state is ReportState.RETURNED
    reports.edit(db, clerk, report.id, periodic(figures={**FIGURES, "cameras": 70}))
    reports.fire(db, clerk, report.id, "submit")
    reports.fire(db, manager, report.id, "accept")
    assert (report.state, report.figures["cameras"]) == (ReportState.ACCEPTED, 70)
    with pytest.raises(Conflict):
        reports.edit(db, clerk, report.id, periodic())
    second = reports.correct(db, clerk, report.id)
    assert (second.version, second.previous_id, second.state) == (2, report.id,
                                                                  ReportState.DRAFT)
    with pytest.raises(Conflict):
        reports.correct(db, clerk, report.id)
    reports.edit(db, clerk, second.id, periodic(figures={**FIGURES, "staff": 118}))
    reports.fire(db, clerk, second.id, "submit")
    assert report.state is ReportState.ACCEPTED  # stands until the correction is accepted
    reports.fire(db, manager, second.id, "accept")
    db.expire_all()
    assert db.get(type(report), report.id).state is ReportState.SUPERSEDED
    [(facility, latest)] = [p for p in reports.latest_figures(db, [org(db, "TTG-HANOI").id])]
    assert (facility.code, latest.version, latest.figures["staff"]) == ("TTG-HANOI", 2, 118)
    assert last_audit(db, "report.accept").object_id == str(second.id)


def test_nobody_else_sees_or_decides(db):
    report = reports.create(db, who(db, "clerk.hanoi"), periodic())
    reports.fire(db, who(db, "clerk.hanoi"), report.id, "submit")
    # Another facility's clerk and a body outside: not even its existence.
    for outsider in ("clerk.hcm", "requester.vks", "approver.hanoi"):
        with pytest.raises(NotFound):
            reports.get(db, who(db, outsider), report.id)
    # The filer cannot accept their own report.
    with pytest.raises(Forbidden):
        reports.fire(db, who(db, "clerk.hanoi"), report.id, "accept")
    # A manager of another province cannot either.
    other = create_user(db, SYSTEM, username="manager.hcm", full_name="GĐ HCM",
                        organisation_id=org(db, "CA-HOCHIMINH").id, roles={Role.MANAGER},
                        password="một câu đủ dài")
    with pytest.raises(NotFound):
        reports.fire(db, Actor(other), report.id, "accept")
    # The database centre keeps the data but is not above the facility in the tree.
    with pytest.raises(NotFound):
        reports.fire(db, who(db, "manager.central"), report.id, "accept")
    # The ministry's custody management body is above the province's, so above the facility.
    ministry = create_user(db, SYSTEM, username="manager.c11", full_name="Cục trưởng",
                           organisation_id=org(db, "C11").id, roles={Role.MANAGER},
                           password="một câu đủ dài")
    reports.fire(db, Actor(ministry), report.id, "accept")


@pytest.mark.parametrize(("changes", "why"), [
    ({"figures": {**FIGURES, "capacity": None}}, "figure"),
    ({"figures": {**FIGURES, "staff": -1}}, "figure"),
    ({"period_end": dt.date(2026, 9, 1)}, "period"),
    ({"period_end": dt.date(2027, 1, 31)}, "passed"),
    ({"title": " "}, "title"),
    ({"kind": ReportKind.INCIDENT, "figures": {}}, "text"),
])
def test_a_bad_report_is_refused_with_the_reason(db, changes, why):
    with pytest.raises(InvalidInput) as refused:
        reports.create(db, who(db, "clerk.hanoi"), periodic(**changes))
    assert why in refused.value.message


def test_an_old_page_changes_nothing(db):
    clerk, manager = who(db, "clerk.hanoi"), who(db, "manager.hanoi")
    report = reports.create(db, clerk, periodic())
    reports.fire(db, clerk, report.id, "submit")
    seen = reports.version_of(report)
    reports.fire(db, manager, report.id, "send_back", note="Sửa lại")
    reports.fire(db, clerk, report.id, "submit")
    with pytest.raises(Conflict):
        reports.fire(db, manager, report.id, "accept", version=seen)
    assert report.state is ReportState.SUBMITTED


def test_the_pages(client, auth, db):
    auth.login("clerk.hanoi")
    page = client.post("/reports/new", data={
        "kind": "periodic", "period_start": "2026-10-01", "period_end": "2026-10-31",
        "title": "Báo cáo tháng 10/2026", **{k: str(v) for k, v in FIGURES.items()}})
    assert page.status_code == 302
    report_id = int(page.headers["Location"].rsplit("/", 1)[1])
    bad = client.post("/reports/new", data={"kind": "incident", "period_start": "2026-10-01",
                                           "period_end": "2026-10-02", "title": "Sự việc"})
    assert bad.status_code == 422
    assert client.post(f"/reports/{report_id}", data={"action": "submit"}).status_code == 302
    auth.logout()
    auth.login("manager.hanoi")
    listing = client.get("/reports/").get_data(as_text=True)
    assert "Báo cáo tháng 10/2026" in listing
    assert client.post(f"/reports/{report_id}", data={"action": "accept"}).status_code == 302
    assert last_audit(db, "report.accept").actor_name == "manager.hanoi"
    board = client.get("/statistics/?day=2026-10-31").get_data(as_text=True)
    assert "800" in board  # the accepted capacity is on the dashboard
    auth.logout()
    auth.login("clerk.hcm")
    assert client.get(f"/reports/{report_id}").status_code == 404
