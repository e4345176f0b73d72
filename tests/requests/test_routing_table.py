"""Article 12 §3 as a table: who asks, where the person is held, the stage of the case and who
handles it → the decisions the route needs (approval by the body that manages the facility,
consent of the body handling an open case) or direct access. Each row is planned by
`routing.plan_route` on the demo's organisation tree; the reasons of every row name the rule
set."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from tests.helpers import org
from tests.worlds import World
from workflow.models import Organisation, Person
from workflow.records import cases, corrections, episodes, persons
from workflow.records.enums import CaseStage, Measure, Sex
from workflow.requests.enums import StepKind, Urgency
from workflow.requests.routing import plan_route
from workflow.requests.rules import Rulebook
from workflow.requests.workdays import WorkCalendar

DAY = dt.date(2026, 11, 24)
A, C = StepKind.APPROVAL, StepKind.CONSENT
INV, PROS, TRIAL, CLOSED = (CaseStage.INVESTIGATION, CaseStage.PROSECUTION, CaseStage.TRIAL,
                            CaseStage.CLOSED)
HANDLERS = {INV: "CSDT-{p}", PROS: "VKS-{p}", TRIAL: "TA-{p}"}
CLERKS = {"HANOI": "clerk.hanoi", "HOCHIMINH": "clerk.hcm"}

# requester, facility's province, stage (None: no case), own scope → steps (kind, body code)
ROWS = [
    # Outside the requester's scope: the managing body approves; an open case adds a consent.
    ("VKS-HANOI", "HANOI", None, True, [(A, "CA-HANOI")]),
    ("VKS-HANOI", "HANOI", CLOSED, True, [(A, "CA-HANOI")]),
    ("VKS-HANOI", "HANOI", INV, True, [(A, "CA-HANOI"), (C, "CSDT-HANOI")]),
    ("VKS-HANOI", "HANOI", TRIAL, True, [(A, "CA-HANOI"), (C, "TA-HANOI")]),
    # The requester handles the case itself: its own consent is not asked.
    ("VKS-HANOI", "HANOI", PROS, True, [(A, "CA-HANOI")]),
    ("VKS-HANOI", "HOCHIMINH", INV, True, [(A, "CA-HOCHIMINH"), (C, "CSDT-HOCHIMINH")]),
    ("TA-HOCHIMINH", "HANOI", TRIAL, True, [(A, "CA-HANOI"), (C, "TA-HANOI")]),
    # Another province's managing body is outside the scope too.
    ("CA-HOCHIMINH", "HANOI", None, True, [(A, "CA-HANOI")]),
    ("CA-HOCHIMINH", "HANOI", INV, True, [(A, "CA-HANOI"), (C, "CSDT-HANOI")]),
    # Within the scope: direct access (the rules ask no consent inside one's own scope) —
    # the province's body and the central department above it.
    ("CA-HANOI", "HANOI", None, True, []),
    ("CA-HANOI", "HANOI", INV, True, []),
    ("C11", "HOCHIMINH", TRIAL, True, []),
    # A detained person's own request, filed by the facility's own body: decided by it.
    ("CA-HANOI", "HANOI", None, False, [(A, "CA-HANOI")]),
    ("CA-HANOI", "HANOI", INV, False, [(A, "CA-HANOI"), (C, "CSDT-HANOI")]),
]


def _person(world: World, province: str, stage: CaseStage | None) -> Person:
    """A person received today at the province's camp, with no case (stage None) or one case
    at `stage` (every demo person there has a case already)."""
    clerk = world.actor(CLERKS[province])
    person = world.act(persons.create_person, clerk, persons.PersonInput(
        full_name="Trần Văn Tuyến", birth_date=dt.date(1990, 3, 12), sex=Sex.MALE),
        episodes.EpisodeInput(facility_id=org(world.session, f"TTG-{province}").id,
                              measure=Measure.DETENTION, start_date=dt.date(2026, 11, 1),
                              legal_basis="LTG 1/2026"))
    if stage is None:
        return world.session.get(Person, person.id)
    handler = HANDLERS.get(stage)
    case = world.act(cases.create_case, clerk, number=f"RT/{person.id}/{stage.value}",
                     title="Vụ án thử", charges="Điều 173 BLHS", opened_on=dt.date(2026, 1, 5),
                     stage=stage, handling_org_id=org(world.session, handler.format(
                         p=province)).id if handler else None)
    episode = person.episodes[-1]
    world.act(corrections.correct, clerk, "episode", episode.id, {"case_id": case.id},
              reason="Gắn vụ án để thử", expected_version=episode.version)
    world.session.expire_all()
    return world.session.get(Person, person.id)


@pytest.mark.parametrize(("requester", "province", "stage", "own", "expected"), ROWS)
def test_the_route_of_each_case(module_app, requester, province, stage, own, expected):
    with module_app.extensions["custody_sessions"]() as session:
        world = World(session)
        person = _person(world, province, stage)
        route = plan_route(session, Rulebook().on(DAY), WorkCalendar(),
                           requester_org=org(session, requester), person=person,
                           categories=["a_orders", "episodes"], period_from=None,
                           period_to=None, urgency=Urgency.NORMAL, day=DAY, own_scope=own)
        codes = dict(session.execute(select(Organisation.id, Organisation.code)).all())
        steps = [(s.kind, codes[s.org_id]) for s in route.steps]
        assert steps == expected
        assert route.direct == (not expected)
        assert route.rule_version and route.reasons[0].params["rules"]
        if stage in HANDLERS and any(kind is C for kind, _ in expected):
            consent = next(s for s in route.steps if s.kind is C)
            assert consent.case_number == f"RT/{person.id}/{stage.value}"
            assert consent.stage == stage.value
        session.rollback()


@pytest.mark.parametrize(("requester", "clause"), [
    ("VKS-HANOI", "§3b"), ("TA-HOCHIMINH", "§3b"), ("CSDT-HOCHIMINH", "§3b"),
    ("CA-HOCHIMINH", "§3a"), ("TTG-HOCHIMINH", "§3a")])
def test_outside_the_scope_the_clause_follows_who_asks(module_app, requester, clause):
    """Art. 12 §3: the bodies that build and keep the database use it under (a); procuracies,
    courts, investigation agencies and every other body under (b)."""
    with module_app.extensions["custody_sessions"]() as session:
        person = _person(World(session), "HANOI", None)
        route = plan_route(session, Rulebook().on(DAY), WorkCalendar(),
                           requester_org=org(session, requester), person=person,
                           categories=["episodes"], period_from=None, period_to=None,
                           urgency=Urgency.NORMAL, day=DAY)
        [approval] = [r.message for r in route.reasons if "must approve" in r.message]
        assert approval.endswith(f"(Art. 12 {clause}).")
        session.rollback()


# The gates of a request as a table: a request of the Hà Nội procuracy about a person held in
# Hà Nội whose case is under investigation, routed to the Hà Nội police (approval) and the
# investigation agency (consent). account → (view, decide, consent, release, file, lists).
GATES = {
    "requester.vks": (True, False, False, False, True, ["mine", "overdue"]),
    "approver.hanoi": (True, True, False, False, False, ["approval", "overdue"]),
    "consent.hanoi": (True, False, True, False, False, ["consent"]),
    "clerk.hanoi": (False, False, False, False, True, ["mine"]),
    "clerk.hcm": (False, False, False, False, True, ["mine"]),
    # Managers file for their body (Art. 12 §2a) and follow what they filed.
    "manager.hanoi": (False, False, False, False, True, ["mine"]),
    "manager.central": (False, False, False, False, True, ["mine"]),
    "inspector": (False, False, False, False, False, []),
    "admin": (False, False, False, False, False, []),
    "detainee.demo": (False, False, False, False, True, ["mine"]),
}


def test_the_gates_of_a_request_for_every_account(app):
    from tests.worlds import ask, person_with_stage
    from workflow.models import User
    from workflow.requests import policy

    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        request = ask(world, "requester.vks", person_with_stage(world, INV))
        answers = {}
        for username in GATES:
            user = session.scalars(select(User).where(User.username == username)).one()
            answers[username] = (
                policy.can_view(session, user, request, DAY),
                policy.can_decide(session, user, request, DAY),
                policy.can_consent(session, user, request, DAY),
                policy.can_release(session, user, request, DAY),
                policy.can_file(user), policy.lists_of(user))
            user.active = False  # a disabled account passes none of them
            assert not any(answers_of := (
                policy.can_view(session, user, request, DAY),
                policy.can_decide(session, user, request, DAY),
                policy.can_consent(session, user, request, DAY),
                policy.can_file(user))), (username, answers_of)
        session.rollback()
    assert answers == GATES
