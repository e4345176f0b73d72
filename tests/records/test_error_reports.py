"""Reports of errors in provided data (Decree 121/2017 Art. 18 §2): the extract says how, its
recipient reports from the request's page, the facility keeping the record gets the task (and
no other body), closes it as corrected (naming the correction) or as no error found, and the
reporter is told; every step is audited."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from tests.helpers import count, last_audit, versions_of
from tests.worlds import World, arrange, prepare, release, text_of
from workflow.errors import Conflict, InvalidInput, NotFound
from workflow.models import DataErrorReport, Notification, Organisation, Person
from workflow.records import corrections, error_reports, policy
from workflow.records.enums import ErrorReportState


@pytest.fixture
def released(app, db):
    """An extract of a person of the Hà Nội camp, released to the procuracy (requester.vks)."""
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        person, request = arrange(world, db)
        document = release(world, prepare(world, request.id))
        return {"person": person.id, "request": request.id, "document": document.id,
                "code": document.code, "pdf": document.pdf}


def _report(app, username: str, document_id: int, description: str = "Ngày sinh ghi sai",
            **kwargs):
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        return world.act(error_reports.report_error, world.actor(username), document_id,
                         description=description, **kwargs).id


def _correct_person(app, person_id: int, now: dt.datetime) -> int:
    """clerk.hanoi corrects the person through the corrections (a new version); its version
    row's id."""
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        person = world.session.get(Person, person_id)
        world.act(corrections.correct, world.actor("clerk.hanoi", now), "person", person_id,
                  {"place_of_origin": "Xã Đông Anh, Hà Nội"}, reason="Theo báo sai sót",
                  expected_version=person.version)
        return versions_of(session, "person", person_id)[-1].id


def test_the_extract_prints_article_18_in_full_and_says_how_to_report(released, tmp_path):
    words = text_of(released["pdf"], tmp_path)
    assert ("phải kịp thời thông báo cho cơ quan quản lý dữ liệu có thẩm quyền về những sai "
            "sót của dữ liệu được cung cấp (khoản 2 Điều 18") in words
    assert "mở Phiếu đề nghị số YC-" in words and "chọn «Báo sai sót dữ liệu»" in words


def test_a_recipient_reports_and_the_keeping_facility_corrects_and_tells_them(
        app, client, auth, db, released):
    auth.login("requester.vks")
    page = client.get(f"/requests/{released['request']}").get_data(as_text=True)
    form_url = f"/documents/{released['document']}/report-error"
    assert form_url in page and "Báo sai sót dữ liệu" in page
    # Nothing typed: the form says so, and nothing is stored.
    empty = client.post(form_url, data={"description": "   "})
    assert empty.status_code == 422 and "Sai sót là gì" in empty.get_data(as_text=True)
    assert count(db, DataErrorReport) == 0
    sent = client.post(form_url, data={"part": "episodes",
                                       "description": "Ngày bắt đầu tạm giam ghi sai một ngày"})
    assert sent.status_code == 302 and sent.location.endswith("#error-reports")
    [report] = db.scalars(select(DataErrorReport)).all()
    camp = db.scalars(select(Organisation).where(Organisation.code == "TTG-HANOI")).one()
    assert (report.facility_id, report.state, report.part) == (
        camp.id, ErrorReportState.OPEN, "episodes")
    assert last_audit(db, "data_error.report").object_id == str(report.id)
    auth.logout()

    # Another facility of the province, another province: neither lists nor opens it.
    for other in ("clerk.ntg", "clerk.hcm"):
        auth.login(other)
        assert report.description not in client.get("/error-reports/").get_data(as_text=True)
        assert client.get(f"/error-reports/{report.id}").status_code == 404
        assert client.post(f"/error-reports/{report.id}", data={
            "action": "no_error", "no_error-note": "Dữ liệu đúng với hồ sơ"}).status_code == 404
        auth.logout()

    auth.login("clerk.hanoi")
    inbox = client.get("/error-reports/").get_data(as_text=True)
    assert f"/error-reports/{report.id}" in inbox
    url = f"/error-reports/{report.id}"
    assert "Ngày bắt đầu tạm giam ghi sai một ngày" in client.get(url).get_data(as_text=True)
    # "Corrected" names a correction made since: none yet, so it cannot be closed so.
    refused = client.post(url, data={"action": "corrected", "corrected-correction": ""})
    assert refused.status_code == 422
    version_id = _correct_person(app, released["person"], dt.datetime.now(dt.UTC))
    page = client.get(url).get_data(as_text=True)
    assert "Theo báo sai sót" in page
    closed = client.post(url, data={"action": "corrected",
                                    "corrected-correction": str(version_id)})
    assert closed.status_code == 302
    db.expire_all()
    report = db.get(DataErrorReport, report.id)
    assert (report.state, report.correction_id) == (ErrorReportState.CORRECTED, version_id)
    assert last_audit(db, "data_error.close").object_id == str(report.id)
    # Closed once: closing again is refused and changes nothing.
    again = client.post(url, data={"action": "no_error",
                                   "no_error-note": "Dữ liệu đúng với hồ sơ gốc"})
    assert again.status_code == 422 and "đã được kết thúc" in again.get_data(as_text=True)
    db.expire_all()
    assert db.get(DataErrorReport, report.id).state is ErrorReportState.CORRECTED
    assert f"/error-reports/{report.id}" not in client.get("/error-reports/").get_data(
        as_text=True)
    auth.logout()

    auth.login("requester.vks")
    assert "Sai sót đồng chí báo đã được đính chính" in client.get(
        "/requests/inbox").get_data(as_text=True)
    assert "Đã đính chính" in client.get(f"/requests/{released['request']}").get_data(
        as_text=True)


def test_no_error_found_needs_a_reason_and_the_reporter_is_told(app, db, released):
    report_id = _report(app, "requester.vks", released["document"])
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        clerk = world.actor("clerk.hanoi")
        with pytest.raises(InvalidInput):
            world.act(error_reports.close_error_report, clerk, report_id, corrected=False,
                      note="  ")
        with pytest.raises(InvalidInput):  # a correction that is not of this person's record
            world.act(error_reports.close_error_report, clerk, report_id, corrected=True,
                      correction_id=1)
        world.act(error_reports.close_error_report, clerk, report_id, corrected=False,
                  note="Đã đối chiếu lệnh tạm giam: ngày ghi đúng")
        with pytest.raises(Conflict):
            world.act(error_reports.close_error_report, clerk, report_id, corrected=False,
                      note="Đóng lần thứ hai cũng không được")
    db.expire_all()
    report = db.get(DataErrorReport, report_id)
    assert report.state is ErrorReportState.NO_ERROR and report.correction_id is None
    [notice] = db.scalars(select(Notification).where(
        Notification.user_id == report.reported_by_id, Notification.kind == "error_no_error"))
    assert notice.request_id == released["request"]
    # The database itself refuses a "corrected" report naming no correction.
    with pytest.raises(IntegrityError, match="ck_data_error_report|CHECK constraint"):
        db.execute(text("UPDATE data_error_report SET state = 'corrected' WHERE id = :id"),
                   {"id": report_id})


@pytest.mark.parametrize("username", ["approver.hanoi", "consent.hanoi", "clerk.hanoi",
                                      "clerk.hcm"])
def test_only_the_recipient_reports(app, db, released, username):
    with pytest.raises(NotFound):
        _report(app, username, released["document"])
    assert count(db, DataErrorReport) == 0


def test_a_forged_or_unreleased_extract_and_a_bad_part_are_refused(app, db, released):
    for forged in (999_999, 2**40, -1):
        with pytest.raises(NotFound):
            _report(app, "requester.vks", forged)
    with pytest.raises(InvalidInput):
        _report(app, "requester.vks", released["document"], part="d_sentence")
    with pytest.raises(InvalidInput):
        _report(app, "requester.vks", released["document"], description="x" * 2001)
    assert count(db, DataErrorReport) == 0


def test_the_public_verification_page_takes_no_report(client, released):
    page = client.get(f"/verify/{released['code']}").get_data(as_text=True)
    assert "Trang này không nhận báo sai sót" in page and "<textarea" not in page
    assert client.post(f"/verify/{released['code']}").status_code == 405


def test_the_list_and_the_single_read_follow_one_rule(app, released):
    """`visible_error_reports` (SQL, the lists and the menu's count) and
    `can_handle_error_report` (the report's page and its closing) agree for every kind of
    user; only Hà Nội's camp, which keeps the record, has the task."""
    report_id = _report(app, "requester.vks", released["document"])
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        report = session.get(DataErrorReport, report_id)
        seen = {}
        for username in ("clerk.hanoi", "clerk.ntg", "clerk.hcm", "approver.hanoi",
                         "requester.vks", "manager.hanoi", "inspector", "admin"):
            user, day = world.user(username), world.actor(username).today
            listed = report_id in session.scalars(select(DataErrorReport.id).where(
                policy.visible_error_reports(session, user, day))).all()
            assert listed == policy.can_handle_error_report(session, user, report, day)
            seen[username] = listed
    assert [u for u, listed in seen.items() if listed] == ["clerk.hanoi"]


def test_a_recipient_cannot_flood_the_facility_with_reports(app, client, auth, db, released):
    """Found by the attack: one recipient opened any number of correction tasks (each naming
    the person) in the keeping facility's list, 40 in a row here; now three open at most."""
    from tests.helpers import count
    from workflow.models import DataErrorReport

    auth.login("requester.vks")
    url = f"/documents/{released['document']}/report-error"
    statuses = []
    for n in range(40):
        statuses.append(client.post(url, data={"part": "",
                                               "description": f"Sai sót số {n:03d} trong dữ liệu"}
                                    ).status_code)
    assert count(db, DataErrorReport) == 3, statuses  # the open reports one recipient may have

