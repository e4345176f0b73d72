"""Where a person's own request stands, as plain dated steps (no codes, no diagram)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from workflow.context import vietnam_day
from workflow.i18n import N_
from workflow.models import AccessRequest
from workflow.requests.enums import RequestState as S

WAITING = frozenset({S.SUBMITTED, S.AWAITING_APPROVAL, S.AWAITING_CONSENT})
ENDED = frozenset({S.WITHDRAWN, S.CLOSED, S.EXPIRED})
# What comes after approval, in the person's words.
READY = N_("Your copy of the records is ready — ask the staff to receive it.")


@dataclass(frozen=True)
class Step:
    """One line of the status: done (with its date), happening now, or still to come."""

    text: str
    on: dt.date | None = None
    state: str = "done"  # done, now or later


def _when(request: AccessRequest, *states: S) -> dt.date | None:
    times = [t.at for t in request.transitions if t.to_state in states]
    return vietnam_day(max(times)) if times else None


def plain_steps(request: AccessRequest) -> list[Step]:
    """The steps of the request so far and those to come."""
    steps = [Step(N_("Sent on %(date)s."),
                  vietnam_day(request.submitted_at or request.created_at))]
    state = request.state
    if state in WAITING and request.paused_at is not None:
        # The clock stops while a consent the law sets no time for is awaited: no date to give.
        return [*steps, Step(N_("Waiting for the body handling your case to agree. The date of "
                                "the answer will be set once it has."), None, "now"),
                Step(N_("Accepted."), None, "later"), Step(READY, None, "later")]
    if state in WAITING:
        return [*steps, Step(N_("Waiting for the records office to look at it. An answer is due "
                                "by %(date)s."), request.due_on, "now"),
                Step(N_("Accepted."), None, "later"), Step(READY, None, "later")]
    if state is S.RETURNED:
        return [*steps, Step(N_("On %(date)s the records office asked for more information — "
                                "ask the staff."), _when(request, S.RETURNED), "now")]
    if state is S.REFUSED:
        return [*steps, Step(N_("Not accepted on %(date)s — ask the staff why."),
                             _when(request, S.REFUSED), "now")]
    if state in ENDED:
        return [*steps, Step(N_("Ended on %(date)s."), _when(request, *ENDED), "now")]
    steps.append(Step(N_("Accepted on %(date)s."), _when(request, S.APPROVED)))
    if state is S.RELEASED:
        return [*steps, Step(READY, _when(request, S.RELEASED), "now")]
    return [*steps, Step(N_("Your copy is being prepared."), None, "now"),
            Step(READY, None, "later")]
