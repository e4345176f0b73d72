"""Deadlines users can trust: due soon, overdue with escalation, expiry of unsupplemented
requests; the clock stopped while the requester supplements (and, when configured, while an
untimed consent is awaited); stacked extensions with reasons; the government's calendar
changes reckoning every open due date again; the explainer on the request page; the command."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from tests.helpers import system_token
from tests.worlds import FLOW, NOW, World, ask, person_with_stage
from workflow.context import Actor
from workflow.db import utcnow
from workflow.enums import Role
from workflow.errors import Conflict, Forbidden, InvalidInput
from workflow.models import AuditEntry, CalendarDay, Notification, RequestTransition
from workflow.records.enums import CaseStage
from workflow.requests import calendar, clock, deadlines, decisions, filing, kernel, queries
from workflow.requests.enums import (
    CalendarChange,
    Channel,
    ProvisionForm,
    RequestState,
    SubjectKind,
)
from workflow.requests.filing import RequestInput
from workflow.requests.policy import allowed_actions
from workflow.requests.workdays import WorkCalendar
from workflow.schema import upgrade

CLI = Actor(None, "cli", NOW)  # the installation's command line


def at(day: dt.date) -> Actor:
    """The system, at 10:00 Vietnam time on that day."""
    return Actor(None, "cron", dt.datetime.combine(day, dt.time(3, 0), dt.UTC))


def on(day: dt.date) -> dt.datetime:
    """10:00 Vietnam time on that day."""
    return dt.datetime.combine(day, dt.time(3, 0), dt.UTC)


def inbox(world: World, username: str) -> list[str]:
    user = world.user(username)
    rows = world.session.execute(select(Notification).where(Notification.user_id == user.id)
                                 .order_by(Notification.id)).scalars()
    return [n.kind for n in rows]


def notes(world: World, request_id: int) -> list[tuple[str, dict, str | None]]:
    rows = world.session.execute(select(RequestTransition).where(
        RequestTransition.request_id == request_id).order_by(RequestTransition.id)).scalars()
    return [(r.trigger, json.loads(r.details), r.reason) for r in rows]


def overdue_list(world: World, username: str, day: dt.date) -> list[str]:
    actor = Actor(world.user(username), "127.0.0.1", on(day))
    return [r.number for r in world.act(queries.list_requests, actor, "overdue")]


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
    triggers = [t for t, _, _ in notes(world, request.id)]
    assert triggers[-2:] == ["due_soon", "overdue"]


def test_returned_request_expires_when_never_supplemented(world):
    request = ask(world, "requester.vks", person_with_stage(world, None))
    world.act(decisions.return_for_supplement, FLOW, world.actor("approver.hanoi"), request.id,
              reason="Thiếu văn bản đề nghị có chữ ký")
    assert request.number not in world.act(deadlines.sweep, FLOW, at(dt.date(2026, 12, 14))).expired
    report = world.act(deadlines.sweep, FLOW, at(dt.date(2026, 12, 16)))
    assert request.number in report.expired
    assert world.reload(request.id).state is RequestState.EXPIRED
    assert inbox(world, "requester.vks")[-1] == "expired"


def test_the_clock_stops_while_returned_and_the_due_date_moves_by_the_paused_days(world):
    request = ask(world, "requester.vks", person_with_stage(world, None))
    world.act(decisions.return_for_supplement, FLOW,
              world.actor("approver.hanoi", on(dt.date(2026, 11, 26))),  # Thu, 3 days left
              request.id, reason="Bổ sung số công văn đề nghị")
    returned = world.reload(request.id)
    assert clock.open_pause(returned).why == "returned" and returned.paused_at is not None
    # Monday 7/12, after the first due date (1/12): 7 working days were paused.
    world.act(filing.submit, FLOW, world.actor("requester.vks", on(dt.date(2026, 12, 7))),
              request.id)
    request = world.reload(request.id)
    assert request.due_on == dt.date(2026, 12, 10) and request.paused_at is None
    assert request.deadline["pauses"] == [{"from": "2026-11-26", "to": "2026-12-07",
                                           "why": "returned"}]
    assert [s.due_on for s in request.open_steps()] == [dt.date(2026, 12, 10)]
    timeline = notes(world, request.id)
    stopped = next(d for t, d, _ in timeline if t == "clock_stopped")
    resumed = next(d for t, d, _ in timeline if t == "clock_resumed")
    assert stopped == {"due": "2026-12-01", "why": "returned"}
    assert resumed["paused_working_days"] == 7 and resumed["due_before"] == "2026-12-01"
    assert resumed["due"] == "2026-12-10"
    # Resubmitted after its first due date, it is not overdue: its paused time covers it.
    assert request.number not in world.act(deadlines.sweep, FLOW,
                                           at(dt.date(2026, 12, 9))).overdue
    assert request.number not in overdue_list(world, "requester.vks", dt.date(2026, 12, 9))
    assert request.number in world.act(deadlines.sweep, FLOW, at(dt.date(2026, 12, 11))).overdue


def test_a_configured_consent_wait_stops_the_clock_and_the_default_does_not(world, app):
    assert app.extensions["custody_workflow"].consent_stops_clock is False
    stopping = kernel.Workflow(consent_stops_clock=True)
    person = person_with_stage(world, CaseStage.INVESTIGATION)
    filed = world.act(filing.file_request, world.actor("requester.vks"), RequestInput(
        channel=Channel.NETWORK, subject_kind=SubjectKind.PERSON, provision=ProvisionForm.PDF,
        purpose="Phục vụ kiểm sát việc tạm giam theo quy định",
        legal_basis="Điều 12 Nghị định 121/2017/NĐ-CP", categories=["a_orders"],
        identity_number=person.identifiers[-1].value))
    paused = world.act(filing.submit, stopping, world.actor("requester.vks"), filed.id)
    assert paused.deadline["consent_stops_clock"] is True
    world.act(decisions.approve, world.actor("approver.hanoi"), paused.id)
    paused = world.reload(paused.id)
    assert paused.state is RequestState.AWAITING_CONSENT and paused.paused_at is not None
    assert clock.open_pause(paused).why == "consent"
    running = ask(world, "requester.vks", person)
    world.act(decisions.approve, world.actor("approver.hanoi"), running.id)
    running = world.reload(running.id)
    assert running.state is RequestState.AWAITING_CONSENT and running.paused_at is None
    report = world.act(deadlines.sweep, FLOW, at(dt.date(2026, 12, 2)))
    assert running.number in report.overdue and paused.number not in report.overdue
    listed = overdue_list(world, "requester.vks", dt.date(2026, 12, 2))
    assert running.number in listed and paused.number not in listed
    assert clock.is_overdue(running, dt.date(2026, 12, 2))
    assert not clock.is_overdue(paused, dt.date(2026, 12, 2))
    # The consent ends the wait: the pause is closed on the timeline's terms.
    world.act(decisions.grant_consent, FLOW, world.actor("consent.hanoi"), paused.id,
              letter_ref="CV 12/CSĐT")
    paused = world.reload(paused.id)
    assert paused.paused_at is None and clock.open_pause(paused) is None
    assert ("clock_stopped", {"due": "2026-12-01", "why": "consent"}, None) in notes(
        world, paused.id)


def test_extensions_stack_each_with_its_reason_until_the_allowance_is_used(world):
    request = ask(world, "requester.vks", person_with_stage(world, None))
    approver = world.actor("approver.hanoi")
    assert "extend" in allowed_actions(world.session, approver, request)
    world.act(deadlines.extend_deadline, FLOW, approver, request.id, working_days=5,
              reason="Cần xác minh thêm với trại tạm giam")
    assert world.reload(request.id).due_on == dt.date(2026, 12, 8)
    with pytest.raises(InvalidInput):  # 10 working days are left of the 15 allowed
        world.act(deadlines.extend_deadline, FLOW, approver, request.id, working_days=11,
                  reason="Chờ kết quả giám định bổ sung")
    world.act(deadlines.extend_deadline, FLOW, approver, request.id,
              reason="Chờ kết quả giám định bổ sung")
    request = world.reload(request.id)
    assert request.extended and request.due_on == dt.date(2026, 12, 22)
    assert [(e["working_days"], e["reason"]) for e in request.deadline["extensions"]] == [
        (5, "Cần xác minh thêm với trại tạm giam"), (10, "Chờ kết quả giám định bổ sung")]
    extended = [(d["working_days"], d["due"], reason) for t, d, reason
                in notes(world, request.id) if t == "extend"]
    assert extended == [(5, "2026-12-08", "Cần xác minh thêm với trại tạm giam"),
                        (10, "2026-12-22", "Chờ kết quả giám định bổ sung")]
    assert "extend" not in allowed_actions(world.session, approver, request)
    with pytest.raises(Conflict):
        world.act(deadlines.extend_deadline, FLOW, approver, request.id,
                  reason="Gia hạn lần thứ ba")


def test_an_overdue_request_that_was_extended_is_not_overdue(world):
    request = ask(world, "requester.vks", person_with_stage(world, None))
    assert request.number in world.act(deadlines.sweep, FLOW, at(dt.date(2026, 12, 3))).overdue
    assert request.number in overdue_list(world, "requester.vks", dt.date(2026, 12, 3))
    world.act(deadlines.extend_deadline, FLOW,
              world.actor("approver.hanoi", on(dt.date(2026, 12, 3))), request.id,
              working_days=2, reason="Chờ trại tạm giam gửi lại hồ sơ")
    request = world.reload(request.id)
    assert request.due_on == dt.date(2026, 12, 7)  # from the day it was decided: Fri, Mon
    assert not clock.is_overdue(request, dt.date(2026, 12, 4))
    assert request.number not in overdue_list(world, "requester.vks", dt.date(2026, 12, 4))
    assert request.number not in world.act(deadlines.sweep, FLOW,
                                           at(dt.date(2026, 12, 4))).overdue


def test_no_extension_while_the_clock_is_stopped(world):
    request = ask(world, "requester.vks", person_with_stage(world, None))
    world.act(decisions.return_for_supplement, FLOW, world.actor("approver.hanoi"), request.id,
              reason="Bổ sung số công văn đề nghị")
    with pytest.raises((Conflict, Forbidden)):
        world.act(deadlines.extend_deadline, FLOW, world.actor("approver.hanoi"), request.id,
                  reason="Cần xác minh thêm với trại")


def test_a_calendar_change_moves_every_open_due_date_and_says_so_on_its_timeline(world):
    person = person_with_stage(world, None)
    running = ask(world, "requester.vks", person)
    returned = ask(world, "requester.vks", person)
    world.act(decisions.return_for_supplement, FLOW, world.actor("approver.hanoi"),
              returned.id, reason="Bổ sung số công văn đề nghị")
    withdrawn = ask(world, "requester.vks", person)
    world.act(decisions.withdraw, world.actor("requester.vks"), withdrawn.id)
    reason = "Thông báo 6150/TB-BLĐTBXH: nghỉ bù"
    report = world.act(calendar.change_day, FLOW, CLI, dt.date(2026, 11, 27),
                       CalendarChange.DAY_OFF, reason)
    moved = {number: after for number, _, after in report.moved}  # the demo's too
    assert moved[running.number] == moved[returned.number] == dt.date(2026, 12, 2)
    assert withdrawn.number not in moved
    assert world.reload(withdrawn.id).due_on == dt.date(2026, 12, 1)
    note = [d for t, d, _ in notes(world, returned.id) if t == "calendar"]
    assert note == [{"day": "2026-11-27", "change": "day_off", "reason": reason,
                     "due_before": "2026-12-01", "due": "2026-12-02"}]
    skipped = {s["day"]: s for s in world.reload(running.id).deadline["skipped"]}
    assert skipped["2026-11-27"] == {"day": "2026-11-27", "reason": reason, "kind": "day_off"}
    # Withdrawn by a new row: the day counts again.
    world.act(calendar.change_day, FLOW, CLI, dt.date(2026, 11, 27), CalendarChange.WITHDRAWN,
              "Thông báo đính chính 6151/TB")
    assert world.reload(running.id).due_on == dt.date(2026, 12, 1)
    # A working Saturday: one day earlier.
    world.act(calendar.change_day, FLOW, CLI, dt.date(2026, 11, 28),
              CalendarChange.WORKING_DAY, "Làm bù cho ngày nghỉ 2/1")
    running = world.reload(running.id)
    assert running.due_on == dt.date(2026, 11, 30)
    assert running.deadline["worked"] == [{"day": "2026-11-28", "kind": "working_day",
                                           "reason": "Làm bù cho ngày nghỉ 2/1"}]
    rows = calendar.calendar_changes(world.session)
    assert [(r.day.day, r.change.value) for r in rows] == [
        (27, "day_off"), (27, "withdrawn"), (28, "working_day")]
    actions = world.session.scalars(select(AuditEntry.action).where(
        AuditEntry.action.like("calendar.%")).order_by(AuditEntry.seq)).all()
    assert actions == ["calendar.day_off", "calendar.withdrawn", "calendar.working_day"]


def test_calendar_changes_are_refused_when_they_change_nothing_or_come_from_an_account(world):
    with pytest.raises(InvalidInput):  # a Sunday is off already
        world.act(calendar.change_day, FLOW, CLI, dt.date(2026, 11, 29),
                  CalendarChange.DAY_OFF, "Nghỉ bù theo thông báo")
    with pytest.raises(InvalidInput):  # nothing recorded for that day
        world.act(calendar.change_day, FLOW, CLI, dt.date(2026, 12, 3),
                  CalendarChange.WITHDRAWN, "Hủy theo thông báo")
    with pytest.raises(Forbidden):
        world.act(calendar.change_day, FLOW, world.actor("admin"), dt.date(2026, 12, 3),
                  CalendarChange.DAY_OFF, "Nghỉ bù theo thông báo")
    assert calendar.calendar_changes(world.session) == []


def test_calendar_rows_are_never_changed_or_deleted(world, db):
    world.act(calendar.change_day, FLOW, CLI, dt.date(2026, 12, 4), CalendarChange.DAY_OFF,
              "Nghỉ bù theo thông báo")
    for statement in ("UPDATE calendar_day SET reason = 'x'", "DELETE FROM calendar_day"):
        with pytest.raises(DatabaseError, match="append-only"):
            db.execute(text(statement))
    assert db.scalar(select(CalendarDay.reason)) == "Nghỉ bù theo thông báo"


def test_the_calendar_command_adds_withdraws_and_lists_each_change_audited(runner, world):
    request = ask(world, "requester.vks", person_with_stage(world, None))
    world.session.rollback()
    result = runner.invoke(args=["calendar", "add-day-off", "2026-11-27", "--reason",
                                 "Thông báo 6150/TB-BLĐTBXH: nghỉ bù"])
    assert result.exit_code == 0, result.output
    assert f"{request.number}: due 01/12/2026 -> 02/12/2026" in result.output
    result = runner.invoke(args=["calendar", "add-working-day", "28/11/2026", "--reason",
                                 "Làm bù cho ngày 27/11"])
    assert result.exit_code == 0 and f"{request.number}: due 02/12/2026 -> 01/12/2026" in (
        result.output)
    result = runner.invoke(args=["calendar", "withdraw", "2026-11-28", "--reason",
                                 "Đính chính thông báo"])
    assert result.exit_code == 0, result.output
    refused = runner.invoke(args=["calendar", "add-day-off", "2026-11-29", "--reason",
                                  "Chủ nhật thử"])
    assert refused.exit_code == 1 and "already a day off" in refused.output
    listing = runner.invoke(args=["calendar", "list"]).output
    assert "27/11/2026  day_off" in listing and "28/11/2026  working_day" in listing
    assert "28/11/2026  withdrawn" in listing and "Đính chính thông báo" in listing
    world.session.expire_all()
    assert world.reload(request.id).due_on == dt.date(2026, 12, 2)
    actions = world.session.scalars(select(AuditEntry.action).where(
        AuditEntry.action.like("calendar.%") | (AuditEntry.action == "access.refused"))
        .order_by(AuditEntry.seq)).all()
    assert actions[-4:] == ["calendar.day_off", "calendar.working_day", "calendar.withdrawn",
                            "access.refused"]


def test_the_request_page_explains_the_deadline(client, auth, world):
    request = ask(world, "requester.vks", person_with_stage(world, None))
    world.act(deadlines.extend_deadline, FLOW, world.actor("approver.hanoi"), request.id,
              working_days=5, reason="Cần xác minh thêm với trại tạm giam")
    world.act(calendar.change_day, FLOW, CLI, dt.date(2026, 11, 27), CalendarChange.DAY_OFF,
              "Thông báo 6150/TB: nghỉ bù")
    world.act(decisions.return_for_supplement, FLOW,
              world.actor("approver.hanoi", on(dt.date(2026, 11, 30))), request.id,
              reason="Bổ sung số công văn đề nghị")
    world.act(filing.submit, FLOW, world.actor("requester.vks", on(dt.date(2026, 12, 2))),
              request.id)
    # 5 + 5 working days from 24/11: 25, 26, 30 (27 off), stopped 1–2/12, then 3, 4, 7, 8, 9,
    # 10, 11.
    request_id = request.id
    assert world.reload(request_id).due_on == dt.date(2026, 12, 11)
    world.session.rollback()  # the page's transaction must not wait for this one
    auth.login("approver.hanoi")
    page = client.get(f"/requests/{request_id}").data.decode()
    assert "Cách tính thời hạn" in page
    assert "Tính 10 ngày làm việc kể từ ngày 24/11/2026: hạn 11/12/2026." in page
    assert "Trong đó 5 ngày là thời hạn giải quyết và 5 ngày được gia hạn thêm." in page
    assert "ngày nghỉ theo quyết định: Thông báo 6150/TB: nghỉ bù" in page
    assert "ngày nghỉ cuối tuần" in page
    assert ("30/11/2026 – 02/12/2026, trả lại để bổ sung: không tính 2 ngày làm việc."
            in page)
    assert "Cần xác minh thêm với trại tạm giam" in page
    assert "thêm 5 ngày làm việc: hạn 01/12/2026 → 08/12/2026" in page  # the timeline
    assert "không tính 2 ngày làm việc: hạn" in page


def test_an_approver_extends_on_the_page_by_the_days_they_choose(client, auth, world):
    request = ask(world, "requester.vks", person_with_stage(world, None))
    version = request.version
    world.session.rollback()  # the page's transaction must not wait for this one
    auth.login("approver.hanoi")
    location = f"/requests/{request.id}"
    assert 'name="extend-working_days"' in client.get(location).data.decode()
    response = client.post(location, data={
        "action": "extend", "version": version,
        "extend-reason": "Cần xác minh thêm với trại tạm giam", "extend-working_days": "3"})
    assert response.status_code == 302 and "/done/extend" in response.location
    request = world.reload(request.id)
    today = Actor(None, now=utcnow()).today
    assert request.due_on == WorkCalendar().add(max(dt.date(2026, 12, 1), today), 3).due
    assert request.deadline["extensions"][0]["working_days"] == 3


def test_the_api_refuses_a_token_the_extension_as_every_decision(client, app, world):
    headers = system_token(app, "system.vks", "VKS-HANOI", "requester")
    request = ask(world, "requester.vks", person_with_stage(world, None))
    version = request.version
    world.session.rollback()
    response = client.post(f"/api/v1/requests/{request.id}/extend", headers=headers, json={
        "version": version, "reason": "Cần xác minh thêm với trại tạm giam"})
    assert response.status_code == 404  # not the token's request: not even seen
    spec = client.get("/api/v1/openapi.json", headers=headers).get_json()
    assert "post" in spec["paths"]["/api/v1/requests/{request_id}/extend"]
    assert world.reload(request.id).deadline["extensions"] == []


def test_sweep_command(runner):
    result = runner.invoke(args=["sweep"])
    assert result.exit_code == 0 and "overdue:" in result.output


def test_the_migration_keeps_earlier_deadlines_as_pauses_and_extensions(app, world):
    request = ask(world, "requester.vks", person_with_stage(world, None))
    world.act(decisions.return_for_supplement, FLOW,
              world.actor("approver.hanoi", on(dt.date(2026, 11, 26))), request.id,
              reason="Bổ sung số công văn đề nghị")
    world.act(filing.submit, FLOW, world.actor("requester.vks", on(dt.date(2026, 12, 7))),
              request.id)
    request = world.reload(request.id)
    request_id = request.id
    # As the code before 0025 left it: restarted with the days left, extended once.
    request.deadline_json = json.dumps({
        "rule_version": request.rule_version, "start": "2026-12-07", "working_days": 3,
        "due": "2026-12-31", "skipped": [], "resumed_with": 3,
        "extension": {"reason": "Cần xác minh thêm với trại", "working_days": 15,
                      "due": "2026-12-31", "skipped": []}})
    world.session.commit()
    world.session.close()
    engine = app.extensions["custody_engine"]
    upgrade(engine, "0026")
    upgrade(engine)
    request = world.reload(request_id)
    assert request.deadline["pauses"] == [{"from": "2026-11-26", "to": "2026-12-07",
                                           "why": "returned"}]
    assert request.deadline["extensions"] == [{"working_days": 15, "on": "2026-12-07",
                                               "reason": "Cần xác minh thêm với trại"}]
    assert "extension" not in request.deadline and clock.extension_left(request) == 0
    assert clock.reckon(request, WorkCalendar()).due == dt.date(2026, 12, 31)
