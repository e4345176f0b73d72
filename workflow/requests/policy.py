"""Who may do what to an access request (Decree Art. 12): the gates every surface asks.

Each `can_<verb>` is a pure function of (user, object, day) apart from reading the organisation
tree. The services call them before acting; the pages, the API and the templates ask the same
functions to decide what to show. `visible_requests` is `can_view` as SQL, so that a list can
never show a request its detail page would hide (tests compare the two over the whole demo).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.orm import Session

from workflow.context import Actor
from workflow.documents.enums import IssuedKind, IssuedState
from workflow.enums import Role, Secrecy
from workflow.errors import Conflict, DomainError, Forbidden, Gone
from workflow.i18n import N_
from workflow.models import AccessRequest, IssuedDocument, RequestStep, User
from workflow.organisations.scope import subtree_ids
from workflow.requests.clock import extension_left
from workflow.requests.enums import RequestState, StepKind, StepOutcome, SubjectKind
from workflow.requests.machine import OPEN_REVIEW, Who, allowed_triggers, rows_for
from workflow.requests.requesters import (
    TO_THE_REQUESTER,
    standing_refusal,
    vouched_if_outside,
)
from workflow.requests.routing import keeps_the_database
from workflow.security.permissions import is_live

# Who decides each kind of step on a route.
ROUTE_ROLES = {StepKind.APPROVAL: Role.APPROVER, StepKind.CONSENT: Role.CONSENT_OFFICER}
# Who files requests: outside bodies' requesters, the detained person at the kiosk, and the
# staff of the bodies that keep the database (Art. 12 §2): a facility's clerk, for a detained
# person or for the facility, and a management body's manager, for the body.
FILER_ROLES = frozenset({Role.REQUESTER, Role.CLERK, Role.DETAINEE, Role.MANAGER})
# Who files in the name of their own body, for data outside its scope (`can_file_for_body`).
BODY_FILER_ROLES = frozenset({Role.CLERK, Role.MANAGER})
# The lists of the requests dashboard and who has each.
LIST_ROLES: dict[str, frozenset[Role]] = {
    "mine": FILER_ROLES,
    "approval": frozenset({Role.APPROVER}),
    "consent": frozenset({Role.CONSENT_OFFICER}),
    "overdue": frozenset({Role.APPROVER, Role.REQUESTER}),
}
VIEWS = tuple(LIST_ROLES)
# What a released extract may be done with, and by whom (the issuing body's approvers).
REVOCABLE_KINDS = frozenset({IssuedKind.EXTRACT})


def _active(user: User | None) -> bool:
    return is_live(user)


def is_requester(user: User | None, request: AccessRequest) -> bool:
    """The user who filed the request (for a detainee: the kiosk account or the clerk)."""
    return user is not None and user.id == request.requester_id


def about_themselves(user: User, request: AccessRequest) -> bool:
    """The request concerns the user as a detained person."""
    return user.person_id is not None and user.person_id in (request.subject_person_id,
                                                              request.on_behalf_of_id)


def can_file(user: User | None) -> bool:
    """Whether the user's role files requests at all (the kind of request is checked on filing);
    a requester outside the state, only while a body vouches for them (Art. 12 §3b)."""
    return _active(user) and user.has_role(*FILER_ROLES) and vouched_if_outside(user)


def can_file_for_body(user: User | None) -> bool:
    """Whether the user files requests in the name of their own body: a records clerk of a
    facility (Art. 12 §2b) or a manager of a management body (§2a), for the data outside its
    scope (inside it they read directly, with a purpose); a person's account, never software's.
    The filer is the request's requester: nothing on its route is theirs to decide."""
    return (_active(user) and not user.system and user.has_role(*BODY_FILER_ROLES)
            and keeps_the_database(user.organisation))


def files_for_body(user: User, request_on_behalf: int | None) -> bool:
    """Whether a filing by this user is one for their body: not an outside requester's, not a
    detained person's own, and not one filed for a detained person."""
    return request_on_behalf is None and not user.has_role(Role.REQUESTER, Role.DETAINEE)


def can_preview(user: User | None) -> bool:
    """A route preview is a filing without saving: the same people, the same rules."""
    return can_file(user)


def can_list(user: User | None, view: str) -> bool:
    """Whether the user has this list of the requests dashboard."""
    return _active(user) and view in LIST_ROLES and user.has_role(*LIST_ROLES[view])


def lists_of(user: User | None) -> list[str]:
    """The dashboard lists the user has, in their order."""
    return [view for view in VIEWS if can_list(user, view)]


def can_view(session: Session, user: User | None, request: AccessRequest, day: dt.date) -> bool:
    """The requester, the deciders on its route (approvers of an approving body, consent officers
    of a consenting one), or the subject detainee may see a request; nobody else of those
    bodies (a manager reads figures, not requests)."""
    if not _active(user):
        return False
    if is_requester(user, request) or about_themselves(user, request):
        return True
    return _decides_on_route(session, user, request, day)


def _decides_on_route(session: Session, user: User, request: AccessRequest,
                      day: dt.date) -> bool:
    mine = subtree_ids(session, user.organisation_id, day)
    return any(s.org_id in mine and user.has_role(ROUTE_ROLES[s.kind]) for s in request.steps)


def can_see_cases(session: Session, user: User | None, request: AccessRequest,
                  day: dt.date) -> bool:
    """The cases, their stages, the facilities and the secrecy behind a route: the deciders on
    it and the detained person it concerns; a requester outside the scope learns who decides
    and why, as the route preview told them, not more (approval does not change that: the
    extract is what they are given)."""
    if not _active(user):
        return False
    if request.route.get("direct") or about_themselves(user, request):
        return True
    return _decides_on_route(session, user, request, day)


def visible_requests(session: Session, user: User | None, day: dt.date) -> ColumnElement[bool]:
    """`can_view` as a condition on AccessRequest, for every list and count."""
    if not _active(user):
        return false()
    seen: list[ColumnElement[bool]] = [AccessRequest.requester_id == user.id]
    if user.person_id is not None:
        seen += [AccessRequest.subject_person_id == user.person_id,
                 AccessRequest.on_behalf_of_id == user.person_id]
    kinds = [kind for kind, role in ROUTE_ROLES.items() if user.has_role(role)]
    if kinds:
        mine = sorted(subtree_ids(session, user.organisation_id, day))
        seen.append(AccessRequest.id.in_(select(RequestStep.request_id).where(
            RequestStep.kind.in_(kinds), RequestStep.org_id.in_(mine))))
    return or_(*seen)


def decider_steps(session: Session, user: User | None, request: AccessRequest,
                  kind: StepKind, day: dt.date) -> list[RequestStep]:
    """Pending steps of this kind the user may decide: their body or a body above it (consent:
    their own body), never on their own request or one about themselves (separation of
    duties)."""
    if not _active(user) or not user.has_role(ROUTE_ROLES[kind]):
        return []
    if is_requester(user, request) or about_themselves(user, request):
        return []
    steps = request.open_steps(kind)
    if not steps:
        return []
    if kind is StepKind.CONSENT:
        return [s for s in steps if s.org_id == user.organisation_id]
    below = subtree_ids(session, user.organisation_id, day)
    return [s for s in steps if s.org_id in below]


def can_decide(session: Session, user: User | None, request: AccessRequest,
               day: dt.date) -> bool:
    """Approve, refuse or extend: an approver of a body on the route's pending approval."""
    return bool(decider_steps(session, user, request, StepKind.APPROVAL, day))


def extend_refusal(session: Session, user: User | None, request: AccessRequest,
                   day: dt.date) -> DomainError | None:
    """Why the user may not extend the request's deadline today, or None: an approver who
    decides on it (`can_decide`), while it waits for decisions with its clock running and the
    rule set still allows more extension (extensions stack, each with its reason)."""
    if not can_decide(session, user, request, day):
        return Forbidden(N_("You may not decide on this request."))
    if request.state not in OPEN_REVIEW or request.due_on is None:
        return Conflict(N_("This action is not possible while the request is %(state)s."),
                        state=request.state.label)
    if request.paused_at is not None:
        return Conflict(N_("The clock of this request is stopped: there is no deadline to "
                           "extend until it runs again."))
    if extension_left(request) <= 0:
        return Conflict(N_("The extension the rules allow for this request is used up."))
    return None


def can_extend(session: Session, user: User | None, request: AccessRequest,
               day: dt.date) -> bool:
    """Extend the deadline: `extend_refusal` has nothing to say."""
    return extend_refusal(session, user, request, day) is None


def can_change_calendar(user: User | None) -> bool:
    """Record a change of the working-day calendar: the installation only (its command line),
    as the government's decision is published; no account, on a page or with a token."""
    return user is None


def can_consent(session: Session, user: User | None, request: AccessRequest,
                day: dt.date) -> bool:
    """Grant or refuse consent: a consent officer of the body handling the case."""
    return bool(decider_steps(session, user, request, StepKind.CONSENT, day))


def current_approvals(request: AccessRequest) -> list[RequestStep]:
    """The approval steps of the request's latest approval round (a request rerouted to
    another managing body at release has a new one; the earlier rounds are history)."""
    approvals = [s for s in request.steps if s.kind is StepKind.APPROVAL
                 and s.outcome is not StepOutcome.VOID]
    last = max((s.round for s in approvals), default=None)
    return [s for s in approvals if s.round == last]


def can_release(session: Session, user: User | None, request: AccessRequest,
                day: dt.date) -> bool:
    """Release (and prepare the extract): approvers of the body that gave the current
    approval, or above, never on their own request or one about themselves (separation of
    duties); on a direct-access request, the requester, using its own scope (Art. 12 §3a)."""
    if not _active(user):
        return False
    approvals = current_approvals(request)
    if not approvals:  # direct access: the requester releases to itself
        return is_requester(user, request)
    if is_requester(user, request) or about_themselves(user, request):
        return False
    granted = [s for s in approvals if s.outcome is StepOutcome.GRANTED]
    mine = subtree_ids(session, user.organisation_id, day)
    return user.has_role(Role.APPROVER) and any(s.org_id in mine for s in granted)


def can_fire(session: Session, actor: Actor, request: AccessRequest, trigger: str) -> bool:
    """The table's "who" column: whether this actor may fire the trigger from the state."""
    user, day = actor.user, actor.today
    if not _active(user):
        return False
    checks = {Who.REQUESTER: lambda: is_requester(user, request),
              Who.APPROVER: lambda: can_decide(session, user, request, day),
              Who.CONSENT_OFFICER: lambda: can_consent(session, user, request, day),
              Who.DECIDER: lambda: (can_decide(session, user, request, day)
                                    or can_consent(session, user, request, day)),
              Who.RELEASER: lambda: can_release(session, user, request, day),
              Who.SYSTEM: lambda: False}
    return any(checks[row.actor]() for row in rows_for(trigger, request.state))


# The decisions a signing official makes and signs (Decree 30/2020 Art. 13): the approval the
# extract is issued under, refusals and returns (their notices), consent (its công văn), and the
# extract prepared and released under the official's signature.
SIGNED_ACTIONS = frozenset({"approve", "refuse", "grant_consent", "refuse_consent",
                            "return_for_supplement", "prepare", "release"})


def official_refusal(user: User | None) -> Forbidden | None:
    """Why this account may not act as an official of the issuing body — prepare, preview,
    release or revoke an extract, or sign anything — or None: a system account is software
    acting with an API token, not a person who answers for the act and signs it."""
    if user is not None and user.system:
        return Forbidden(N_("A system account (software acting with an API token) does not "
                            "prepare, preview, release or revoke an extract, nor sign any "
                            "document: these are acts of an official of the issuing body, "
                            "signed in on the pages with two factors. Nothing was done."))
    return None


def require_official(user: User | None) -> None:
    """Raise `official_refusal` when there is one: what the releaser's acts ask first."""
    refusal = official_refusal(user)
    if refusal is not None:
        raise refusal


def signing_refusal(user: User | None) -> Forbidden | None:
    """Why this account may not make a decision that is signed, or None: a person's account
    (`official_refusal`) whose position and signing authority (TM., KT., TL., TUQ. or as the
    head), which the signature block prints, have been recorded by an administrator."""
    refusal = official_refusal(user)
    if refusal is not None:
        return refusal
    if user is None or user.signs_as is None or not (user.position or "").strip():
        return Forbidden(N_("The position and signing authority of this account have not been "
                            "recorded: an administrator must record them (Administration, "
                            "the account's page) before it can make a decision that issues a "
                            "signed document. Nothing was done."))
    return None


def needs_signature(request: AccessRequest, action: str) -> bool:
    """Whether this action on the request is a signed decision (a statistical request is
    released without a document)."""
    if action in ("prepare", "release"):
        return request.subject_kind is SubjectKind.PERSON
    return action in SIGNED_ACTIONS


def require_signer(user: User | None) -> None:
    """Raise `signing_refusal` when there is one: what every signed decision asks first."""
    refusal = signing_refusal(user)
    if refusal is not None:
        raise refusal


def can_manage_document(session: Session, user: User | None, document: IssuedDocument,
                        day: dt.date) -> bool:
    """Preview an extract before release: approvers of the issuing body (or above); on a
    direct-access request, the requester who prepared it."""
    if not _active(user):
        return False
    if user.has_role(Role.APPROVER) and document.org_id in subtree_ids(
            session, user.organisation_id, day):
        return True
    return document.created_by_id == user.id and is_requester(user, document.request)


def can_open_extract(session: Session, user: User | None, document: IssuedDocument,
                     day: dt.date) -> bool:
    """Open an extract's file as its issuer (`can_manage_document`), cleared for the level it
    holds; a secret one only while it is a draft: once issued, its copies are counted and go to
    its named recipient alone."""
    return (can_manage_document(session, user, document, day)
            and user.clearance.rank >= document.secrecy.rank
            and (document.state is IssuedState.PREPARED or document.secrecy is Secrecy.NONE))


def clearance_refusal(user: User | None, level: Secrecy) -> DomainError | None:
    """Why this official may not prepare or release an extract holding `level`, or None."""
    if user is not None and user.clearance.rank >= level.rank:
        return None
    return Forbidden(N_("This extract holds documents classified %(level)s, above your "
                        "clearance: an approver cleared for that level must prepare and "
                        "release it."), level=level.label)


def can_download(user: User | None, document: IssuedDocument) -> bool:
    """A released extract: the requester and the users the release named; a secret one only
    its named recipient, recorded on it when it was made (state-secret law: named recipients
    only)."""
    if not _active(user):
        return False
    if document.secrecy is not Secrecy.NONE:
        return user.id == document.recipient_user_id
    return user.id == document.request.requester_id or user.id in document.named


def download_refusal(document: IssuedDocument, day: dt.date) -> DomainError | None:
    """Why a recipient's download of the extract is refused today, or None: revoked, expired,
    its downloads (a secret extract's numbered copies) used up, or its file gone."""
    if document.state is IssuedState.REVOKED:
        return Gone(N_("This extract was revoked: %(reason)s"),
                    reason=document.revoke_reason or "")
    if document.valid_until is not None and day > document.valid_until:
        return Gone(N_("This extract could be downloaded until %(date)s."),
                    date=document.valid_until)
    if document.download_limit is not None and document.downloads >= document.download_limit:
        if document.secrecy is not Secrecy.NONE:
            return Gone(N_("All %(limit)s numbered copies of this secret document have been "
                           "issued: no further copy can be downloaded. Ask the issuing body "
                           "if another copy is needed."), limit=document.download_limit)
        return Gone(N_("The download limit (%(limit)s) has been reached."),
                    limit=document.download_limit)
    if document.pdf is None:
        return Gone(N_("The file was purged after the retention period."))
    standing = standing_refusal(document.request, day)
    if standing is not None:  # a requester outside the state no longer vouched for or mandated
        return Gone(TO_THE_REQUESTER[standing])
    return None


def document_access(session: Session, user: User | None, document: IssuedDocument,
                    day: dt.date) -> str | None:
    """What this user may do with a document of a request they may view: 'letter' (open a
    notice or letter), 'preview' (the releaser's reading of an extract), 'download' (a released
    or revoked extract's recipient: a secret one's named recipient only; whether a copy is left
    is `download_refusal`), 'listed' (its issuer sees it listed but may not open it: a secret
    extract once issued, or one above their clearance), or None: it is not shown to them."""
    if document.kind is not IssuedKind.EXTRACT:
        return "letter"
    if can_open_extract(session, user, document, day):
        return "preview"
    if can_download(user, document) and document.state in (IssuedState.RELEASED,
                                                            IssuedState.REVOKED):
        return "download"
    if can_manage_document(session, user, document, day):
        return "listed"
    return None


def can_manage_webhooks(user: User | None, org_id: int) -> bool:
    """Register and disable a body's webhooks, and list them: the body's own service account
    (a system account that files its requests) or an administrator."""
    if not _active(user):
        return False
    if user.has_role(Role.ADMIN):
        return True
    return user.system and user.organisation_id == org_id and user.has_role(Role.REQUESTER)


def can_read_extract_data(user: User | None, document: IssuedDocument) -> bool:
    """Read a released extract's contents as data (the API): its recipients who belong to the
    requesting body — the requester, or a user of that body the release named — and never a
    secret extract, which goes out only in its counted, numbered copies."""
    return (document.kind is IssuedKind.EXTRACT and document.secrecy is Secrecy.NONE
            and document.state in (IssuedState.RELEASED, IssuedState.REVOKED)
            and can_download(user, document)
            and user.organisation_id == document.request.requester_org_id)


def can_read_secret_register(user: User | None) -> bool:
    """The register of secret documents sent out: the approvers who release them."""
    return _active(user) and user.has_role(Role.APPROVER)


def can_report_error(user: User | None, document: IssuedDocument) -> bool:
    """Report an error in the data of an extract (Decree Art. 18 §2): its recipients, once it
    was released to them (also after it was revoked or its download right expired)."""
    return (document.kind is IssuedKind.EXTRACT
            and document.state in (IssuedState.RELEASED, IssuedState.REVOKED)
            and can_download(user, document))


def can_revoke(session: Session, user: User | None, request: AccessRequest,
               document: IssuedDocument, day: dt.date) -> bool:
    """Revoke an extract of this request: approvers of the issuing body or above."""
    return (_active(user) and user.has_role(Role.APPROVER)
            and document.request_id == request.id and document.kind in REVOCABLE_KINDS
            and document.org_id in subtree_ids(session, user.organisation_id, day))


def allowed_actions(session: Session, actor: Actor, request: AccessRequest) -> frozenset[str]:
    """Every action this actor may take on the request now (documents' actions aside)."""
    user, day = actor.user, actor.today
    if not can_view(session, user, request, day):
        return frozenset()
    triggers = allowed_triggers(request)
    actions: set[str] = set()
    decider = can_decide(session, user, request, day)
    consenter = can_consent(session, user, request, day)
    if decider and "approve" in triggers:
        actions |= {"approve", "refuse"}
    if can_extend(session, user, request, day):
        actions.add("extend")
    if consenter and "grant_consent" in triggers:
        actions |= {"grant_consent", "refuse_consent"}
    if (decider or consenter) and "return_for_supplement" in triggers:
        actions.add("return_for_supplement")
    if is_requester(user, request):
        actions |= {t for t in ("withdraw", "resubmit", "close") if t in triggers}
    if request.state is RequestState.APPROVED and can_fire(session, actor, request, "release"):
        actions |= ({"prepare", "release"} if request.subject_kind is SubjectKind.PERSON
                    else {"release"})
    return frozenset(actions)
