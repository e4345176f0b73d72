"""Deadlines: due soon, overdue with escalation, expiry of unsupplemented requests, the clock
paused while the requester supplements, and one extension."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from tests.worlds import FLOW, World, ask, person_with_stage
from workflow.context import Actor
from workflow.enums import Role
from workflow.errors import Conflict
from workflow.models import Notification, RequestTransition
from workflow.requests import deadlines, decisions, filing
from workflow.requests.enums import RequestState


@pytest.fixture
def world(app):
    with app.extensions["custody_sessions"]() as session:
        yield World(session)


def at(day: dt.date) -> Actor:
    """The system, at 10:00 Vietnam time on that day."""
    return Actor(None, "cron", dt.datetime.combine(day, dt.time(3, 0), dt.UTC))


def inbox(world: World, username: str) -> list[str]:
    user = world.user(username)
    rows = world.session.execute(select(Notification).where(Notification.user_id == user.id)
                                 .order_by(Notification.id)).scalars()
    return [n.kind for n in rows]


def test_due_soon_then_overdue_with_escalation_each_once(world):
    world.make_user("approver.c11", "C11", Role.APPROVER)
    request = ask(world, "requester.vks", person_with_stage(world, None))
    assert request.due_on == dt.date(2026, 12, 1)  # 5 working days from Tue 24/11
    number = request.number
    report = world.act(deadlines.sweep, FLOW, at(dt.date(2026, 11, 26)))
    assert number not in report.due_soon + report.overdue
    report = world.act(deadlines.sweep, FLOW, at(dt.date(2026, 11, 30)))
    assert number in report.due_soon
    assert number not in world.act(deadlines.sweep, FLOW, at(dt.date(2026, 11, 30))).due_soon
    report = world.act(deadlines.sweep, FLOW, at(dt.date(2026, 12, 2)))
    assert number in report.overdue and number in report.escalated
    assert number not in world.act(deadlines.sweep, FLOW, at(dt.date(2026, 12, 3))).overdue
    mine = [n.kind for n in world.session.execute(select(Notification).where(
        Notification.request_id == request.id, Notification.user_id.in_(
            [world.user("approver.hanoi").id, world.user("approver.c11").id]))
        .order_by(Notification.id)).scalars()]
    assert mine == ["new_task", "due_soon", "overdue", "escalated"]
    notes = world.session.execute(select(RequestTransition.trigger).where(
        RequestTransition.request_id == request.id)).scalars().all()
    assert notes[-2:] == ["due_soon", "overdue"]


def test_returned_request_expires_when_never_supplemented(world):
    request = ask(world, "requester.vks", person_with_stage(world, None))
    world.act(decisions.return_for_supplement, FLOW, world.actor("approver.hanoi"), request.id,
              reason="Thiếu văn bản đề nghị có chữ ký")
    assert request.number not in world.act(deadlines.sweep, FLOW, at(dt.date(2026, 12, 14))).expired
    report = world.act(deadlines.sweep, FLOW, at(dt.date(2026, 12, 16)))
    assert request.number in report.expired
    assert world.reload(request.id).state is RequestState.EXPIRED
    assert inbox(world, "requester.vks")[-1] == "expired"


def test_the_clock_pauses_while_the_requester_supplements(world):
    request = ask(world, "requester.vks", person_with_stage(world, None))
    returned_on = dt.datetime(2026, 11, 26, 3, 0, tzinfo=dt.UTC)  # Thu, 3 working days left
    world.act(decisions.return_for_supplement, FLOW, world.actor("approver.hanoi", returned_on),
              request.id, reason="Bổ sung số công văn đề nghị")
    assert world.reload(request.id).deadline["days_left"] == 3
    resubmitted = dt.datetime(2026, 12, 7, 3, 0, tzinfo=dt.UTC)  # Monday, 11 days later
    world.act(filing.submit, FLOW, world.actor("requester.vks", resubmitted), request.id)
    request = world.reload(request.id)
    assert request.due_on == dt.date(2026, 12, 10)  # Mon + 3 working days
    assert request.deadline["resumed_with"] == 3


def test_one_extension_only(world):
    request = ask(world, "requester.vks", person_with_stage(world, None))
    world.act(deadlines.extend_deadline, FLOW, world.actor("approver.hanoi"), request.id,
              reason="Cần xác minh thêm với trại tạm giam")
    request = world.reload(request.id)
    assert request.extended and request.due_on == dt.date(2026, 12, 22)
    assert request.deadline["extension"]["working_days"] == 15
    with pytest.raises(Conflict):
        world.act(deadlines.extend_deadline, FLOW, world.actor("approver.hanoi"), request.id,
                  reason="Gia hạn lần thứ hai")


def test_sweep_command(runner):
    result = runner.invoke(args=["sweep"])
    assert result.exit_code == 0 and "overdue:" in result.output
