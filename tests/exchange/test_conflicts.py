"""The conflict queue: a record of the Army's that the centre could not apply as sent waits for a
records officer of the centre, who keeps ours, takes theirs or merges field by field (a new
version with its reason, audited; the Army's next version applies again), or asks the Army for
it again (a signed request its next package answers); a later version that conflicts too
replaces the open entry instead of adding one."""

from __future__ import annotations

import json
import threading

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from tests.exchange.test_exchange import (
    ARMY,
    Side,
    _army_clerk,
    _camp_person,
    _resigned,
    apply,
    export,
    linked,
    local_versions,
)
from workflow.audit.checkpoints import public_pem
from workflow.context import SYSTEM, Actor
from workflow.db import make_session_factory
from workflow.enums import Role
from workflow.errors import Conflict, Forbidden, InvalidInput, NotFound
from workflow.exchange import conflicts, outgoing, trust, wire
from workflow.models import (
    AuditEntry,
    CustodyEpisode,
    ExchangeAsk,
    ExchangeConflict,
    Organisation,
    Person,
)
from workflow.records import corrections
from workflow.security.accounts import create_user


def _officer(centre: Side, code: str = "TTCSDL", name: str = "clerk.centre") -> Actor:
    user = create_user(centre.session, SYSTEM, username=name, full_name="Cán bộ hồ sơ",
                       organisation_id=centre.session.scalar(select(Organisation.id).where(
                           Organisation.code == code)), roles={Role.CLERK},
                       password="một câu đủ dài")
    centre.session.commit()
    return Actor(user)


def _clerk(army: Side) -> Actor:
    """The Army camp's clerk (made once per test)."""
    if not hasattr(army, "clerk"):
        army.clerk = _army_clerk(army)
    return army.clerk


def _both_changed(army: Side, centre: Side, officer: Actor) -> tuple[Person, Person]:
    """The person changed at the centre (nationality) and by the Army (place of origin)."""
    apply(centre, export(army))
    here = _camp_person(centre)
    corrections.correct(centre.session, officer, "person", here.id, {"nationality": "Lào"},
                        reason="Sửa tại trung tâm", expected_version=here.version)
    centre.session.commit()
    there = _camp_person(army)
    corrections.correct(army.session, _clerk(army), "person", there.id,
                        {"place_of_origin": "Hà Giang (sửa)"}, reason="Sửa quê quán",
                        expected_version=there.version)
    army.session.commit()
    assert len(apply(centre, export(army)).conflicts) == 1
    return here, there


def _army_changes_again(army: Side, there: Person, **changes) -> None:
    army.session.refresh(there)
    corrections.correct(army.session, _clerk(army), "person", there.id, changes,
                        reason="Sửa lần nữa", expected_version=there.version)
    army.session.commit()


def test_a_conflict_waits_in_the_queue_once_however_many_versions_conflict(sides):
    army, centre = sides
    officer = _officer(centre)
    here, there = _both_changed(army, centre, officer)
    _army_changes_again(army, there, full_name=there.full_name + " Hai")
    report = apply(centre, export(army))
    assert [c["version"] for c in report.conflicts] == [3]
    queue = conflicts.list_conflicts(centre.session, officer)
    assert [(c.record_type, c.source_id, c.source_version, c.local_id, c.status)
            for c in queue] == [("person", there.id, 3, here.id, "open")]
    rows = {r.name: r for r in conflicts.comparison(centre.session, queue[0])}
    assert rows["nationality"].differs and rows["place_of_origin"].differs
    assert rows["full_name"].theirs == there.full_name and not rows["sex"].differs


def test_keep_ours_settles_it_and_the_senders_next_version_applies(sides):
    army, centre = sides
    officer = _officer(centre)
    here, there = _both_changed(army, centre, officer)
    conflict = conflicts.list_conflicts(centre.session, officer)[0]
    conflicts.decide(centre.session, officer, conflict.id, keep="ours",
                     reason="Quốc tịch đã xác minh tại trung tâm")
    centre.session.commit()
    centre.session.expire_all()
    assert (here.nationality, conflict.status) == ("Lào", "ours")
    assert conflicts.list_conflicts(centre.session, officer) == []
    with pytest.raises(Conflict):
        conflicts.decide(centre.session, officer, conflict.id, keep="theirs", reason="Đổi ý")
    centre.session.rollback()
    _army_changes_again(army, there, place_of_origin="Cao Bằng")
    report = apply(centre, export(army))
    assert (report.updated, report.conflicts) == (1, [])
    centre.session.expire_all()
    # What the officer kept stays, since the Army has not changed it since; what it changed
    # lands.
    assert (here.nationality, here.place_of_origin) == ("Lào", "Cao Bằng")
    entry = centre.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "exchange.conflict")).one()
    assert (entry.person_id, json.loads(entry.details)["decision"]) == (here.id, "ours")


def test_take_theirs_writes_the_senders_record_as_a_new_version(sides):
    army, centre = sides
    officer = _officer(centre)
    here, there = _both_changed(army, centre, officer)
    version = here.version
    conflict = conflicts.list_conflicts(centre.session, officer)[0]
    conflicts.decide(centre.session, officer, conflict.id, keep="theirs",
                     reason="Bên gửi là nơi quản lý hồ sơ")
    centre.session.commit()
    centre.session.expire_all()
    assert (here.nationality, here.place_of_origin) == (there.nationality, "Hà Giang (sửa)")
    assert here.version == version + 1
    assert sorted(conflict.taken) == ["nationality", "place_of_origin"]
    assert local_versions(centre, here)[-1].reason == (
        f"exchange conflict {conflict.id} ({ARMY} v2): Bên gửi là nơi quản lý hồ sơ")


def test_merge_takes_only_the_chosen_fields(sides):
    army, centre = sides
    officer = _officer(centre)
    here, _there = _both_changed(army, centre, officer)
    conflict = conflicts.list_conflicts(centre.session, officer)[0]
    with pytest.raises(InvalidInput):
        conflicts.decide(centre.session, officer, conflict.id, keep="merge", fields=["sex"],
                         reason="Không có trường nào")
    centre.session.rollback()
    conflicts.decide(centre.session, officer, conflict.id, keep="merge",
                     fields=["place_of_origin"], reason="Quê quán theo bên gửi")
    centre.session.commit()
    centre.session.expire_all()
    assert (here.nationality, here.place_of_origin) == ("Lào", "Hà Giang (sửa)")
    assert (conflict.status, conflict.taken) == ("merged", ["place_of_origin"])


def test_only_a_records_officer_whose_scope_holds_the_sender_sees_or_decides(sides):
    army, centre = sides
    officer = _officer(centre)
    _both_changed(army, centre, officer)
    conflict = conflicts.list_conflicts(centre.session, officer)[0]
    hanoi = _officer(centre, "CA-HANOI", "clerk.hanoi")
    with pytest.raises(Forbidden):  # the exchange account moves packages, it decides nothing
        conflicts.list_conflicts(centre.session, Actor(centre.receiver))
    assert conflicts.list_conflicts(centre.session, hanoi) == []
    for outsider in (Actor(centre.receiver), hanoi):
        assert conflicts.open_count(centre.session, outsider.user, outsider.today) == 0
        with pytest.raises(NotFound):
            conflicts.decide(centre.session, outsider, conflict.id, keep="ours",
                             reason="Không được phép")
        centre.session.rollback()
    centre.session.expire_all()
    assert conflict.status == "open"
    assert conflicts.open_count(centre.session, officer.user, officer.today) == 1


def _without_one_person(army: Side, package: dict) -> tuple[dict, int]:
    """The package as if the Army had left out one person (their other records kept)."""
    person = next(r for r in package["records"] if r["type"] == "person")
    records = [r for r in package["records"] if r is not person]
    return _resigned(army, package, records=records), person["id"]


def test_asking_again_brings_the_missing_record_and_the_queue_empties(sides):
    army, centre = sides
    officer = _officer(centre)
    package, missing = _without_one_person(army, export(army))
    report = apply(centre, package)
    assert report.conflicts and all("never received" in c["problem"] for c in report.conflicts)
    queue = conflicts.list_conflicts(centre.session, officer)
    assert ("person", missing) in {(c.needs_type, c.needs_id) for c in queue}
    with pytest.raises(Forbidden):  # the records officer marks; the exchange account asks
        conflicts.ask_document(centre.session, officer, ARMY, centre.key)
    for conflict in queue:
        conflicts.ask_again(centre.session, officer, conflict.id, reason="Thiếu hồ sơ người")
    centre.session.commit()
    request = conflicts.ask_document(centre.session, Actor(centre.receiver), ARMY, centre.key)
    centre.session.commit()
    assert {"type": "person", "id": missing} in request["records"]

    trust.register_partner(army.session, SYSTEM, "TTCSDL", public_pem(centre.key))
    army.session.commit()
    assert outgoing.record_ask(army.session, Actor(army.sender), request) == len(
        request["records"])
    assert outgoing.record_ask(army.session, Actor(army.sender), request) == 0  # kept once
    army.session.commit()
    forged = dict(request, records=request["records"] + [{"type": "person", "id": 1}])
    with pytest.raises(InvalidInput, match="signature"):
        outgoing.record_ask(army.session, Actor(army.sender), forged)
    army.session.rollback()

    again = export(army)
    assert {("person", missing)} <= {(r["type"], r["id"]) for r in again["records"]}
    report = apply(centre, again)
    assert report.conflicts == []
    centre.session.expire_all()
    assert conflicts.list_conflicts(centre.session, officer) == []
    assert {c.status for c in centre.session.scalars(select(ExchangeConflict))} == {"applied"}
    assert linked(centre, missing) is not None
    assert centre.projection() == army.projection()
    assert export(army)["records"] == []  # answered once


def test_take_theirs_applies_a_skipped_record_once_what_it_needs_arrived(sides):
    army, centre = sides
    officer = _officer(centre)
    package, missing = _without_one_person(army, export(army))
    apply(centre, package)
    event = next(c for c in conflicts.list_conflicts(centre.session, officer)
                 if c.record_type == "event" and c.needs_type == "episode")
    with pytest.raises(Conflict, match="never received"):
        conflicts.decide(centre.session, officer, event.id, keep="theirs",
                         reason="Thử áp dụng lại")
    centre.session.rollback()
    centre.session.expire_all()
    assert event.status == "open"
    # The centre asks for the person alone: the Army sends them with their episodes.
    trust.register_partner(army.session, SYSTEM, "TTCSDL", public_pem(centre.key))
    asked = wire.sign({"format": wire.ASK_FORMAT, "receiver": "TTCSDL", "source": ARMY,
                       "records": [{"type": "person", "id": missing}],
                       "signed_at": "2026-11-25T08:00:00+00:00"}, centre.key)
    assert outgoing.record_ask(army.session, Actor(army.sender), asked) == 1
    army.session.commit()
    second = export(army)
    assert {r["type"] for r in second["records"]} == {"person", "episode"}
    apply(centre, second)
    centre.session.expire_all()
    assert event.status == "open"  # an event is not sent again by itself: it is taken
    conflicts.decide(centre.session, officer, event.id, keep="theirs",
                     reason="Đã nhận hồ sơ người")
    centre.session.commit()
    centre.session.expire_all()
    assert event.status == "theirs" and event.local_id == linked(centre, event.source_id,
                                                                 "event")
    assert json.loads(event.problem)["params"]["type"] == "episode"
    settled = {c.record_type: c.status for c in centre.session.scalars(
        select(ExchangeConflict).where(ExchangeConflict.needs_type == "person"))}
    assert settled["episode"] == "applied"


ONE_WRITER = "SQLite has one writer: a second session cannot write beside the first"


def test_of_two_officers_deciding_the_same_conflict_only_the_first_decision_stands(
        sides, backend):
    if backend == "sqlite":
        pytest.skip(ONE_WRITER)
    army, centre = sides
    officer = _officer(centre)
    here, _there = _both_changed(army, centre, officer)
    conflict_id = conflicts.list_conflicts(centre.session, officer)[0].id
    version = here.version
    # Both requests found the conflict open (as the page holds it); the other officer's
    # decision commits first.
    shown = conflicts.get_conflict(centre.session, officer, conflict_id)
    with make_session_factory(centre.engine)() as other:
        conflicts.decide(other, Actor(other.get(type(officer.user), officer.user.id)),
                         conflict_id, keep="ours", reason="Giữ bản tại trung tâm")
        other.commit()
    with pytest.raises(Conflict, match="settled already"):
        conflicts.decide(centre.session, officer, conflict_id, keep="theirs",
                         reason="Lấy theo bên gửi")
    centre.session.rollback()
    centre.session.expire_all()
    assert (here.version, here.nationality) == (version, "Lào")
    assert shown.status == "ours"
    assert centre.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "exchange.conflict")) == 1


def test_two_decisions_at_the_same_moment_queue_on_the_lock_and_the_second_is_refused(
        sides, backend):
    if backend == "sqlite":
        pytest.skip(ONE_WRITER)
    army, centre = sides
    officer = _officer(centre)
    _both_changed(army, centre, officer)
    conflict_id = conflicts.list_conflicts(centre.session, officer)[0].id
    conflicts.decide(centre.session, officer, conflict_id, keep="ours", reason="Giữ bản này")
    outcome: list[object] = []

    def second() -> None:
        with make_session_factory(centre.engine)() as other:
            try:
                conflicts.decide(other, Actor(other.get(type(officer.user), officer.user.id)),
                                 conflict_id, keep="theirs", reason="Lấy bản bên gửi")
                other.commit()
                outcome.append("decided")
            except Conflict as error:
                outcome.append(error)

    waiting = threading.Thread(target=second)
    waiting.start()
    waiting.join(1)
    assert waiting.is_alive()  # held on the conflict's lock until the first decision commits
    centre.session.commit()
    waiting.join(10)
    assert len(outcome) == 1 and isinstance(outcome[0], Conflict)
    centre.session.expire_all()
    assert centre.session.get(ExchangeConflict, conflict_id).status == "ours"


def test_a_decision_on_a_record_corrected_since_it_was_compared_is_refused(sides):
    army, centre = sides
    officer = _officer(centre)
    here, _there = _both_changed(army, centre, officer)
    conflict_id = conflicts.list_conflicts(centre.session, officer)[0].id
    compared = here.version
    corrections.correct(centre.session, officer, "person", here.id, {"nationality": "Campuchia"},
                        reason="Sửa lại quốc tịch", expected_version=compared)
    centre.session.commit()
    with pytest.raises(Conflict, match="compare them again"):
        conflicts.decide(centre.session, officer, conflict_id, keep="theirs",
                         reason="Lấy theo bên gửi", seen_version=compared)
    centre.session.rollback()
    centre.session.expire_all()
    assert (here.nationality, here.version) == ("Campuchia", compared + 1)
    assert centre.session.get(ExchangeConflict, conflict_id).status == "open"
    conflicts.decide(centre.session, officer, conflict_id, keep="merge",
                     fields=["place_of_origin"], reason="Quê quán theo bên gửi",
                     seen_version=compared + 1)
    centre.session.commit()
    centre.session.expire_all()
    assert (here.nationality, here.place_of_origin) == ("Campuchia", "Hà Giang (sửa)")


def test_a_merge_takes_no_field_the_comparison_does_not_offer(sides):
    army, centre = sides
    officer = _officer(centre)
    here, _there = _both_changed(army, centre, officer)
    conflict_id = conflicts.list_conflicts(centre.session, officer)[0].id
    before = (here.id, here.version, here.name_key)
    for crafted in (["id"], ["version"], ["name_key", "created_by_id"], ["person_id"]):
        with pytest.raises(InvalidInput):
            conflicts.decide(centre.session, officer, conflict_id, keep="merge",
                             fields=crafted, reason="Trường không được đưa ra")
        centre.session.rollback()
    centre.session.expire_all()
    assert (here.id, here.version, here.name_key) == before


def _ask(centre: Side, records: list, receiver: str = "TTCSDL", key=None) -> dict:
    return wire.sign({"format": wire.ASK_FORMAT, "receiver": receiver, "source": ARMY,
                      "records": records, "signed_at": "2026-11-25T08:00:00+00:00"},
                     key or centre.key)


def test_the_sender_refuses_a_malformed_or_oversized_request_and_keeps_nothing(sides):
    army, centre = sides
    trust.register_partner(army.session, SYSTEM, "TTCSDL", public_pem(centre.key))
    army.session.commit()
    person = _camp_person(army).id
    for records in ([{"type": "person", "id": [person]}], [{"type": "person", "id": True}],
                    [{"type": "person", "id": 2**40}], [{"type": "person", "id": -1}],
                    [{"type": ["person"], "id": person}], [{"type": "user", "id": 1}],
                    ["person"], [],
                    [{"type": "person", "id": i} for i in range(1, wire.ASK_LIMIT + 2)]):
        with pytest.raises(InvalidInput):
            outgoing.record_ask(army.session, Actor(army.sender), _ask(centre, records))
        army.session.rollback()
    assert army.count(ExchangeAsk) == 0
    assert outgoing.record_ask(army.session, Actor(army.sender), _ask(centre, [
        {"type": "person", "id": i} for i in range(1, wire.ASK_LIMIT + 1)])) == wire.ASK_LIMIT


def test_only_a_body_that_receives_the_senders_packages_may_ask_for_its_records(sides):
    army, centre = sides
    stranger = Ed25519PrivateKey.generate()  # a province's police, trusted for other packages
    trust.register_partner(army.session, SYSTEM, "CA-HANOI", public_pem(stranger))
    army.session.commit()
    person = _camp_person(army).id
    with pytest.raises(InvalidInput, match="does not receive the packages"):
        outgoing.record_ask(army.session, Actor(army.sender),
                            _ask(centre, [{"type": "person", "id": person}], "CA-HANOI",
                                 stranger))
    army.session.rollback()
    assert army.count(ExchangeAsk) == 0
    export(army)  # the first package, then nothing more asked of the Army
    assert export(army)["records"] == []


def test_a_record_outside_the_senders_scope_is_never_sent_however_it_is_asked_for(sides):
    army, centre = sides
    trust.register_partner(army.session, SYSTEM, "TTCSDL", public_pem(centre.key))
    army.session.commit()
    export(army)
    theirs = army.session.scalar(select(Person.id).where(Person.id.not_in(
        select(CustodyEpisode.person_id).join(Organisation, Organisation.id ==
                                              CustodyEpisode.facility_id)
        .where(Organisation.code.like("QP-%")))).limit(1))
    assert theirs is not None
    assert outgoing.record_ask(army.session, Actor(army.sender),
                               _ask(centre, [{"type": "person", "id": theirs}])) == 1
    army.session.commit()
    assert export(army)["records"] == []
