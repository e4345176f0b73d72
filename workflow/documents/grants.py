"""What a decided request was granted: the categories, the period and the secrecy level that the
approval and every consent allow together, and what was asked but withheld, with the reason."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from workflow.enums import Secrecy
from workflow.i18n import N_
from workflow.models import AccessRequest, RequestStep
from workflow.requests.enums import RequestCategory, StepKind, StepOutcome


@dataclass(frozen=True)
class Withheld:
    """A part that was asked for and is not provided: a message id and its parameters."""

    message: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Grant:
    """The effective grant of a request."""

    categories: tuple[str, ...]
    period_from: dt.date | None
    period_to: dt.date | None
    secrecy: Secrecy
    withheld: tuple[Withheld, ...]
    approval: RequestStep | None
    consents: tuple[RequestStep, ...]


def _latest_granted(request: AccessRequest, kind: StepKind) -> list[RequestStep]:
    granted = [s for s in request.steps if s.kind is kind and s.outcome is StepOutcome.GRANTED]
    if not granted:
        return []
    last_round = max(s.round for s in granted)
    if kind is StepKind.APPROVAL:
        return [s for s in granted if s.round == last_round]
    # Consents given in any round stay valid (a recheck adds only the missing ones); the
    # newest per case counts.
    newest: dict[int | None, RequestStep] = {}
    for step in granted:
        if step.case_id not in newest or step.id > newest[step.case_id].id:
            newest[step.case_id] = step
    return list(newest.values())


def grant_of(request: AccessRequest, requester_clearance: Secrecy) -> Grant:
    """The grant of an approved (or released) request."""
    asked = list(request.categories)
    approvals = _latest_granted(request, StepKind.APPROVAL)
    approval = approvals[-1] if approvals else None
    consents = tuple(_latest_granted(request, StepKind.CONSENT))
    allowed = set(asked)
    withheld: list[Withheld] = []
    refused_by: list[tuple[int, str, RequestStep]] = []
    for category in asked:
        label = RequestCategory(category).label
        if approval is not None and approval.granted is not None \
                and category not in approval.granted:
            allowed.discard(category)
            withheld.append(Withheld(N_("%(part)s: not approved by %(body)s "
                                        "(Decree 121/2017, Art. 12 §3a)."),
                                     {"part": label, "body": approval.org.name}))
            continue
        for consent in consents:
            if consent.granted is not None and category not in consent.granted:
                allowed.discard(category)
                refused_by.append((len(withheld), label, consent))
                withheld.append(Withheld("", {}))  # worded below, once the case part is known
                break
    # The case is named only when its own part is provided: a withheld line must not give
    # away what the case part withholds.
    for index, label, consent in refused_by:
        if consent.case is not None and RequestCategory.CASE.value in allowed:
            withheld[index] = Withheld(
                N_("%(part)s: %(body)s, which handles case %(case)s, did not consent to "
                   "providing it (Decree 121/2017, Art. 12 §3)."),
                {"part": label, "body": consent.org.name, "case": consent.case.number})
        else:
            withheld[index] = Withheld(
                N_("%(part)s: %(body)s, which handles the case, did not consent to providing "
                   "it (Decree 121/2017, Art. 12 §3)."),
                {"part": label, "body": consent.org.name})
    start, end = request.period_from, request.period_to
    if approval is not None:
        start, end = approval.granted_from or start, approval.granted_to or end
        if (start, end) != (request.period_from, request.period_to):
            withheld.append(Withheld(
                N_("Data outside the approved period %(start)s – %(end)s (the request asked "
                   "for %(asked_start)s – %(asked_end)s): not approved "
                   "(Decree 121/2017, Art. 12 §3a)."),
                {"start": start, "end": end, "asked_start": request.period_from,
                 "asked_end": request.period_to}))
    # The approver was checked for the clearance the route needed; without an approval, the
    # requester's own clearance is the limit.
    secrecy = (Secrecy(request.route.get("secrecy", "none")) if approval is not None
               else requester_clearance)
    if request.requester_org.kind.is_non_state:
        secrecy = Secrecy.NONE  # state secrets are not provided outside the state (§3b)
    return Grant(tuple(c for c in asked if c in allowed), start, end, secrecy,
                 tuple(withheld), approval, consents)
