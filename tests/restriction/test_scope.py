"""Scope of residence restriction: a commune police reads its own persons under the measure, the
province those of its communes; one commune never reads another's (page, search and gate)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from tests.helpers import person_at
from workflow.models import Person, RestrictionEpisode, User
from workflow.records.policy import can_read_person
from workflow.restriction.enums import RestrictionState

DAY = dt.date(2026, 11, 24)


def _restricted(db) -> Person:
    """The demo's person under the measure at Ba Đình (not being handed over)."""
    return db.scalars(select(Person).join(RestrictionEpisode).where(
        RestrictionEpisode.state == RestrictionState.ACTIVE).order_by(Person.id)).first()


def _opens(client, auth, username: str, person: Person) -> int:
    auth.login(username)
    auth.purpose(person.id)
    status = client.get(f"/persons/{person.id}").status_code
    auth.logout()
    return status


def _finds(client, auth, username: str, person: Person) -> bool:
    auth.login(username)
    page = client.post("/search", data={"q": person.full_name}, follow_redirects=True).data
    auth.logout()
    return f"/persons/{person.id}".encode() in page


@pytest.mark.parametrize(("username", "reads"), [
    ("clerk.commune", True),       # the commune managing the person
    ("approver.hanoi", True),      # the province above it
    ("clerk.hoankiem", False),     # another commune of the same province
    ("clerk.hanoi", False),        # the province's camp
    ("clerk.hcm", False),          # another province
])
def test_who_reads_a_person_under_restriction(client, auth, db, username, reads):
    person = _restricted(db)
    assert _opens(client, auth, username, person) == (200 if reads else 404)
    user = db.scalars(select(User).where(User.username == username)).one()
    assert can_read_person(db, user, person, DAY) is reads


def test_a_commune_finds_its_own_person_and_not_another_communes(client, auth, db):
    person = _restricted(db)
    assert _finds(client, auth, "clerk.commune", person)
    assert not _finds(client, auth, "clerk.hoankiem", person)


def test_a_commune_reads_no_detained_person_of_its_province(client, auth, db):
    held = person_at(db, "TTG-HANOI")
    assert _opens(client, auth, "clerk.commune", held) == 404
    assert not _finds(client, auth, "clerk.commune", held)


def test_the_receiving_commune_reads_the_person_only_once_handed_over(db):
    moving = db.scalars(select(RestrictionEpisode).where(
        RestrictionEpisode.state == RestrictionState.HANDING_OVER)).one()
    receiving = db.scalars(select(User).where(User.username == "clerk.hoankiem")).one()
    assert moving.handover_to_id == receiving.organisation_id
    assert not can_read_person(db, receiving, moving.person, DAY)


def test_the_commune_reads_the_measure_and_its_events_in_vietnamese(client, auth, db):
    person = _restricted(db)
    auth.login("clerk.commune")
    auth.purpose(person.id)
    page = client.get(f"/persons/{person.id}").data.decode()
    assert "Cấm đi khỏi nơi cư trú" in page and "Công an phường Ba Đình" in page
    assert "Trình diện tại công an cấp xã" in page and "Nhận xét, đánh giá hằng tháng" in page
    assert "31/QĐ-CSĐT" in page and "Đang chấp hành biện pháp" in page
