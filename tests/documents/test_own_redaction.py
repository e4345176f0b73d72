"""Redaction by audience (issue 16): a detained person's own extract withholds what concerns
others — the summaries of orders and personal history, which may name co-accused, informants or
officers, and the notes of custody events — as the rule set's `own_view` says, per record
category; a body's extract of the same record shows them. Read back from the PDF."""

from __future__ import annotations

import dataclasses

from tests.worlds import (
    FLOW,
    SETTINGS,
    ask,
    state_of,
    text_of,
)
from workflow.documents import extracts
from workflow.enums import Secrecy
from workflow.models import CustodyEvent, Person, RecordDocument
from workflow.records.enums import DocumentCategory, EventKind
from workflow.requests import decisions
from workflow.requests.enums import RequestState
from workflow.requests.rules import Rulebook

ACCOMPLICE = "Đồng phạm Trần Văn Bí khai nhận"
ESCORT = "Cán bộ Ngô Văn Cảnh dẫn giải"
PARTS = ["a_orders", "events", "episodes", "b_handover"]


def _record(world) -> Person:
    person = world.session.get(Person, world.user("detainee.demo").person_id)
    episode = person.episodes[-1]
    world.session.add_all([
        RecordDocument(person_id=person.id, episode_id=episode.id,
                       category=DocumentCategory.ORDERS, title="Lệnh tạm giam số 9",
                       number="9/LTG", issued_on=episode.start_date, issuer="Cơ quan điều tra",
                       secrecy=Secrecy.NONE, summary=ACCOMPLICE),
        RecordDocument(person_id=person.id, episode_id=episode.id,
                       category=DocumentCategory.HANDOVER, title="Biên bản giao nhận tư trang",
                       number="3/BB", issued_on=episode.start_date, issuer="Trại tạm giam",
                       secrecy=Secrecy.NONE, summary="Một đồng hồ đeo tay"),
        CustodyEvent(episode_id=episode.id, kind=EventKind.VISIT,
                     occurred_on=episode.start_date, note=ESCORT),
    ])
    world.session.commit()
    return person


def _approved(world, username: str, person: Person):
    request = ask(world, username, person, categories=PARTS,
                  purpose="Tôi muốn biết hồ sơ tạm giam của mình")
    world.act(decisions.approve, world.actor("approver.hanoi"), request.id)
    if state_of(world, request.id) is RequestState.AWAITING_CONSENT:
        world.act(decisions.grant_consent, FLOW, world.actor("consent.hanoi"), request.id,
                  letter_ref="CV 31/ĐY-CSĐT")
    assert state_of(world, request.id) is RequestState.APPROVED
    return request


def _text(world, request, tmp_path, settings=SETTINGS) -> str:
    document = world.act(extracts.prepare_extract, settings, world.actor("approver.hanoi"),
                         request.id)
    return text_of(document.pdf, tmp_path)


def test_the_persons_own_extract_withholds_what_concerns_others(world, db, tmp_path):
    person = _record(world)
    own = _text(world, _approved(world, "detainee.demo", person), tmp_path)
    assert "Lệnh tạm giam số 9" in own and "9/LTG" in own  # the order itself is theirs
    assert ACCOMPLICE not in own and ESCORT not in own
    assert "Một đồng hồ đeo tay" in own  # their own property: shown in full
    assert "Trích yếu của 1 tài liệu không được hiển thị" in own
    assert "Ghi chú về các sự kiện tạm giữ, tạm giam không được hiển thị" in own
    # The procuracy's extract of the same record shows what the person's does not.
    body = _text(world, _approved(world, "requester.vks", person), tmp_path)
    assert ACCOMPLICE in body and ESCORT in body
    assert "không được hiển thị" not in body


def test_what_the_person_sees_is_configured_per_category(world, db, tmp_path):
    person = _record(world)
    rules = Rulebook.from_overrides({"L128-2025.1": {
        "own_view": {"a_orders": "withheld", "b_handover": "no_details"},
        "own_view_event_notes": True}})
    settings = dataclasses.replace(SETTINGS, rules=rules)
    own = _text(world, _approved(world, "detainee.demo", person), tmp_path, settings)
    assert "Lệnh tạm giam số 9" not in own and "9/LTG" not in own
    assert "1 tài liệu không được hiển thị" in own
    assert "Biên bản giao nhận tư trang" in own and "Một đồng hồ đeo tay" not in own
    assert ESCORT in own  # event notes shown, as configured
