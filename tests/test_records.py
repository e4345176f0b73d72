"""Entering and correcting records through the forms: validation, versions, history."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from tests.helpers import count, org, person_at, versions_of
from workflow.models import (
    Case,
    CaseStageEntry,
    CustodyEpisode,
    CustodyEvent,
    Person,
    PersonIdentifier,
    RecordVersion,
)


def new_person_form(db, **overrides) -> dict:
    data = {
        "full_name": "Trần Thị Bích Ngọc", "birth_date": "1990-04-05", "sex": "female",
        "nationality": "Việt Nam", "place_of_origin": "Hà Nội",
        "id_kind": "cccd", "id_value": "001190123456", "id_issued_on": "2022-01-10",
        "id_country": "", "facility_id": org(db, "TTG-HANOI").id, "measure": "detention",
        "start_date": "2026-11-01", "legal_basis": "Lệnh tạm giam số 12/LTG", "case_number": "",
    }
    data.update(overrides)
    return data


def test_clerk_registers_a_person_with_identifier_and_episode(client, auth, db):
    auth.login("clerk.hanoi")
    response = client.post("/persons/new", data=new_person_form(db))
    assert response.status_code == 302
    person = db.execute(select(Person).where(Person.full_name == "Trần Thị Bích Ngọc")
                        ).scalar_one()
    assert person.name_key == "tran thi bich ngoc"
    assert [i.value for i in person.identifiers] == ["001190123456"]
    assert [(e.measure.value, e.start_date) for e in person.episodes] == [
        ("detention", dt.date(2026, 11, 1))]
    page = client.get(response.location).data.decode()
    assert "Trần Thị Bích Ngọc" in page and "001190123456" in page


@pytest.mark.parametrize(("field", "value", "message"), [
    ("id_value", "12345", "12 chữ số"),
    ("birth_date", "2099-01-01", "tương lai"),
    ("start_date", "2099-01-01", "tương lai"),
    ("full_name", "N" * 161, "Họ và tên"),
    ("legal_basis", "", "Trường này bắt buộc"),
    ("facility_id", "999999", "Not a valid choice"),
    ("case_number", "KHONG-CO/2026", "Không có vụ án số KHONG-CO/2026"),
    ("sex", "robot", "Not a valid choice"),
])
def test_bad_input_is_refused_with_a_message_and_nothing_saved(client, auth, db, field, value,
                                                               message):
    before = (count(db, Person), count(db, PersonIdentifier), count(db, CustodyEpisode),
              count(db, RecordVersion))
    auth.login("clerk.hanoi")
    response = client.post("/persons/new", data=new_person_form(db, **{field: value}))
    assert response.status_code == 422
    assert message in response.data.decode()
    after = (count(db, Person), count(db, PersonIdentifier), count(db, CustodyEpisode),
             count(db, RecordVersion))
    assert after == before


def test_clerk_cannot_register_at_a_facility_of_another_province(client, auth, db):
    auth.login("clerk.hanoi")
    response = client.post("/persons/new", data=new_person_form(
        db, facility_id=org(db, "TTG-HOCHIMINH").id))
    assert response.status_code == 422
    assert count(db, Person) == db.scalar(select(Person.id).order_by(Person.id.desc()).limit(1))


def test_a_taken_identity_number_is_refused_and_nothing_is_half_saved(client, auth, db):
    taken = person_at(db, "TTG-HANOI").identifiers[-1].value
    before = count(db, Person)
    auth.login("clerk.hanoi")
    response = client.post("/persons/new", data=new_person_form(db, id_value=taken))
    assert response.status_code == 422
    assert "đã được đăng ký" in response.data.decode()
    assert count(db, Person) == before


def test_correction_keeps_the_old_version_with_author_time_and_reason(client, auth, db):
    person = person_at(db, "TTG-HANOI")
    old_name = person.full_name
    auth.login("clerk.hanoi")
    form = {"full_name": "Nguyễn Văn Đính Chính", "birth_date": person.birth_date.isoformat(),
            "sex": person.sex.value, "nationality": person.nationality,
            "place_of_origin": person.place_of_origin or "", "version": "1",
            "reason": "Sai chính tả theo lý lịch tư pháp"}
    response = client.post(f"/persons/{person.id}/correct", data=form)
    assert response.status_code == 302
    db.expire_all()
    current = db.get(Person, person.id)
    assert current.full_name == "Nguyễn Văn Đính Chính" and current.version == 2
    assert current.name_key == "nguyen van dinh chinh"
    kept = versions_of(db, "person", person.id)
    assert [v.version for v in kept] == [1, 2]
    assert old_name in kept[0].data and kept[1].reason == "Sai chính tả theo lý lịch tư pháp"
    assert kept[1].changed_by_id is not None
    page = client.get(f"/persons/{person.id}").data.decode()
    assert old_name in page and "Sai chính tả theo lý lịch tư pháp" in page


def test_a_stale_correction_conflicts_and_changes_nothing(client, auth, db):
    person = person_at(db, "TTG-HANOI")
    auth.login("clerk.hanoi")
    form = {"full_name": "Tên Mới", "birth_date": person.birth_date.isoformat(),
            "sex": person.sex.value, "nationality": person.nationality, "version": "1",
            "reason": "Đính chính lần một"}
    assert client.post(f"/persons/{person.id}/correct", data=form).status_code == 302
    form |= {"full_name": "Tên Khác", "reason": "Đính chính dựa trên bản cũ"}
    response = client.post(f"/persons/{person.id}/correct", data=form)
    assert response.status_code == 422
    assert "người khác đính chính" in response.data.decode()
    db.expire_all()
    assert db.get(Person, person.id).full_name == "Tên Mới"


def test_a_correction_without_reason_or_change_is_refused(client, auth, db):
    person = person_at(db, "TTG-HANOI")
    auth.login("clerk.hanoi")
    same = {"full_name": person.full_name, "birth_date": person.birth_date.isoformat(),
            "sex": person.sex.value, "nationality": person.nationality,
            "place_of_origin": person.place_of_origin or "", "version": "1"}
    assert client.post(f"/persons/{person.id}/correct", data=same | {"reason": ""}
                       ).status_code == 422
    response = client.post(f"/persons/{person.id}/correct", data=same | {"reason": "không đổi"})
    assert response.status_code == 422 and "Không có gì thay đổi" in response.data.decode()
    assert len(versions_of(db, "person", person.id)) == 1


def test_release_event_closes_the_episode_as_a_new_version(client, auth, db):
    hanoi = org(db, "TTG-HANOI").id
    episode = db.execute(select(CustodyEpisode).where(
        CustodyEpisode.facility_id == hanoi, CustodyEpisode.end_date.is_(None))
        .order_by(CustodyEpisode.id).limit(1)).scalar_one()
    auth.login("clerk.hanoi")
    response = client.post(f"/episodes/{episode.id}/events/new", data={
        "kind": "release", "occurred_on": "2026-11-20", "note": "Hết thời hạn tạm giam",
        "document_number": "15/QĐ", "other_facility_id": "0"})
    assert response.status_code == 302
    db.expire_all()
    closed = db.get(CustodyEpisode, episode.id)
    assert closed.end_date == dt.date(2026, 11, 20) and closed.version == 2
    assert versions_of(db, "episode", episode.id)[-1].reason == "event:release"
    again = client.post(f"/episodes/{episode.id}/events/new", data={
        "kind": "release", "occurred_on": "2026-11-21", "other_facility_id": "0"})
    assert again.status_code == 422


def test_transfer_needs_another_facility(client, auth, db):
    hanoi = org(db, "TTG-HANOI").id
    episode = db.execute(select(CustodyEpisode).where(
        CustodyEpisode.facility_id == hanoi, CustodyEpisode.end_date.is_(None))
        .order_by(CustodyEpisode.id).limit(1)).scalar_one()
    auth.login("clerk.hanoi")
    events = count(db, CustodyEvent)
    response = client.post(f"/episodes/{episode.id}/events/new", data={
        "kind": "transfer", "occurred_on": "2026-11-20", "other_facility_id": str(hanoi)})
    assert response.status_code == 422 and count(db, CustodyEvent) == events
    response = client.post(f"/episodes/{episode.id}/events/new", data={
        "kind": "transfer", "occurred_on": "2026-11-20",
        "other_facility_id": str(org(db, "C11-T1").id)})
    assert response.status_code == 302 and count(db, CustodyEvent) == events + 1


def test_clerk_cannot_write_to_an_episode_of_another_facility(client, auth, db):
    other = person_at(db, "TTG-HOCHIMINH").episodes[0]
    auth.login("clerk.hanoi")
    response = client.post(f"/episodes/{other.id}/events/new", data={
        "kind": "visit", "occurred_on": "2026-11-20", "other_facility_id": "0"})
    assert response.status_code == 404


def test_case_stage_history_is_dated_and_needs_the_right_handling_body(client, auth, db):
    auth.login("clerk.hanoi")
    response = client.post("/cases/new", data={
        "number": "77/2026/HS", "title": "Vụ án trộm cắp", "charges": "Điều 173 BLHS",
        "opened_on": "2026-10-01", "stage": "investigation",
        "handling_org_id": str(org(db, "CSDT-HANOI").id)})
    assert response.status_code == 302
    case = db.execute(select(Case).where(Case.number == "77/2026/HS")).scalar_one()
    wrong = client.post(f"/cases/{case.id}", data={
        "stage": "trial", "handling_org_id": str(org(db, "VKS-HANOI").id),
        "from_date": "2026-11-10"})
    assert wrong.status_code == 422
    right = client.post(f"/cases/{case.id}", data={
        "stage": "prosecution", "handling_org_id": str(org(db, "VKS-HANOI").id),
        "from_date": "2026-11-10"})
    assert right.status_code == 302
    stages = db.execute(select(CaseStageEntry).where(CaseStageEntry.case_id == case.id)
                        .order_by(CaseStageEntry.from_date)).scalars().all()
    assert [(s.stage.value, s.handling_org.code) for s in stages] == [
        ("investigation", "CSDT-HANOI"), ("prosecution", "VKS-HANOI")]
    db.expire_all()
    assert db.get(Case, case.id).stage_on(dt.date(2026, 10, 15)).stage.value == "investigation"


def test_classified_documents_are_withheld_below_clearance(client, auth, db):
    from workflow.enums import Secrecy
    from workflow.models import RecordDocument

    doc = db.execute(select(RecordDocument).join(CustodyEpisode).where(
        RecordDocument.secrecy == Secrecy.CONFIDENTIAL,
        CustodyEpisode.facility_id == org(db, "NTG-HANOI-1").id)).scalars().first()
    if doc is None:
        pytest.skip("no confidential document at that custody house in this demo set")
    auth.login("clerk.ntg")
    page = client.get(f"/persons/{doc.person_id}").data.decode()
    assert "tài liệu mật không được hiển thị" in page
    auth.logout()
    auth.login("approver.hanoi")
    assert "tài liệu mật không được hiển thị" not in client.get(
        f"/persons/{doc.person_id}").data.decode()
