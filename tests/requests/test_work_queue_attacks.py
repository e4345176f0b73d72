"""Attacks on the work queues (review 2): a request whose backup has left can still be taken,
and a bulk selection is never cut short silently."""

from __future__ import annotations

from sqlalchemy import select

from tests.worlds import World, ask, fresh_person
from workflow.enums import Role
from workflow.models import AccessRequest, RequestAssignment, User
from workflow.records.enums import CaseStage
from workflow.requests import queues


def test_a_request_whose_backup_has_left_can_still_be_taken(world, db):
    two = world.make_user("approver.two", "CA-HANOI", Role.APPROVER)
    three = world.make_user("approver.three", "CA-HANOI", Role.APPROVER)
    request = ask(world, "requester.vks", fresh_person(world, db, CaseStage.CLOSED))
    world.act(queues.assign, world.actor("approver.hanoi"), request.id, officer_id=two.id,
              backup_id=three.id, reason="Đồng chí Hai phụ trách địa bàn này")
    world.session.get(User, three.id).active = False  # the backup left the body
    world.session.commit()
    world.act(queues.claim, world.actor("approver.hanoi"), request.id)
    latest = db.scalars(select(RequestAssignment).where(
        RequestAssignment.request_id == request.id)
        .order_by(RequestAssignment.id.desc())).first()
    assert latest.officer_id == world.user("approver.hanoi").id
    assert latest.backup_id is None  # one who can no longer decide is not kept as backup


def test_a_bulk_selection_is_never_cut_short_silently(app, client, auth, db):
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        first, second = (ask(world, "requester.vks", fresh_person(world, db, CaseStage.CLOSED)
                             ).id for _ in range(2))
    auth.login("approver.hanoi")
    # The same box posted many times (a tampered or double-submitted form) before the second.
    data = {"ids": [str(first)] * queues.MOST + [str(second)], "action": "extend",
            "view": "approval", "reason": "Gia hạn đồng loạt theo chỉ đạo", "confirmed": "yes"}
    done = client.post("/requests/queue/bulk", data=data)
    db.expire_all()
    extended = {i for i in (first, second) if db.get(AccessRequest, i).extended}
    assert done.status_code == 302 and extended == {first, second}
