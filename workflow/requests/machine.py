"""The request state machine as data: each row is a transition (trigger, sources, destination,
conditions, who may fire it). `transitions` runs it; there are no automatic `to_<state>` triggers,
so nothing can reach a state except through a row of this table."""

from __future__ import annotations

from workflow.i18n import N_
from workflow.lifecycle import Lifecycle, Row
from workflow.models import AccessRequest
from workflow.requests.enums import RequestState as S
from workflow.requests.enums import StepKind


class Who:
    """Who may fire a transition (checked by `workflow.requests` policies)."""

    REQUESTER = "requester"
    APPROVER = "approver"
    CONSENT_OFFICER = "consent_officer"
    DECIDER = "decider"  # an approver or a consent officer on the request's route
    RELEASER = "releaser"  # the approving body, or the requester of a direct-access request
    SYSTEM = "system"


# What each trigger is called, on the pages, in the timeline and on the diagram: said once.
LABELS: dict[str, str] = {
    "submit": N_("submit"), "resubmit": N_("resubmit"), "approve": N_("approve"),
    "refuse": N_("refuse"), "grant_consent": N_("grant consent"),
    "refuse_consent": N_("refuse consent"), "return_for_supplement": N_("return for supplement"),
    "withdraw": N_("withdraw"), "recheck": N_("stage changed: consent needed"),
    "reroute": N_("moved under another managing body: a new decision"),
    "release": N_("release"), "close": N_("close"), "expire": N_("expire"),
}


OPEN_REVIEW = (S.AWAITING_APPROVAL, S.AWAITING_CONSENT)
TABLE: tuple[Row, ...] = (
    Row("submit", (S.DRAFT,), S.SUBMITTED, Who.REQUESTER),
    Row("resubmit", (S.RETURNED,), S.SUBMITTED, Who.REQUESTER),
    Row("route", (S.SUBMITTED,), S.AWAITING_APPROVAL, Who.SYSTEM, ("approval_pending",),
        label=N_("route: approval needed")),
    Row("route", (S.SUBMITTED,), S.AWAITING_CONSENT, Who.SYSTEM, ("consent_pending",),
        label=N_("route: consent needed")),
    Row("route", (S.SUBMITTED,), S.APPROVED, Who.SYSTEM, label=N_("route: direct access")),
    Row("approve", (S.AWAITING_APPROVAL,), S.AWAITING_CONSENT, Who.APPROVER,
        ("consent_pending",)),
    Row("approve", (S.AWAITING_APPROVAL,), S.APPROVED, Who.APPROVER),
    Row("refuse", (S.AWAITING_APPROVAL,), S.REFUSED, Who.APPROVER),
    # Consent may come before or after the approval; the request stays with the approver
    # until the approval is given.
    Row("grant_consent", (S.AWAITING_APPROVAL,), S.AWAITING_APPROVAL, Who.CONSENT_OFFICER),
    Row("grant_consent", (S.AWAITING_CONSENT,), S.AWAITING_CONSENT, Who.CONSENT_OFFICER,
        ("consent_pending",)),
    Row("grant_consent", (S.AWAITING_CONSENT,), S.APPROVED, Who.CONSENT_OFFICER),
    Row("refuse_consent", OPEN_REVIEW, S.REFUSED, Who.CONSENT_OFFICER),
    Row("return_for_supplement", OPEN_REVIEW, S.RETURNED, Who.DECIDER),
    Row("withdraw", (S.DRAFT, S.SUBMITTED, S.AWAITING_APPROVAL, S.AWAITING_CONSENT,
                     S.RETURNED, S.APPROVED), S.WITHDRAWN, Who.REQUESTER),
    # At release the case stage is checked again (Art. 12 §3): a new consent may be needed.
    Row("recheck", (S.APPROVED,), S.AWAITING_CONSENT, Who.RELEASER, ("consent_pending",)),
    # ... and the scope: a person now under another managing body needs its decision.
    Row("reroute", (S.APPROVED,), S.AWAITING_APPROVAL, Who.RELEASER, ("approval_pending",)),
    Row("release", (S.APPROVED,), S.RELEASED, Who.RELEASER, unless=("consent_pending",)),
    Row("close", (S.RELEASED,), S.CLOSED, Who.REQUESTER),
    Row("expire", (S.RETURNED,), S.EXPIRED, Who.SYSTEM),
)
LIFECYCLE = Lifecycle(S, TABLE, LABELS, initial=(S.DRAFT,),
                      refusal=N_("This action is not possible while the request is %(state)s."))
TRIGGERS = LIFECYCLE.triggers


def _facts(request: AccessRequest) -> dict:
    """What the rows' conditions look at: whether decisions of a kind are still open."""
    return {"approval_pending": lambda: any(s.kind is StepKind.APPROVAL
                                            for s in request.open_steps()),
            "consent_pending": lambda: any(s.kind is StepKind.CONSENT
                                           for s in request.open_steps())}


def allowed_triggers(request: AccessRequest) -> set[str]:
    """Triggers with a row leaving the request's current state (conditions not yet checked)."""
    return LIFECYCLE.allowed(request.state)


def rows_for(trigger: str, state: S) -> list[Row]:
    """The rows a trigger may take from a state, in the order they are tried."""
    return LIFECYCLE.rows_for(trigger, state)


def fire(request: AccessRequest, trigger: str) -> tuple[S, S]:
    """Fire a trigger on the request; raise Conflict if no row allows it. Returns (from, to)."""
    return LIFECYCLE.fire(request, trigger, _facts(request))


def mermaid(current: S | None = None) -> str:
    """The machine drawn as a Mermaid state diagram, from the table itself."""
    return LIFECYCLE.mermaid(current)
