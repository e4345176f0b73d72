"""Entering and correcting records through the forms: validation, versions, history."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from tests.helpers import count, last_audit, org, person_at, versions_of
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
    ("facility_id", "999999", "Hãy chọn một mục trong danh sách"),
    ("case_number", "KHONG-CO/2026", "không quản lý vụ án nào có số KHONG-CO/2026"),
    ("sex", "robot", "Hãy chọn một mục trong danh sách"),
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
    auth.purpose(person.id)
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
    auth.purpose(person.id)
    form = {"full_name": "Tên Mới", "birth_date": person.birth_date.isoformat(),
            "sex": person.sex.value, "nationality": person.nationality, "version": "1",
            "reason": "Đính chính lần một"}
    assert client.post(f"/persons/{person.id}/correct", data=form).status_code == 302
    form |= {"full_name": "Tên Khác", "reason": "Đính chính dựa trên bản cũ"}
    response = client.post(f"/persons/{person.id}/correct", data=form)
    assert response.status_code == 422
    page = response.data.decode()
    assert "người khác đính chính" in page
    db.expire_all()
    assert db.get(Person, person.id).full_name == "Tên Mới"
    # Not a dead end: the record as it is now beside what was typed, the typed text kept...
    assert "Tên Mới" in page and 'value="Tên Khác"' in page and "Đính chính dựa trên bản cũ" in page
    assert re.search(r'<input[^>]*name="version"[^>]*value="2"', page)
    # ...and sending it again corrects the new version, knowingly.
    again = client.post(f"/persons/{person.id}/correct", data=form | {"version": "2"})
    assert again.status_code == 302
    db.expire_all()
    assert db.get(Person, person.id).full_name == "Tên Khác"


def test_a_correction_without_reason_or_change_is_refused(client, auth, db):
    person = person_at(db, "TTG-HANOI")
    auth.login("clerk.hanoi")
    auth.purpose(person.id)
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
    auth.purpose(episode.person_id)
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
    auth.purpose(episode.person_id)
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
    auth.purpose(doc.person_id)
    page = client.get(f"/persons/{doc.person_id}").data.decode()
    assert "tài liệu mật không được hiển thị" in page
    auth.logout()
    auth.login("approver.hanoi")
    auth.purpose(doc.person_id)
    assert "tài liệu mật không được hiển thị" not in client.get(
        f"/persons/{doc.person_id}").data.decode()


# --- a case kept by another province (issue 12, finding 3) ------------------------------------

HANOI_CASE = "88/2026/HS"


def hanoi_case(client, auth, db) -> Case:
    """A case of Hà Nội under investigation by CSĐT Hà Nội, a person held under it at the Hà Nội
    camp, both entered by clerk.hanoi through the forms; then clerk.hcm signs in."""
    auth.login("clerk.hanoi")
    assert client.post("/cases/new", data={
        "number": HANOI_CASE, "title": "Vụ án cướp tài sản", "charges": "Điều 168 BLHS",
        "opened_on": "2026-10-01", "stage": "investigation",
        "handling_org_id": str(org(db, "CSDT-HANOI").id)}).status_code == 302
    assert client.post("/persons/new", data=new_person_form(
        db, case_number=HANOI_CASE)).status_code == 302
    auth.logout()
    auth.login("clerk.hcm")
    return db.execute(select(Case).where(Case.number == HANOI_CASE)).scalar_one()


def hcm_person_form(db, **overrides) -> dict:
    return new_person_form(db, full_name="Lê Văn Tư", id_value="079090765432",
                           facility_id=org(db, "TTG-HOCHIMINH").id, **overrides)


def stages_of(db, case: Case) -> list[tuple[str, dt.date]]:
    return [(s.stage.value, s.from_date) for s in db.execute(
        select(CaseStageEntry).where(CaseStageEntry.case_id == case.id)
        .order_by(CaseStageEntry.id)).scalars()]


def facilities_under(db, case: Case) -> set[str]:
    return {e.facility.code for e in db.execute(select(CustodyEpisode).where(
        CustodyEpisode.case_id == case.id)).scalars()}


def test_a_clerk_cannot_link_another_provinces_case_to_an_episode_of_their_own(client, auth,
                                                                                db):
    case = hanoi_case(client, auth, db)
    hcm = person_at(db, "TTG-HOCHIMINH")
    auth.purpose(hcm.id)
    before = (count(db, Person), count(db, CustodyEpisode), count(db, RecordVersion))
    new = client.post("/persons/new", data=hcm_person_form(db, case_number=HANOI_CASE))
    assert new.status_code == 422
    more = client.post(f"/persons/{hcm.id}/episodes/new", data={
        "facility_id": org(db, "TTG-HOCHIMINH").id, "measure": "detention",
        "start_date": "2026-11-02", "legal_basis": "Lệnh tạm giam số 13/LTG",
        "case_number": HANOI_CASE})
    assert more.status_code == 422
    assert (count(db, Person), count(db, CustodyEpisode), count(db, RecordVersion)) == before
    assert facilities_under(db, case) == {"TTG-HANOI"}
    assert client.get(f"/cases/{case.id}").status_code == 404


def test_a_case_number_outside_scope_answers_as_one_that_does_not_exist(client, auth, db):
    hanoi_case(client, auth, db)

    def answer(number: str):
        response = client.post("/persons/new", data=hcm_person_form(db, case_number=number))
        entry = last_audit(db)
        # The form's CSRF token carries the second it was made in: not part of the answer.
        page = re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token"',
                      response.data.decode().replace(number, "<number>"))
        return (response.status_code, page,
                (entry.action, entry.outcome, entry.object_type, entry.object_id,
                 entry.details))

    kept_elsewhere, unknown = answer(HANOI_CASE), answer("99/2026/KHONG-CO")
    assert kept_elsewhere[0] == 422
    assert kept_elsewhere == unknown


def test_only_a_keeper_changes_a_case_even_when_another_province_holds_a_person_under_it(
        app, client, auth, db):
    from workflow.context import Actor
    from workflow.errors import Forbidden
    from workflow.models import User
    from workflow.records import corrections
    from workflow.records.enums import Measure

    case = hanoi_case(client, auth, db)
    # The link made some other way (a transfer entered by the central centre, a package).
    hcm = person_at(db, "TTG-HOCHIMINH")
    linked = CustodyEpisode(person_id=hcm.id, facility_id=org(db, "TTG-HOCHIMINH").id,
                            measure=Measure.DETENTION, start_date=dt.date(2026, 11, 3),
                            legal_basis="Lệnh tạm giam số 14/LTG", case_id=case.id)
    db.add(linked)
    db.flush()
    page = client.get(f"/cases/{case.id}")
    assert page.status_code == 200 and "Ghi nhận giai đoạn" not in page.data.decode()
    closed = {"stage": "closed", "handling_org_id": "0", "from_date": "2026-11-20"}
    refused = client.post(f"/cases/{case.id}", data=closed)
    assert refused.status_code == 403
    assert stages_of(db, case) == [("investigation", dt.date(2026, 10, 1))]
    entry = last_audit(db)
    assert entry.action == "access.refused" and entry.object_id == "records.case"
    with app.extensions["custody_sessions"]() as session:
        clerk = session.execute(select(User).where(User.username == "clerk.hcm")).scalar_one()
        with pytest.raises(Forbidden):
            corrections.correct(session, Actor(clerk), "episode", linked.id, {"case_id": None},
                            reason="Gỡ vụ án khỏi đợt giam", expected_version=1)
        session.rollback()
    db.expire_all()
    assert db.get(CustodyEpisode, linked.id).case_id == case.id
    auth.logout()
    auth.login("clerk.hanoi")
    assert "Ghi nhận giai đoạn" in client.get(f"/cases/{case.id}").data.decode()
    assert client.post(f"/cases/{case.id}", data=closed).status_code == 302


def test_the_other_provinces_person_still_needs_the_investigation_bodys_consent(client, auth,
                                                                               db):
    from workflow.context import vietnam_day
    from workflow.db import utcnow
    from workflow.requests.enums import StepKind, Urgency
    from workflow.requests.kernel import Workflow
    from workflow.requests.routing import plan_route

    case = hanoi_case(client, auth, db)
    held = db.execute(select(CustodyEpisode).where(CustodyEpisode.case_id == case.id)
                      ).scalar_one().person_id
    client.post("/persons/new", data=hcm_person_form(db, case_number=HANOI_CASE))
    client.post(f"/cases/{case.id}", data={"stage": "closed", "handling_org_id": "0",
                                           "from_date": "2026-11-20"})
    db.expire_all()
    flow, day = Workflow(), vietnam_day(utcnow())
    route = plan_route(db, flow.rules.on(day), flow.calendar,
                       requester_org=org(db, "CA-HOCHIMINH"), person=db.get(Person, held),
                       categories=["episodes"], period_from=None, period_to=None,
                       urgency=Urgency.NORMAL, day=day)
    assert (StepKind.CONSENT, org(db, "CSDT-HANOI").id, case.id) in [
        (s.kind, s.org_id, s.case_id) for s in route.steps]


def test_the_import_command_answers_a_case_kept_elsewhere_as_an_unknown_one(client, auth, db,
                                                                              runner, tmp_path):
    case = hanoi_case(client, auth, db)
    path = tmp_path / "tep.csv"

    def answer(number: str):
        path.write_text("full_name,birth_date,sex,nationality,identity_kind,identity_number,"
                        "measure,start_date,legal_basis,case_number\n"
                        "Lê Văn Tư,1990-01-01,male,Việt Nam,cccd,079090765432,detention,"
                        f"2026-11-01,LTG 1/2026,{number}\n", encoding="utf-8")
        done = runner.invoke(args=["import-records", str(path), "--facility", "TTG-HOCHIMINH",
                                   "--as", "clerk.hcm"])
        return done.exit_code, done.output.replace(number, "<number>")

    kept_elsewhere = answer(HANOI_CASE)
    assert kept_elsewhere[0] == 1
    assert kept_elsewhere == answer("99/2026/KHONG-CO")
    assert facilities_under(db, case) == {"TTG-HANOI"}
