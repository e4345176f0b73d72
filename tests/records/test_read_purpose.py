"""A direct read inside one's own scope states its purpose (Decree 121/2017 Arts. 3, 12 §3a):
one step before the record is shown, remembered for that person while it is worked on, and
carried by the audit entry of every read."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.helpers import last_audit, org, person_at
from tests.worlds import NOW
from workflow.context import Actor
from workflow.errors import InvalidInput, NotFound
from workflow.models import AuditEntry, CustodyEpisode, User
from workflow.records import persons
from workflow.records.reading import PurposeRequired, ReadPurpose, read_purpose


def views(db) -> int:
    return db.query(AuditEntry).filter(AuditEntry.action == "record.view").count()


def test_a_record_in_scope_asks_its_purpose_first_and_shows_nothing_of_it_before(client, auth,
                                                                                 db):
    person = person_at(db, "TTG-HANOI", skip_kiosk=True)
    auth.login("clerk.hanoi")
    before = views(db)
    response = client.get(f"/persons/{person.id}")
    assert response.status_code == 303
    assert response.location.endswith(f"/persons/{person.id}/purpose?next=/persons/{person.id}")
    page = client.get(response.location).data.decode()
    assert "Vì sao đồng chí mở hồ sơ này?" in page and person.full_name in page
    assert "Quản lý hồ sơ: nhập, kiểm tra, đính chính dữ liệu" in page
    assert person.identifiers[-1].value not in page  # the record is not shown yet
    assert views(db) == before  # nor counted as read


def test_the_stated_purpose_opens_the_record_and_its_read_carries_it(client, auth, db):
    person = person_at(db, "TTG-HANOI", skip_kiosk=True)
    auth.login("clerk.hanoi")
    response = client.post(f"/persons/{person.id}/purpose", data={
        "purpose": "answer", "note": "Đơn khiếu nại số 7/KN", "next": f"/persons/{person.id}"})
    assert response.status_code == 303 and response.location.endswith(f"/persons/{person.id}")
    page = client.get(response.location)
    assert page.status_code == 200 and person.identifiers[-1].value in page.data.decode()
    entry = last_audit(db, "record.view")
    assert entry.person_id == person.id
    assert entry.purpose == ("Giải quyết đề nghị, khiếu nại hoặc báo cáo sai sót dữ liệu: "
                             "Đơn khiếu nại số 7/KN")
    assert '"read_purpose": "answer"' in entry.details
    # Remembered for this person: the record's other pages do not ask again, each read
    # carries the purpose; another person's record asks its own.
    assert client.get(f"/persons/{person.id}/correct").status_code == 200
    assert last_audit(db, "record.view").purpose == entry.purpose
    other = db.scalars(select(CustodyEpisode.person_id).where(
        CustodyEpisode.facility_id == org(db, "TTG-HANOI").id,
        CustodyEpisode.person_id != person.id).limit(1)).one()
    assert client.get(f"/persons/{other}").status_code == 303


def test_another_purpose_must_be_said_and_nothing_is_chosen_for_the_reader(client, auth, db):
    person = person_at(db, "TTG-HANOI", skip_kiosk=True)
    auth.login("clerk.hanoi")
    for data, message in (({}, "Hãy chọn mục đích."),
                          ({"purpose": "other", "note": "xem"},
                           "Hãy nêu mục đích xem hồ sơ (ít nhất 10 ký tự).")):
        response = client.post(f"/persons/{person.id}/purpose", data=data)
        assert response.status_code == 422 and message in response.data.decode()
    page = client.get(f"/persons/{person.id}/purpose").data.decode()
    assert "checked" not in page
    assert client.get(f"/persons/{person.id}").status_code == 303  # still not stated


def test_the_purpose_lapses_after_its_time_without_a_read(app, client, auth, db):
    person = person_at(db, "TTG-HANOI", skip_kiosk=True)
    auth.login("clerk.hanoi")
    auth.purpose(person.id)
    assert client.get(f"/persons/{person.id}").status_code == 200
    app.config["READ_PURPOSE_MINUTES"] = 0
    assert client.get(f"/persons/{person.id}").status_code == 303


def test_out_of_scope_the_purpose_page_says_nothing_exists(client, auth, db):
    hanoi = person_at(db, "TTG-HANOI", skip_kiosk=True)
    auth.login("clerk.hcm")
    assert client.get(f"/persons/{hanoi.id}/purpose").status_code == 404
    assert client.post(f"/persons/{hanoi.id}/purpose",
                       data={"purpose": "keeping"}).status_code == 404
    assert client.get(f"/persons/{hanoi.id}").status_code == 404
    assert client.get("/persons/99999999/purpose").status_code == 404


@pytest.mark.parametrize("target", ["https://evil.example/x", "//evil.example/persons/1",
                                    "/admin/users"])
def test_the_purpose_page_returns_only_to_the_records_own_pages(client, auth, db, target):
    person = person_at(db, "TTG-HANOI", skip_kiosk=True)
    auth.login("clerk.hanoi")
    response = client.post(f"/persons/{person.id}/purpose",
                           data={"purpose": "keeping", "next": target})
    assert response.location.endswith(f"/persons/{person.id}")


def test_the_service_reads_nothing_without_a_purpose(app, db):
    person = person_at(db, "TTG-HANOI", skip_kiosk=True)
    with app.extensions["custody_sessions"]() as session:
        clerk = session.query(User).filter_by(username="clerk.hanoi").one()
        actor = Actor(clerk, "127.0.0.1", NOW)
        with pytest.raises(PurposeRequired):
            persons.view_person(session, actor, person.id)
        other = person_at(db, "TTG-HOCHIMINH")
        with pytest.raises(NotFound):  # out of scope: not found, purpose or not
            persons.view_person(session, actor, other.id, ReadPurpose("keeping"))
        view = persons.view_person(session, actor, person.id, ReadPurpose("report"))
        assert view.person.id == person.id
    with pytest.raises(InvalidInput):
        read_purpose("curiosity")
    assert read_purpose("other", "  Đối chiếu công văn 5/CV  ").note == "Đối chiếu công văn 5/CV"
