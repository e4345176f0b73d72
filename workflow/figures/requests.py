"""Figures on the access requests of a scope: volume by kind of requester, decisions, time spent in
each state, the share answered within the deadline, and what is overdue where."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from workflow.context import vietnam_day, vn_midnight
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
    median_days: float
    mean_days: float


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
        return self.answered_in_time / self.answered if self.answered else None


def figures(session: Session, org_ids: set[int] | None, start: dt.date, end: dt.date,
            today: dt.date) -> RequestFigures:
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
    by_requester: Counter = Counter()
    for r in requests:
        by_requester[DETAINED_PERSON if r.on_behalf_of_id else kinds[r.requester_org_id].value] += 1
    labels = {k.value: k.label for k in OrgKind} | {DETAINED_PERSON: DETAINED_PERSON_LABEL}
    transitions = _transitions(session, request_ids)
    answered = in_time = 0
    for r in requests:
        answer = next((t.at for t in transitions.get(r.id, []) if t.to_state in ANSWERS), None)
        if answer is not None:
            answered += 1
            in_time += r.due_on is None or vietnam_day(answer) <= r.due_on
    return RequestFigures(
        start, end, len(requests),
        [(key, labels[key], n) for key, n in by_requester.most_common()],
        _decisions(session, request_ids, low, high),
        _state_times(transitions), answered, in_time,
        _overdue(session, org_ids, today))


def _transitions(session: Session, request_ids: list[int]) -> dict[int, list[RequestTransition]]:
    timeline: dict[int, list[RequestTransition]] = defaultdict(list)
    if request_ids:
        for t in session.scalars(select(RequestTransition).where(
                RequestTransition.request_id.in_(request_ids)).order_by(
                RequestTransition.request_id, RequestTransition.at, RequestTransition.id)):
            timeline[t.request_id].append(t)
    return timeline


def _decisions(session: Session, request_ids: list[int], low: dt.datetime,
               high: dt.datetime) -> list[tuple[StepKind, StepOutcome, int]]:
    counts: Counter = Counter()
    if request_ids:
        for kind, outcome in session.execute(select(RequestStep.kind, RequestStep.outcome).where(
                RequestStep.request_id.in_(request_ids),
                RequestStep.outcome.in_([StepOutcome.GRANTED.value, StepOutcome.REFUSED.value]),
                RequestStep.decided_at >= low, RequestStep.decided_at < high)):
            counts[(kind, outcome)] += 1
    return [(kind, outcome, counts[(kind, outcome)]) for kind in StepKind
            for outcome in (StepOutcome.GRANTED, StepOutcome.REFUSED)]


def _state_times(timeline: dict[int, list[RequestTransition]]) -> list[StateTime]:
    """Each finished stay: from the transition into a state to the next one out of it."""
    stays: dict[RequestState, list[float]] = defaultdict(list)
    for steps in timeline.values():
        for into, out in zip(steps, steps[1:], strict=False):
            stays[into.to_state].append((out.at - into.at).total_seconds() / 86400)
    return [StateTime(state, len(days), round(statistics.median(days), 2),
                      round(statistics.fmean(days), 2))
            for state in RequestState if (days := stays.get(state))]


def _overdue(session: Session, org_ids: set[int] | None,
             today: dt.date) -> list[tuple[str, int]]:
    """Pending decisions past their due date, by the body that owes them."""
    stmt = (select(Organisation.name, RequestStep.id)
            .join(Organisation, Organisation.id == RequestStep.org_id)
            .join(AccessRequest, AccessRequest.id == RequestStep.request_id)
            .where(RequestStep.outcome == StepOutcome.PENDING.value,
                   AccessRequest.state.in_([s.value for s in OPEN]),
                   RequestStep.due_on < today, AccessRequest.paused_at.is_(None)))
    if org_ids is not None:
        stmt = stmt.where(RequestStep.org_id.in_(sorted(org_ids)))
    counts = Counter(name for name, _ in session.execute(stmt))
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))
