"""Letters the decisions issue: the refusal, the consent refusal and the return for supplement,
each a numbered, signed notice to the requester."""

from __future__ import annotations

from sqlalchemy.orm import Session

from workflow.audit import chain as audit
from workflow.context import Actor
from workflow.documents.enums import IssuedKind, IssuedState
from workflow.documents.extracts import documents_of
from workflow.documents.issuing import (
    ExtractSettings,
    _addressee,
    _filer,
    issue_document,
    subject_line,
)
from workflow.documents.wording import short_date, vi
from workflow.errors import (
    Gone,
    NotFound,
)
from workflow.i18n import N_
from workflow.models import (
    AccessRequest,
    IssuedDocument,
    RequestStep,
    RequestTransition,
)
from workflow.requests import decisions
from workflow.requests.enums import RequestCategory, StepKind, StepOutcome
from workflow.requests.kernel import Notices
from workflow.requests.policy import (
    can_view,
)

# --- letters -------------------------------------------------------------------------------


def notices(settings: ExtractSettings) -> Notices:
    """What a `Workflow` calls after a decision: the letters it calls for, with these settings."""
    return lambda session, actor, request_id: issue_letters(session, settings, actor,
                                                            request_id)


def issue_letters(session: Session, settings: ExtractSettings, actor: Actor,
                  request_id: int) -> list[IssuedDocument]:
    """Issue the written notices the request's decisions call for and do not have yet: a
    refusal notice per refusal, a notice per return for supplement, the công văn of each consent
    given in the system (one written on paper has its own)."""
    request = session.get(AccessRequest, request_id)
    if request is None:
        return []
    have = {(d.kind, d.contents.get("ref")) for d in documents_of(session, request_id)}
    issued = []
    for step in request.steps:
        if step.kind is StepKind.CONSENT and step.outcome is StepOutcome.GRANTED:
            if step.letter_ref:
                continue  # written on paper: that letter is the act, with its own number
            kind = IssuedKind.CONSENT
        elif step.outcome is StepOutcome.REFUSED:
            kind = IssuedKind.REFUSAL
        else:
            continue
        if (kind, f"step:{step.id}") not in have:
            issued.append(_step_letter(session, settings, actor, request, step, kind))
    for moved in request.transitions:
        if moved.trigger == "return_for_supplement" \
                and (IssuedKind.RETURN, f"transition:{moved.id}") not in have:
            issued.append(_return_letter(session, settings, actor, request, moved))
    return issued


def _step_letter(session, settings, actor, request: AccessRequest, step: RequestStep,
                 kind: IssuedKind) -> IssuedDocument:
    addressee = _addressee(request)
    if kind is IssuedKind.CONSENT:
        approval = next((s for s in request.steps if s.kind is StepKind.APPROVAL), None)
        addressee = approval.org.name if approval else request.requester_org.name
    reason = ""
    if step.reason_code:
        reason = vi(decisions.REFUSAL_REASONS[step.reason_code])
    granted = step.granted if step.granted is not None else request.categories

    def context(number: str, code: str) -> dict:
        return {"addressee": addressee, "requester_org": _filer(request),
                "submitted": short_date((request.submitted_at or request.created_at).date()),
                "subject": subject_line(request), "reason": reason,
                "reason_text": step.reason_text or "", "letter_ref": step.letter_ref or "",
                "case": _case_shown(request, step),
                "granted": [vi(RequestCategory(c).label) for c in granted],
                "expires_on": short_date(step.expires_on) if step.expires_on else ""}

    return issue_document(session, settings, actor, request=request, kind=kind, org=step.org,
                  context=context, recipient=None, recipient_name=addressee,
                  recipient_org=addressee, state=IssuedState.RELEASED,
                  contents={"ref": f"step:{step.id}"}, step_id=step.id,
                  signed_by=step.decided_by, rule_version=step.rule_version)


def _case_shown(request: AccessRequest, step: RequestStep) -> str:
    """The case number, in a letter the requester can read, only where the case part was asked
    for and this decision gives it (a refusal gives nothing)."""
    case = RequestCategory.CASE.value
    if step.case is None or step.outcome is not StepOutcome.GRANTED \
            or case not in request.categories \
            or (step.granted is not None and case not in step.granted):
        return ""
    return step.case.number


def _return_letter(session, settings, actor, request: AccessRequest,
                   moved: RequestTransition) -> IssuedDocument:
    org = moved.actor.organisation if moved.actor else request.requester_org
    addressee = _addressee(request)

    def context(number: str, code: str) -> dict:
        return {"addressee": addressee, "requester_org": _filer(request),
                "submitted": short_date((request.submitted_at or request.created_at).date()),
                "subject": subject_line(request), "reason_text": moved.reason or ""}

    return issue_document(session, settings, actor, request=request, kind=IssuedKind.RETURN,
                  org=org, context=context, recipient=None, recipient_name=addressee,
                  recipient_org=addressee, state=IssuedState.RELEASED,
                  contents={"ref": f"transition:{moved.id}"}, signed_by=moved.actor,
                  rule_version=moved.rule_version)


def letter(session: Session, actor: Actor, document_id: int) -> IssuedDocument:
    """A letter of the workflow, for anyone who may see its request (audited)."""
    document = session.get(IssuedDocument, document_id)
    if document is None or document.kind is IssuedKind.EXTRACT or actor.user is None \
            or not can_view(session, actor.user, document.request, actor.today):
        raise NotFound(N_("No such document."))
    if document.pdf is None:
        raise Gone(N_("The file was purged after the retention period."))
    audit.record(session, actor, "document.download", object_type="document",
                 object_id=document.id, details={"kind": document.kind.value,
                                                 "sha256": document.sha256})
    return document
