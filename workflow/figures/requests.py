"""Figures on the access requests of a scope: volume by kind of requester, decisions, time spent in
each state, the share answered within the deadline, and what is overdue where. Counts are shown
as the `disclosure.Control` says (a request is a record: a detained person's own request is
one person); times in a state are given only over enough stays."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from workflow.context import vietnam_day, vn_midnight
from workflow.figures.disclosure import Control, Publish
from workflow.i18n import N_
from workflow.models import AccessRequest, Organisation, RequestStep, RequestTransition
from workflow.organisations.enums import OrgKind
from workflow.requests.enums import RequestState, StepKind, StepOutcome

DETAINED_PERSON = "detained_person"
DETAINED_PERSON_LABEL = N_("Detained person (own record)")
ANSWERS = frozenset({RequestState.APPROVED, RequestState.REFUSED, RequestState.RELEASED})
OPEN = frozenset({RequestState.SUBMITTED, RequestState.AWAITING_APPROVAL,
                  RequestState.AWAITING_CONSENT})


@dataclass(frozen=True)
class StateTime:
    """How long requests stayed in one state (finished stays), in days."""

    state: RequestState
    stays: int
    median_days: float | None  # None: too few stays to show a time that is not one request's
    mean_days: float | None


@dataclass(frozen=True)
class RequestFigures:
    """Everything the dashboard shows about requests for one scope and period."""

    start: dt.date
    end: dt.date
    filed: int
    by_requester: list[tuple[str, str, int]]          # key, label, count
    decisions: list[tuple[StepKind, StepOutcome, int]]
    state_times: list[StateTime]
    answered: int
    answered_in_time: int
    overdue: list[tuple[str, int]]                    # organisation name, pending steps overdue

    @property
    def in_time_share(self) -> float | None:
        """Share of answered requests answered by their due date."""
        # Perturbed figures may show more in time than answered.
        return min(self.answered_in_time / self.answered, 1.0) if self.answered else None


def figures(session: Session, org_ids: set[int] | None, start: dt.date, end: dt.date,
            today: dt.date, control: Control) -> RequestFigures:
    """Requests submitted in the period that the bodies `org_ids` filed or had to decide on
    (None: all of them)."""
    # Days are Vietnam's, as the due dates are.
    low, high = vn_midnight(start), vn_midnight(end + dt.timedelta(days=1))
    stmt = select(AccessRequest).where(AccessRequest.submitted_at >= low,
                                       AccessRequest.submitted_at < high)
    if org_ids is not None:
        ids = sorted(org_ids)
        stmt = stmt.where(or_(AccessRequest.requester_org_id.in_(ids), AccessRequest.id.in_(
            select(RequestStep.request_id).where(RequestStep.org_id.in_(ids)))))
    requests = list(session.scalars(stmt))
    request_ids = [r.id for r in requests]
    kinds = dict(session.execute(select(Organisation.id, Organisation.kind).where(
        Organisation.id.in_({r.requester_org_id for r in requests} or {-1}))).all())
    by_requester: dict[str, list[int]] = defaultdict(list)
    for r in requests:
        by_requester[DETAINED_PERSON if r.on_behalf_of_id else
                     kinds[r.requester_org_id].value].append(r.id)
    labels = {k.value: k.label for k in OrgKind} | {DETAINED_PERSON: DETAINED_PERSON_LABEL}
    transitions = _transitions(session, request_ids)
    answered, in_time = [], []
    for r in requests:
        answer = next((t.at for t in transitions.get(r.id, []) if t.to_state in ANSWERS), None)
        if answer is not None:
            answered.append(r.id)
            if r.due_on is None or vietnam_day(answer) <= r.due_on:
                in_time.append(r.id)
    shown = _shown(control, control.publisher("requests"))
    by_kind = sorted(((key, labels[key], shown(ids)) for key, ids in by_requester.items()),
                     key=lambda c: (-c[2], c[0]))
    return RequestFigures(
        start, end, shown(request_ids), [c for c in by_kind if c[2]],
        _decisions(session, request_ids, low, high,
                   _shown(control, control.publisher("decisions"))),
        _state_times(transitions, control.threshold,
                     _shown(control, control.publisher("stays"))),
        shown(answered), shown(in_time),
        _overdue(session, org_ids, today,
                 _shown(control, control.publisher("overdue"))))


def _shown(control: Control, publish: Publish):
    """A figure from the ids of the records it counts."""
    return lambda ids: publish(len(ids), control.keys.sum_of(ids))


def _transitions(session: Session, request_ids: list[int]) -> dict[int, list[RequestTransition]]:
    timeline: dict[int, list[RequestTransition]] = defaultdict(list)
    if request_ids:
        for t in session.scalars(select(RequestTransition).where(
                RequestTransition.request_id.in_(request_ids)).order_by(
                RequestTransition.request_id, RequestTransition.at, RequestTransition.id)):
            timeline[t.request_id].append(t)
    return timeline


def _decisions(session: Session, request_ids: list[int], low: dt.datetime,
               high: dt.datetime, shown) -> list[tuple[StepKind, StepOutcome, int]]:
    steps: dict[tuple, list[int]] = defaultdict(list)
    if request_ids:
        for kind, outcome, step_id in session.execute(select(
                RequestStep.kind, RequestStep.outcome, RequestStep.id).where(
                RequestStep.request_id.in_(request_ids),
                RequestStep.outcome.in_([StepOutcome.GRANTED.value, StepOutcome.REFUSED.value]),
                RequestStep.decided_at >= low, RequestStep.decided_at < high)):
            steps[(kind, outcome)].append(step_id)
    return [(kind, outcome, shown(steps[(kind, outcome)])) for kind in StepKind
            for outcome in (StepOutcome.GRANTED, StepOutcome.REFUSED)]


def _state_times(timeline: dict[int, list[RequestTransition]], threshold: int,
                 shown) -> list[StateTime]:
    """Each finished stay: from the transition into a state to the next one out of it; the
    median and mean of fewer than `threshold` stays are not given (they would be one
    request's time, or close to it)."""
    stays: dict[RequestState, dict[int, float]] = defaultdict(dict)
    for steps in timeline.values():
        for into, out in zip(steps, steps[1:], strict=False):
            stays[into.to_state][into.id] = (out.at - into.at).total_seconds() / 86400
    times = []
    for state in RequestState:
        if not (days := stays.get(state)) or not (n := shown(list(days))):
            continue
        values = list(days.values())
        times.append(StateTime(state, n, *((round(statistics.median(values), 2),
                                            round(statistics.fmean(values), 2))
                                           if len(values) >= threshold else (None, None))))
    return times


def _overdue(session: Session, org_ids: set[int] | None, today: dt.date,
             shown) -> list[tuple[str, int]]:
    """Pending decisions past their due date, by the body that owes them (a body whose figure
    shows as 0 is left out)."""
    stmt = (select(Organisation.name, RequestStep.id)
            .join(Organisation, Organisation.id == RequestStep.org_id)
            .join(AccessRequest, AccessRequest.id == RequestStep.request_id)
            .where(RequestStep.outcome == StepOutcome.PENDING.value,
                   AccessRequest.state.in_([s.value for s in OPEN]),
                   RequestStep.due_on < today, AccessRequest.paused_at.is_(None)))
    if org_ids is not None:
        stmt = stmt.where(RequestStep.org_id.in_(sorted(org_ids)))
    steps: dict[str, list[int]] = defaultdict(list)
    for name, step_id in session.execute(stmt):
        steps[name].append(step_id)
    counts = [(name, shown(ids)) for name, ids in steps.items()]
    return sorted(((name, n) for name, n in counts if n), key=lambda item: (-item[1], item[0]))
