"""Work queues (issue 16): a body's requests given to a named officer and a backup, filtered to
what is unclaimed, mine, due soon or overdue (by how many working days), and acted on in bulk
with one reason each — all or nothing; only those who may decide may assign, and only to those
who may decide."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from tests.helpers import version_of
from tests.worlds import FLOW, World, ask, fresh_person
from workflow.enums import Role
from workflow.errors import Forbidden, InvalidInput, NotFound
from workflow.models import AccessRequest, AuditEntry, Notification, RequestAssignment
from workflow.records.enums import CaseStage
from workflow.requests import queries, queues
from workflow.requests.enums import RequestState


def _asked(world: World, db, count: int = 1) -> list[AccessRequest]:
    """Requests of the procuracy awaiting the Hà Nội police's approval, each about another
    person."""
    return [ask(world, "requester.vks", fresh_person(world, db, CaseStage.CLOSED))
            for _ in range(count)]


def _queue(world: World, username: str, which: str = "all") -> list[queues.QueueRow]:
    actor = world.actor(username)
    rows = world.act(queries.list_requests, actor, "approval")
    return queues.queue(world.session, FLOW, actor, rows, which)


def _ids(rows: list[queues.QueueRow]) -> set[int]:
    return {r.request.id for r in rows}


def test_an_officer_takes_a_request_and_the_filters_follow(world, db):
    world.make_user("approver.two", "CA-HANOI", Role.APPROVER)
    [request] = _asked(world, db)
    assert request.id in _ids(_queue(world, "approver.hanoi", "unclaimed"))
    world.act(queues.claim, world.actor("approver.hanoi"), request.id)
    assert request.id not in _ids(_queue(world, "approver.hanoi", "unclaimed"))
    assert request.id in _ids(_queue(world, "approver.hanoi", "mine"))
    seen = {r.request.id: r for r in _queue(world, "approver.two")}
    assert seen[request.id].assignment.officer.username == "approver.hanoi"
    assert request.id not in _ids(_queue(world, "approver.two", "mine"))
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "request.assign")
                       .order_by(AuditEntry.seq.desc())).first()
    assert entry.object_id == str(request.id) and '"officer": "approver.hanoi"' in entry.details


def test_a_colleague_assigns_an_officer_and_a_backup_who_are_told(world, db):
    two = world.make_user("approver.two", "CA-HANOI", Role.APPROVER)
    three = world.make_user("approver.three", "CA-HANOI", Role.APPROVER)
    [request] = _asked(world, db)
    world.act(queues.assign, world.actor("approver.hanoi"), request.id, officer_id=two.id,
              backup_id=three.id, reason="Đồng chí Hai phụ trách địa bàn này")
    told = db.scalars(select(Notification.user_id).where(
        Notification.request_id == request.id, Notification.kind == "assigned")).all()
    assert sorted(told) == sorted([two.id, three.id])
    assert request.id in _ids(_queue(world, "approver.three", "mine"))  # as backup
    # Claiming keeps the backup; the history stays (append-only).
    world.act(queues.claim, world.actor("approver.two"), request.id)
    rows = db.scalars(select(RequestAssignment).where(
        RequestAssignment.request_id == request.id).order_by(RequestAssignment.id)).all()
    assert [(r.officer_id, r.backup_id) for r in rows] == [(two.id, three.id),
                                                          (two.id, three.id)]


def test_only_a_decider_assigns_and_only_to_a_decider(world, db):
    hcm = world.make_user("approver.hcm", "CA-HOCHIMINH", Role.APPROVER)
    [request] = _asked(world, db)
    for username in ("requester.vks", "clerk.hanoi", "consent.hanoi", "approver.hcm"):
        with pytest.raises((Forbidden, NotFound)):
            world.act(queues.claim, world.actor(username), request.id)
    for officer in ("clerk.hanoi", "requester.vks", "consent.hanoi"):
        with pytest.raises(InvalidInput, match="Choose an officer"):
            world.act(queues.assign, world.actor("approver.hanoi"), request.id,
                      officer_id=world.user(officer).id)
    with pytest.raises(InvalidInput, match="Choose an officer"):
        world.act(queues.assign, world.actor("approver.hanoi"), request.id, officer_id=hcm.id)
    me = world.user("approver.hanoi").id
    with pytest.raises(InvalidInput, match="backup officer"):
        world.act(queues.assign, world.actor("approver.hanoi"), request.id, officer_id=me,
                  backup_id=me)
    assert db.scalars(select(RequestAssignment)).all() == []


def test_the_queue_says_by_how_many_working_days_a_request_is_overdue(world, db):
    late, soon = _asked(world, db, 2)
    today = world.actor("approver.hanoi").today
    # Tuesday 24 November 2026: due the Thursday before is two working days late.
    world.session.get(AccessRequest, late.id).due_on = dt.date(2026, 11, 19)
    world.session.get(AccessRequest, soon.id).due_on = today
    world.session.commit()
    rows = {r.request.id: r for r in _queue(world, "approver.hanoi")}
    assert rows[late.id].overdue_days == FLOW.calendar.between(dt.date(2026, 11, 19), today) == 2
    assert rows[soon.id].overdue_days == 0 and rows[soon.id].due_soon
    assert _ids(_queue(world, "approver.hanoi", "overdue")) >= {late.id}
    assert soon.id not in _ids(_queue(world, "approver.hanoi", "overdue"))
    assert soon.id in _ids(_queue(world, "approver.hanoi", "due_soon"))


def test_a_bulk_extension_is_all_or_nothing_with_one_reason_each(world, db):
    first, second = _asked(world, db, 2)
    world.act(queues.bulk, FLOW, world.actor("approver.hanoi"), "extend", [first.id],
              reason="Cần thêm thời gian xác minh hồ sơ")
    # The first is extended as far as the rules allow: the other of this selection is left
    # as it was.
    third = _asked(world, db)[0]
    with pytest.raises(queues.BulkRefused) as refused:
        world.act(queues.bulk, FLOW, world.actor("approver.hanoi"), "extend",
                  [third.id, first.id], reason="Gia hạn đồng loạt theo chỉ đạo")
    assert refused.value.params["number"] == db.get(AccessRequest, first.id).number
    assert "used up" in refused.value.cause.message
    db.expire_all()
    assert not db.get(AccessRequest, third.id).extended
    done = world.act(queues.bulk, FLOW, world.actor("approver.hanoi"), "extend",
                     [second.id, third.id], reason="Gia hạn đồng loạt theo chỉ đạo")
    assert [r.id for r in done] == [second.id, third.id]
    db.expire_all()
    for request in (second, third):
        moved = db.get(AccessRequest, request.id)
        assert moved.extended and moved.transitions[-1].reason == "Gia hạn đồng loạt theo chỉ đạo"
    with pytest.raises(InvalidInput, match="reason"):
        world.act(queues.bulk, FLOW, world.actor("approver.hanoi"), "extend", [first.id],
                  reason="ngắn")
    # A request of another body refuses the whole selection as it would alone.
    with pytest.raises((Forbidden, NotFound)):
        world.act(queues.bulk, FLOW, world.actor("clerk.hcm"), "extend", [first.id],
                  reason="Gia hạn đồng loạt theo chỉ đạo")


def test_the_queue_page_takes_checks_and_returns_in_bulk(app, client, auth, db):
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        first, second = (r.id for r in _asked(world, db, 2))
    auth.login("approver.hanoi")
    page = client.get("/requests/?view=approval").get_data(as_text=True)
    assert "Chưa có người nhận" in page and "Nhận xử lý" in page
    taken = client.post("/requests/queue/claim", data={"claim": str(first),
                                                       "view": "approval"})
    assert taken.status_code == 302
    mine = client.get("/requests/?view=approval&which=mine").get_data(as_text=True)
    assert db.get(AccessRequest, first).number in mine
    assert db.get(AccessRequest, second).number not in mine
    data = {"ids": [str(first), str(second)], "action": "return", "view": "approval",
            "reason": "Đề nghị bổ sung căn cứ pháp lý cụ thể"}
    check = client.post("/requests/queue/bulk", data=data)
    text = check.get_data(as_text=True)
    assert check.status_code == 200 and "Kiểm tra trước khi quyết định" in text
    assert "không thể hoàn tác" in text
    db.expire_all()
    assert db.get(AccessRequest, first).state is RequestState.AWAITING_APPROVAL
    done = client.post("/requests/queue/bulk", data=data | {"confirmed": "yes"})
    assert done.status_code == 302
    db.expire_all()
    assert {db.get(AccessRequest, i).state for i in (first, second)} == {
        RequestState.RETURNED}
    # Nothing chosen, no reason: told on the check page, nothing done.
    before = version_of(db, first)
    empty = client.post("/requests/queue/bulk", data={"action": "extend", "view": "approval",
                                                      "confirmed": "yes"})
    assert empty.status_code == 422 and "Chọn ít nhất một yêu cầu" in empty.get_data(
        as_text=True)
    assert version_of(db, first) == before
