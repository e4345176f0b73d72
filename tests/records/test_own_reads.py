"""Who read my record (issue 16): the detained person sees the bodies that read or received their
data, by day, never the officers; reads made while their case is under investigation are withheld
with that ground until the body handling the case discloses them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import Auth
from tests.helpers import kiosk_person, org
from tests.worlds import World
from workflow.audit import tracker
from workflow.errors import Forbidden, NotFound
from workflow.models import AuditEntry, Case, Person, ReadDisclosure
from workflow.records import cases, corrections
from workflow.records.enums import CaseStage
from workflow.records.persons import view_person
from workflow.records.reading import ReadPurpose
from workflow.requests.rules import DEFAULT_RULESETS

WITHHELD = DEFAULT_RULESETS[-1].tracker_withheld_stages


@pytest.fixture(autouse=True)
def _names(db):
    global CAMP, POLICE
    CAMP, POLICE = org(db, "TTG-HANOI").name, org(db, "CA-HANOI").name


def _under_case(world: World, db, stage: CaseStage) -> Case:
    """The demo detainee's current episode put under a case at `stage`."""
    person = db.get(Person, kiosk_person(db))
    clerk = world.actor("clerk.hanoi")
    handler = {CaseStage.INVESTIGATION: "CSDT-HANOI", CaseStage.TRIAL: "TA-HANOI"}.get(stage)
    case = world.act(cases.create_case, clerk, number=f"R/{person.id}/{stage.value}",
                     title="Vụ án thử", charges="Điều 173 BLHS",
                     opened_on=person.episodes[-1].start_date, stage=stage,
                     handling_org_id=org(db, handler).id if handler else None)
    episode = world.session.get(Person, person.id).episodes[-1]
    world.act(corrections.correct, clerk, "episode", episode.id, {"case_id": case.id},
              reason="Gắn vụ án", expected_version=episode.version)
    return case


def _read(world: World, db, username: str) -> None:
    world.act(view_person, world.actor(username), kiosk_person(db), ReadPurpose("keeping"))


def _seen(world: World) -> tracker.OwnReads:
    return world.act(tracker.own_reads, world.actor("detainee.demo"), WITHHELD)


def _bodies(found: tracker.OwnReads, what: str = "Read your record") -> set[str]:
    return {r.body for r in found.reads if r.what == what}


def test_the_person_sees_the_bodies_that_read_their_record_never_the_officers(world, db):
    _under_case(world, db, CaseStage.TRIAL)
    for username in ("clerk.hanoi", "approver.hanoi", "approver.hanoi"):
        _read(world, db, username)
    before = len(_seen(world).reads)
    world.act(view_person, world.actor("detainee.demo"), kiosk_person(db))  # their own reading
    found = _seen(world)
    assert {CAMP, POLICE} <= _bodies(found) and found.withheld == []
    police = next(r for r in found.reads if r.body == POLICE and r.what == "Read your record")
    assert police.times >= 2
    assert len(found.reads) == before  # one's own reads are not listed
    shown = repr(found)
    assert "Lê Thu Hà" not in shown and "Đỗ Quang Huy" not in shown and "approver" not in shown
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "record.own_reads")
                       .order_by(AuditEntry.seq.desc())).first()
    assert entry.person_id == kiosk_person(db)


def test_reads_during_an_investigation_are_withheld_until_the_handling_body_discloses(world, db):
    case = _under_case(world, db, CaseStage.INVESTIGATION)
    _read(world, db, "approver.hanoi")
    _read(world, db, "clerk.hanoi")
    found = _seen(world)
    assert POLICE not in _bodies(found)  # withheld: the investigation's reads
    assert CAMP in _bodies(found)  # the keeping facility's daily work is never withheld
    [withheld] = found.withheld
    assert (withheld.case_number, withheld.stage) == (case.number, CaseStage.INVESTIGATION)
    assert withheld.body == org(db, "CSDT-HANOI").name
    # Only the handling body's consent officer discloses; others are told no such case.
    for username in ("approver.hanoi", "clerk.hanoi", "requester.vks"):
        with pytest.raises(NotFound):
            world.act(tracker.disclose_reads, world.actor(username), case.id)
    with pytest.raises(Forbidden):
        world.act(tracker.handled_cases, world.actor("approver.hanoi"), WITHHELD)
    listed = world.act(tracker.handled_cases, world.actor("consent.hanoi"), WITHHELD)
    assert case.id in [c.id for c, _last in listed]
    world.act(tracker.disclose_reads, world.actor("consent.hanoi"), case.id)
    assert POLICE in _bodies(_seen(world))
    # A later read is withheld again: the disclosure reached until when it was made.
    police_reads = sum(r.times for r in _seen(world).reads if r.body == POLICE)
    _read(world, db, "approver.hanoi")
    assert sum(r.times for r in _seen(world).reads if r.body == POLICE) == police_reads
    # Once the case moves on, nothing is withheld.
    world.act(cases.change_case_stage, world.actor("clerk.hanoi"), case.id,
              stage=CaseStage.TRIAL, handling_org_id=org(db, "TA-HANOI").id,
              from_date=world.actor("clerk.hanoi").today, note=None)
    found = _seen(world)
    assert found.withheld == [] and sum(
        r.times for r in found.reads if r.body == POLICE) == police_reads + 1


def test_only_a_detained_persons_own_account_reads_its_tracker(world, db):
    for username in ("clerk.hanoi", "requester.vks", "inspector", "consent.hanoi"):
        with pytest.raises(Forbidden):
            world.act(tracker.own_reads, world.actor(username), WITHHELD)


def test_a_disclosure_is_never_changed_or_removed(world, db):
    case = _under_case(world, db, CaseStage.INVESTIGATION)
    disclosure = world.act(tracker.disclose_reads, world.actor("consent.hanoi"), case.id)
    with pytest.raises(Exception, match="append-only"):
        db.execute(ReadDisclosure.__table__.delete().where(
            ReadDisclosure.id == disclosure.id))


def test_the_kiosk_page_lists_bodies_by_day_and_says_what_is_withheld(app, db, client):
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        case = _under_case(world, db, CaseStage.INVESTIGATION)
        _read(world, db, "approver.hanoi")
        _read(world, db, "clerk.hanoi")
    assert Auth(client).login("detainee.demo").status_code == 302
    home = client.get("/kiosk/me").get_data(as_text=True)
    assert "/kiosk/reads" in home
    page = client.get("/kiosk/reads").get_data(as_text=True)
    assert "Ai đã xem hồ sơ của tôi" in page and f"<strong>{CAMP}</strong>" in page
    assert f"<strong>{POLICE}</strong>" not in page
    assert case.number in page and org(db, "CSDT-HANOI").name in page
    assert "Lê Thu Hà" not in page and "clerk.hanoi" not in page


def test_the_handling_body_checks_then_discloses_on_its_page(app, db, client, auth):
    with app.extensions["custody_sessions"]() as session:
        case = _under_case(World(session), db, CaseStage.INVESTIGATION)
    auth.login("consent.hanoi")
    listing = client.get("/handled-cases").get_data(as_text=True)
    assert case.number in listing and "Chưa cho đương sự biết lượt xem nào" in listing
    url = f"/handled-cases/{case.id}/disclose-reads"
    check = client.get(url).get_data(as_text=True)
    assert "Kiểm tra trước khi quyết định" in check and "không thể hoàn tác" in check
    assert db.scalars(select(ReadDisclosure)).all() == []
    done = client.post(url)
    assert done.status_code == 302 and done.location.endswith("/handled-cases")
    assert [d.case_id for d in db.scalars(select(ReadDisclosure))] == [case.id]
    auth.logout()
    auth.login("approver.hanoi")
    assert client.get("/handled-cases").status_code == 403
    assert client.post(url).status_code == 403
    assert len(db.scalars(select(ReadDisclosure)).all()) == 1
