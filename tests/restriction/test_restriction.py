"""Residence restriction: its lifecycle, its deadlines in working days and the sweep's flags, a
handover to another commune, and one record for a person later detained."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from tests.helpers import org, versions_of
from tests.worlds import FLOW
from workflow.context import SYSTEM, Actor
from workflow.enums import Role
from workflow.errors import Conflict, Forbidden, NotFound
from workflow.models import RestrictionFlag
from workflow.organisations.communes import load_communes
from workflow.records import episodes
from workflow.records.enums import Measure, Sex
from workflow.records.persons import IdentifierInput, PersonInput
from workflow.records.policy import can_read_person
from workflow.requests.workdays import WorkCalendar
from workflow.restriction import deadlines, operations, sweep
from workflow.restriction.enums import (
    EndReason,
    FlagKind,
    RestrictionEventKind,
    RestrictionState,
)
from workflow.restriction.operations import RestrictionInput

K = RestrictionEventKind
ORDERED = dt.date(2026, 11, 2)  # a Monday: the report-in is due on Thursday the 5th


def at(day: dt.date, hour: int = 3) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)


@pytest.fixture
def communes(world):
    """Two commune police of Hà Nội and one of Hồ Chí Minh City, each with a clerk."""
    load_communes(world.session, SYSTEM, "code,name,parent,valid_from\n"
                  "CAX-HN-A,Công an phường Ba Đình,CA-HANOI,2025-07-01\n"
                  "CAX-HN-B,Công an phường Hoàn Kiếm,CA-HANOI,2025-07-01\n"
                  "CAX-HCM-A,Công an phường Sài Gòn,CA-HOCHIMINH,2025-07-01\n")
    world.session.commit()
    made = {}
    for code in ("CAX-HN-A", "CAX-HN-B", "CAX-HCM-A"):
        world.make_user(f"clerk.{code.lower()}", code, Role.CLERK)
        made[code] = org(world.session, code).id
    world.make_user("clerk.province", "CA-HANOI", Role.CLERK)
    return made


def _order(communes, commune: str = "CAX-HN-A", **changes) -> RestrictionInput:
    values = dict(commune_id=communes[commune], order_number="15/QĐ-CSĐT",
                  order_date=ORDERED, deciding_org_id=None, start_date=ORDERED,
                  term_until=dt.date(2027, 2, 2), residence="Số 5 phố Kim Mã, phường Ba Đình")
    return RestrictionInput(**{**values, **changes})


def _register(world, communes, username="clerk.cax-hn-a", **changes):
    data = _order(communes, **changes)
    data.deciding_org_id = data.deciding_org_id or org(world.session, "CSDT-HANOI").id
    person = world.act(operations.register_person, FLOW, world.actor(username, at(ORDERED)),
                       PersonInput(full_name="Trần Văn Cư", birth_date=dt.date(1991, 4, 9),
                                   sex=Sex.MALE),
                       data, IdentifierInput(kind="cccd", value="001091012345"))
    return person, person.restrictions[0]


def _act(world, fn, username, day, *args, **kwargs):
    return world.act(fn, FLOW, world.actor(username, at(day)), *args, **kwargs)


def test_the_lifecycle_from_order_to_end_with_a_version_for_every_change(world, communes):
    person, episode = _register(world, communes)
    assert episode.state is RestrictionState.ACTIVE
    assert episode.report_in_due == dt.date(2026, 11, 5)
    a = "clerk.cax-hn-a"
    _act(world, operations.record_event, a, dt.date(2026, 11, 4), episode.id,
         kind=K.REPORT_IN, occurred_on=dt.date(2026, 11, 4), note="Có mặt, ký cam đoan")
    _act(world, operations.record_event, a, dt.date(2026, 11, 10), episode.id,
         kind=K.MEETING, occurred_on=dt.date(2026, 11, 10))
    _act(world, operations.record_event, a, dt.date(2026, 11, 12), episode.id,
         kind=K.VIOLATION, occurred_on=dt.date(2026, 11, 12), note="Vắng mặt khi kiểm tra")
    _act(world, operations.record_event, a, dt.date(2026, 11, 13), episode.id,
         kind=K.ABSENCE, occurred_on=dt.date(2026, 11, 13), until_on=dt.date(2026, 11, 15))
    _act(world, operations.record_event, a, dt.date(2026, 11, 24), episode.id,
         kind=K.ASSESSMENT, occurred_on=dt.date(2026, 11, 24), period=dt.date(2026, 11, 30))
    with pytest.raises(Conflict):  # one assessment a month
        _act(world, operations.record_event, a, dt.date(2026, 11, 24), episode.id,
             kind=K.ASSESSMENT, occurred_on=dt.date(2026, 11, 24), period=dt.date(2026, 11, 1))
    with pytest.raises(Conflict):  # one report-in
        _act(world, operations.record_event, a, dt.date(2026, 11, 24), episode.id,
             kind=K.REPORT_IN, occurred_on=dt.date(2026, 11, 24))
    _act(world, operations.end_restriction, a, dt.date(2026, 11, 24), episode.id,
         reason=EndReason.LIFTED, occurred_on=dt.date(2026, 11, 24),
         document_number="20/QĐ-CSĐT")
    world.session.expire_all()
    assert episode.state is RestrictionState.ENDED and episode.end_date == dt.date(2026, 11, 24)
    assert episode.end_reason is EndReason.LIFTED and episode.reported_in_on == dt.date(2026, 11, 4)
    assert [e.kind for e in episode.events] == [K.REPORT_IN, K.MEETING, K.VIOLATION, K.ABSENCE,
                                                K.ASSESSMENT, K.END]
    # Opened, reported in, ended: three versions of the episode; one of each event.
    kept = versions_of(world.session, "restriction", episode.id)
    assert [(v.version, v.reason) for v in kept] == [
        (1, None), (2, "event:report_in"), (3, "event:end")]
    assert all(len(versions_of(world.session, "restriction_event", e.id)) == 1
               for e in episode.events)


def test_an_ended_measure_accepts_no_events(world, communes):
    _person, episode = _register(world, communes)
    a, day = "clerk.cax-hn-a", dt.date(2026, 11, 20)
    _act(world, operations.end_restriction, a, day, episode.id, reason=EndReason.TERM_OVER,
         occurred_on=day)
    for kind in (K.REPORT_IN, K.MEETING, K.ASSESSMENT, K.VIOLATION, K.ABSENCE):
        with pytest.raises(Conflict):
            _act(world, operations.record_event, a, day, episode.id, kind=kind,
                 occurred_on=day, note="Ghi sau khi kết thúc", period=day, until_on=day)
    with pytest.raises(Conflict):
        _act(world, operations.change_residence, a, day, episode.id, occurred_on=day,
             residence="Nơi khác", commune_id=communes["CAX-HN-B"])
    with pytest.raises(Conflict):
        _act(world, operations.end_restriction, a, day, episode.id, reason=EndReason.LIFTED,
             occurred_on=day)
    world.session.expire_all()
    assert [e.kind for e in episode.events] == [K.END]


def test_a_handover_moves_the_person_to_the_other_commune(world, communes):
    person, episode = _register(world, communes)
    a, b = "clerk.cax-hn-a", "clerk.cax-hn-b"
    # A Friday: the weekend and Vietnamese Culture Day (Tuesday the 24th) are not counted.
    moved = dt.date(2026, 11, 20)
    with pytest.raises(NotFound):  # commune B neither sees nor takes what is not sent to it
        _act(world, operations.receive_handover, b, moved, episode.id, occurred_on=moved)
    _act(world, operations.change_residence, a, moved, episode.id, occurred_on=moved,
         residence="Số 9 phố Hàng Bạc, phường Hoàn Kiếm", commune_id=communes["CAX-HN-B"])
    world.session.expire_all()
    assert episode.state is RestrictionState.HANDING_OVER
    assert episode.handover_due == dt.date(2026, 11, 26)
    with pytest.raises(Forbidden):  # the old commune cannot take it over for the new one
        _act(world, operations.receive_handover, a, moved, episode.id, occurred_on=moved)
    _act(world, operations.receive_handover, b, dt.date(2026, 11, 24), episode.id,
         occurred_on=dt.date(2026, 11, 24), document_number="BB 3")
    world.session.expire_all()
    assert episode.state is RestrictionState.ACTIVE and episode.commune_id == communes["CAX-HN-B"]
    assert episode.residence == "Số 9 phố Hàng Bạc, phường Hoàn Kiếm"
    handover = episode.events[-1]
    assert (handover.kind, handover.commune_id, handover.other_commune_id) == (
        K.HANDOVER, communes["CAX-HN-A"], communes["CAX-HN-B"])
    day = dt.date(2026, 11, 24)
    assert can_read_person(world.session, world.user(b), person, day)
    assert not can_read_person(world.session, world.user(a), person, day)
    with pytest.raises(NotFound):  # and records nothing on it any more
        _act(world, operations.record_event, a, day, episode.id, kind=K.MEETING,
             occurred_on=day)
    _act(world, operations.record_event, b, day, episode.id, kind=K.MEETING, occurred_on=day)


def _sweep(world, day: dt.date):
    return world.act(sweep.sweep, FLOW, Actor(None, "cron", at(day)))


def _flags(world, episode_id: int) -> list[tuple[FlagKind, dt.date]]:
    world.session.expire_all()
    return [(f.kind, f.due_on) for f in world.session.scalars(
        select(RestrictionFlag).where(RestrictionFlag.episode_id == episode_id)
        .order_by(RestrictionFlag.id))]


def test_a_report_in_missing_after_three_working_days_is_flagged_once(world, communes):
    _person, episode = _register(world, communes)
    _sweep(world, dt.date(2026, 11, 5))  # the due day itself: not late yet
    assert _flags(world, episode.id) == []
    found = _sweep(world, dt.date(2026, 11, 6))
    assert found.report_in == [(episode.id, dt.date(2026, 11, 5))]
    _sweep(world, dt.date(2026, 11, 9))  # flagged once
    assert _flags(world, episode.id) == [(FlagKind.REPORT_IN, dt.date(2026, 11, 5))]


def test_a_report_in_made_in_time_is_not_flagged(world, communes):
    _person, episode = _register(world, communes)
    _act(world, operations.record_event, "clerk.cax-hn-a", dt.date(2026, 11, 5), episode.id,
         kind=K.REPORT_IN, occurred_on=dt.date(2026, 11, 5))
    _sweep(world, dt.date(2026, 11, 9))
    assert _flags(world, episode.id) == []


def test_a_monthly_assessment_missing_on_the_last_working_day_is_flagged(world, communes):
    _person, episode = _register(world, communes)
    _act(world, operations.record_event, "clerk.cax-hn-a", dt.date(2026, 11, 3), episode.id,
         kind=K.REPORT_IN, occurred_on=dt.date(2026, 11, 3))
    _sweep(world, dt.date(2026, 11, 27))  # Friday; Monday the 30th is November's last
    assert _flags(world, episode.id) == []
    _sweep(world, dt.date(2026, 11, 30))
    assert _flags(world, episode.id) == [(FlagKind.ASSESSMENT, dt.date(2026, 11, 30))]


def test_an_assessment_recorded_in_time_is_not_flagged(world, communes):
    _person, episode = _register(world, communes)
    a = "clerk.cax-hn-a"
    _act(world, operations.record_event, a, dt.date(2026, 11, 3), episode.id,
         kind=K.REPORT_IN, occurred_on=dt.date(2026, 11, 3))
    _act(world, operations.record_event, a, dt.date(2026, 11, 24), episode.id,
         kind=K.ASSESSMENT, occurred_on=dt.date(2026, 11, 24), period=dt.date(2026, 11, 24))
    _sweep(world, dt.date(2026, 11, 30))
    assert _flags(world, episode.id) == []


def test_the_last_working_day_skips_weekends_and_decided_days_off():
    calendar = WorkCalendar()
    assert deadlines.last_working_day(calendar, dt.date(2026, 10, 1)) == dt.date(2026, 10, 30)
    assert deadlines.last_working_day(calendar, dt.date(2026, 11, 1)) == dt.date(2026, 11, 30)
    off = calendar.with_changes({dt.date(2026, 11, 30): "Nghỉ bù theo quyết định"}, {})
    assert deadlines.last_working_day(off, dt.date(2026, 11, 1)) == dt.date(2026, 11, 27)


def test_the_deadlines_are_configurable_and_marked_pending_text():
    from workflow.requests.rules import DEFAULT_RULESETS

    law_128 = DEFAULT_RULESETS[-1]
    assert law_128.restriction_report_days == 3 and law_128.restriction_handover_days == 3
    assert "restriction_report_days" in law_128.restriction_pending_values
    confirmed = law_128.overridden({"restriction_report_days": "5",
                                    "restriction_pending": False})
    assert confirmed.restriction_report_days == 5 and confirmed.restriction_pending_values == []
    # Five working days from Monday 2 November 2026: Monday the 9th.
    assert deadlines.report_in_due(WorkCalendar(), confirmed, ORDERED) == dt.date(2026, 11, 9)


def test_a_person_under_restriction_then_detained_keeps_one_record(world, communes):
    person, episode = _register(world, communes)
    province, day = "clerk.province", dt.date(2026, 11, 20)
    held = world.act(episodes.add_episode, world.actor(province, at(day)), person.id,
                     episodes.EpisodeInput(facility_id=org(world.session, "TTG-HANOI").id,
                                           measure=Measure.DETENTION, start_date=day,
                                           legal_basis="Lệnh tạm giam 7/LTG"))
    _act(world, operations.end_restriction, province, day, episode.id,
         reason=EndReason.REPLACED, occurred_on=day, replaced_by_id=held.id,
         document_number="7/LTG")
    # While held, no new residence restriction is opened on the record.
    with pytest.raises(Conflict):
        _act(world, operations.open_restriction, province, day, person.id, _order(
            communes, order_date=day, start_date=day,
            deciding_org_id=org(world.session, "VKS-HANOI").id))
    world.session.expire_all()
    assert [e.id for e in person.episodes] == [held.id]
    assert [r.id for r in person.restrictions] == [episode.id]
    assert episode.replaced_by_id == held.id and episode.end_reason is EndReason.REPLACED
    # Both bodies read the one record: the camp holding them, the commune that managed them.
    for username in ("clerk.hanoi", "clerk.cax-hn-a"):
        assert can_read_person(world.session, world.user(username), person, day)
    assert not can_read_person(world.session, world.user("clerk.cax-hcm-a"), person, day)


def test_custody_sweep_flags_the_demo_person_who_never_reported_in(runner, db):
    result = runner.invoke(args=["sweep"])
    assert result.exit_code == 0, result.output
    assert "residence restriction: report-ins missing: 1," in result.output
    late = db.scalars(select(RestrictionFlag).where(
        RestrictionFlag.kind == FlagKind.REPORT_IN)).one()
    assert late.episode.person.full_name == "Lưu Thị Duyên"
    assert late.due_on == dt.date(2026, 11, 19) and late.commune_id == late.episode.commune_id
    again = runner.invoke(args=["sweep"])
    assert "report-ins missing: 0, assessments missing: 0, handovers late: 0" in again.output
