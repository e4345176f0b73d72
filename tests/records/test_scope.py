"""Management scope: a body sees its subtree of facilities, nothing else (Decree Art. 12 §3a)."""

from __future__ import annotations

import datetime as dt

from tests.helpers import org, person_at
from workflow.organisations.scope import management_scope


def test_custody_house_clerk_cannot_open_a_person_of_another_province(client, auth, db):
    stranger = person_at(db, "TTG-HOCHIMINH")
    auth.login("clerk.ntg")
    response = client.get(f"/persons/{stranger.id}")
    assert response.status_code == 404
    assert stranger.full_name.encode() not in response.data


def test_custody_house_clerk_search_finds_nobody_of_another_province(client, auth, db):
    stranger = person_at(db, "TTG-HOCHIMINH")
    number = stranger.identifiers[-1].value
    auth.login("clerk.ntg")
    response = client.post("/search", data={"q": number}, follow_redirects=True)
    assert response.status_code == 200
    assert f"/persons/{stranger.id}".encode() not in response.data


def test_provincial_body_sees_its_camp_and_custody_houses(client, auth, db):
    auth.login("approver.hanoi")
    for code in ("TTG-HANOI", "NTG-HANOI-1"):
        person = person_at(db, code)
        auth.purpose(person.id)
        response = client.get(f"/persons/{person.id}")
        assert response.status_code == 200, code
        assert person.full_name.encode() in response.data
    assert client.get(f"/persons/{person_at(db, 'TTG-HOCHIMINH').id}").status_code == 404


def test_custody_house_passed_from_district_to_province_in_2025(db):
    province, district, house = org(db, "CA-HANOI"), org(db, "CAH-HANOI-1"), org(db, "NTG-HANOI-1")
    before, after = dt.date(2024, 6, 1), dt.date(2025, 6, 1)
    assert house.id in management_scope(db, district, before).facility_ids
    assert house.id not in management_scope(db, district, after).facility_ids
    assert house.id in management_scope(db, province, before).facility_ids
    assert house.id in management_scope(db, province, after).facility_ids


def test_central_centre_is_nationwide_and_outside_bodies_manage_nothing(db):
    today = dt.date(2026, 11, 24)
    assert management_scope(db, org(db, "TTCSDL"), today).nationwide
    assert management_scope(db, org(db, "VKS-HANOI"), today).empty
    army = management_scope(db, org(db, "QP-QL"), today)
    assert org(db, "QK1-TTG").id in army.facility_ids
    assert org(db, "TTG-HANOI").id not in army.facility_ids


def test_episode_outside_scope_is_hidden_and_counted(client, auth, db):
    from sqlalchemy import select

    from workflow.models import CustodyEpisode, Person

    hanoi = org(db, "TTG-HANOI").id
    moved = None
    for person in db.execute(select(Person).join(CustodyEpisode)
                             .where(CustodyEpisode.facility_id == hanoi)).scalars():
        if len({e.facility_id for e in person.episodes}) > 1:
            moved = person
            break
    assert moved is not None, "the demo data holds persons held at two facilities"
    other = next(e for e in moved.episodes if e.facility_id != hanoi)
    auth.login("clerk.hanoi")
    auth.purpose(moved.id)
    page = client.get(f"/persons/{moved.id}").data.decode()
    assert other.facility.name not in page or other.facility_id == hanoi
    assert "ngoài phạm vi quản lý" in page


def test_a_facility_placed_under_a_body_is_in_its_scope_at_once(db):
    from workflow.models import Organisation, OrganisationLink
    from workflow.organisations.enums import Branch, OrgKind, OrgLevel

    # Scopes are remembered within a transaction; a change to the tree must not be missed.
    today = dt.date(2026, 11, 24)
    province = org(db, "CA-HANOI")
    before = management_scope(db, province, today).facility_ids
    house = Organisation(code="NTG-HANOI-NEW", name="Nhà tạm giữ mới", kind=OrgKind.CUSTODY_HOUSE,
                         branch=Branch.POLICE, level=OrgLevel.DISTRICT, province="Hà Nội",
                         valid_from=dt.date(2020, 1, 1))
    db.add(house)
    db.flush()
    link = OrganisationLink(organisation_id=house.id, parent_id=province.id,
                            valid_from=dt.date(2020, 1, 1))
    db.add(link)
    assert management_scope(db, province, today).facility_ids == before | {house.id}
    link.valid_to = dt.date(2026, 1, 1)
    assert management_scope(db, province, today).facility_ids == before
    db.delete(link)
    db.flush()
    assert management_scope(db, province, today).facility_ids == before


def test_a_long_lived_session_sees_a_link_another_committed_after_its_transaction(app, db):
    from workflow.models import Organisation, OrganisationLink
    from workflow.organisations.enums import Branch, OrgKind, OrgLevel

    # The remembered scopes last one transaction (a command such as `sweep` keeps its session).
    today = dt.date(2026, 11, 24)
    with app.extensions["custody_sessions"]() as session:
        province = session.get(Organisation, org(db, "CA-HANOI").id)
        before = management_scope(session, province, today).facility_ids
        session.commit()
        house = Organisation(code="NTG-HANOI-LATER", name="Nhà tạm giữ sau", branch=Branch.POLICE,
                             kind=OrgKind.CUSTODY_HOUSE, level=OrgLevel.DISTRICT,
                             province="Hà Nội", valid_from=dt.date(2020, 1, 1))
        db.add(house)
        db.flush()
        db.add(OrganisationLink(organisation_id=house.id, parent_id=province.id,
                                valid_from=dt.date(2020, 1, 1)))
        db.flush()
        assert management_scope(session, province, today).facility_ids == before | {house.id}
