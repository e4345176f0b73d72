"""Residence restriction, attacked: forged ids on its operations, a handover between provinces,
and a person under the measure joined to a record kept elsewhere."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.helpers import org, person_at
from tests.restriction import test_restriction
from tests.restriction.test_restriction import _act, _register
from tests.worlds import NOW
from workflow.enums import Role
from workflow.errors import Conflict, Forbidden, InvalidInput, NotFound
from workflow.exchange import matches
from workflow.models import PersonMatch
from workflow.records.enums import Sex
from workflow.records.persons import PersonInput
from workflow.records.policy import can_read_person
from workflow.restriction import operations
from workflow.restriction.enums import EndReason, RestrictionEventKind, RestrictionState

K = RestrictionEventKind
communes = test_restriction.communes  # two communes of Hà Nội, one of Hồ Chí Minh City
DAY = dt.date(2026, 11, 20)


def test_another_provinces_commune_reaches_no_episode_by_its_id(world, communes):
    _, episode = _register(world, communes)
    for call, kwargs in (
            (operations.record_event, dict(kind=K.MEETING, occurred_on=DAY, note="Gặp")),
            (operations.change_residence, dict(occurred_on=DAY, residence="Số 1",
                                               commune_id=communes["CAX-HCM-A"])),
            (operations.receive_handover, dict(occurred_on=DAY)),
            (operations.end_restriction, dict(reason=EndReason.LIFTED, occurred_on=DAY))):
        with pytest.raises(NotFound):
            _act(world, call, "clerk.cax-hcm-a", DAY, episode.id, **kwargs)


def test_a_handover_to_another_province_is_received_there_alone_and_ended_once(world, communes):
    person, episode = _register(world, communes)
    _act(world, operations.change_residence, "clerk.cax-hn-a", DAY, episode.id,
         occurred_on=DAY, residence="Số 9 Lê Lợi", commune_id=communes["CAX-HCM-A"])
    for wrong, refusal in (("clerk.cax-hn-b", NotFound), ("clerk.cax-hn-a", Forbidden)):
        with pytest.raises(refusal):
            _act(world, operations.receive_handover, wrong, DAY, episode.id, occurred_on=DAY)
    assert not can_read_person(world.session, world.user("clerk.cax-hcm-a"), person, DAY)
    with pytest.raises(InvalidInput, match="before the change of residence"):
        _act(world, operations.receive_handover, "clerk.cax-hcm-a", DAY, episode.id,
             occurred_on=DAY - dt.timedelta(days=1))
    _act(world, operations.receive_handover, "clerk.cax-hcm-a", DAY, episode.id,
         occurred_on=DAY)
    world.session.expire_all()
    assert can_read_person(world.session, world.user("clerk.cax-hcm-a"), person, DAY)
    assert not can_read_person(world.session, world.user("clerk.cax-hn-a"), person, DAY)
    assert not can_read_person(world.session, world.user("clerk.province"), person, DAY)
    _act(world, operations.end_restriction, "clerk.cax-hcm-a", DAY, episode.id,
         reason=EndReason.LIFTED, occurred_on=DAY)
    with pytest.raises(Conflict):
        _act(world, operations.end_restriction, "clerk.cax-hcm-a", DAY, episode.id,
             reason=EndReason.LIFTED, occurred_on=DAY)
    world.session.expire_all()
    assert episode.state is RestrictionState.ENDED


def _join(world, received, kept):
    world.make_user("clerk.centre", "TTCSDL", Role.CLERK)
    match = PersonMatch(source="QP-QL", source_id=1, person_id=received.id,
                        candidate_id=kept.id, found_at=NOW)
    world.session.add(match)
    world.session.commit()
    world.act(matches.decide_match, world.actor("clerk.centre", NOW), match.id, same=True,
              reason="Đối chiếu ảnh và vân tay: cùng một người")


def test_a_person_under_restriction_joined_to_a_record_kept_elsewhere_stays_with_the_commune(
        world, communes):
    received, episode = _register(world, communes)
    kept = person_at(world.session, "TTG-HANOI")
    _join(world, received, kept)
    world.session.expire_all()
    commune = world.user("clerk.cax-hn-a")
    # The measure follows the person to the record kept, which its commune reads ...
    assert [r.id for r in kept.restrictions] == [episode.id]
    assert can_read_person(world.session, commune, kept, DAY)
    assert can_read_person(world.session, commune, received, DAY)
    assert not can_read_person(world.session, world.user("clerk.cax-hn-b"), kept, DAY)


def test_two_records_each_under_restriction_are_not_joined_into_two_measures(world, communes):
    received, _ = _register(world, communes)
    data = test_restriction._order(communes, "CAX-HN-B",
                                   deciding_org_id=org(world.session, "CSDT-HANOI").id)
    kept = _act(world, operations.register_person, "clerk.cax-hn-b", test_restriction.ORDERED,
                PersonInput(full_name="Trần Văn Cư", birth_date=dt.date(1991, 4, 9),
                            sex=Sex.MALE), data)
    with pytest.raises(Conflict, match="residence restriction"):
        _join(world, received, kept)
    world.session.expire_all()
    assert received.merged_into_id is None and len(kept.restrictions) == 1
