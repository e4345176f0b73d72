"""Twenty approvers press "approve" at the same moment: exactly one decision is made."""

from __future__ import annotations

import threading

from sqlalchemy import select

from tests.worlds import NOW, World, ask, person_with_stage
from workflow.context import Actor
from workflow.db import make_engine, make_session_factory
from workflow.enums import Role
from workflow.errors import Conflict
from workflow.models import AuditEntry, RequestStep, RequestTransition, User
from workflow.requests import decisions
from workflow.requests.enums import RequestState, StepOutcome

APPROVERS = 20


def test_concurrent_approvers_make_exactly_one_decision(app, database_url):
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        names = [world.make_user(f"approver.{i:02d}", "CA-HANOI", Role.APPROVER).username
                 for i in range(APPROVERS)]
        person = person_with_stage(world, None)
        request_id = ask(world, "requester.vks", person).id

    engine = make_engine(database_url, pool_size=APPROVERS + 2)
    sessions = make_session_factory(engine)
    barrier = threading.Barrier(APPROVERS)
    outcomes: dict[str, str] = {}

    def press(username: str) -> None:
        with sessions() as s:
            user = s.execute(select(User).where(User.username == username)).scalar_one()
            actor = Actor(user, "127.0.0.1", NOW)
            s.commit()  # hold no lock while waiting for the others (SQLite would queue them)
            barrier.wait()
            try:
                decisions.approve(s, actor, request_id, note=f"by {username}")
                s.commit()
                outcomes[username] = "approved"
            except Conflict:
                s.rollback()
                outcomes[username] = "conflict"

    threads = [threading.Thread(target=press, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    with sessions() as s:
        steps = s.execute(select(RequestStep).where(RequestStep.request_id == request_id)
                          ).scalars().all()
        approvals = s.execute(select(RequestTransition).where(
            RequestTransition.request_id == request_id,
            RequestTransition.trigger == "approve")).scalars().all()
        audited = s.execute(select(AuditEntry).where(AuditEntry.action == "request.approve",
                                                     AuditEntry.object_id == str(request_id))
                            ).scalars().all()
        state = s.execute(select(RequestTransition.to_state).where(
            RequestTransition.request_id == request_id).order_by(RequestTransition.id.desc())
            .limit(1)).scalar_one()
    engine.dispose()
    assert sorted(outcomes.values()).count("approved") == 1
    assert sorted(outcomes.values()).count("conflict") == APPROVERS - 1
    assert len(approvals) == 1 and len(audited) == 1
    winner = next(n for n, o in outcomes.items() if o == "approved")
    assert approvals[0].reason == f"by {winner}"
    assert [s.outcome for s in steps] == [StepOutcome.GRANTED]
    assert state is RequestState.APPROVED
