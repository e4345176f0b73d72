"""Requesters outside the state (Decree 121/2017 Art. 12 §3b, "tổ chức, cá nhân"): a law firm,
another organisation, a lawyer or a relative. A records clerk of a body that keeps the database
checks their identity papers and registers them (the body vouches for them); the facility holding
a detained person records whom they act for (registered defence counsel, or the person's written
authorisation). Until vouched for they cannot file; about a person, they ask only about those
they act for, and every request of theirs is decided by the body that manages the data."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from workflow.audit import chain as audit
from workflow.context import Actor
from workflow.documents.wording import vi
from workflow.enums import Role
from workflow.errors import Conflict, Forbidden, InvalidInput, NotFound
from workflow.i18n import N_
from workflow.models import (
    AccessRequest,
    CustodyEpisode,
    Mandate,
    Organisation,
    Person,
    RequesterVetting,
    User,
)
from workflow.organisations.enums import Branch, OrgKind, OrgLevel
from workflow.organisations.scope import management_scope, subtree_ids
from workflow.records.checks import clean_text
from workflow.records.policy import keeping_facility
from workflow.records.search import person_with_number
from workflow.requests.enums import UNFINISHED_STATES, MandateGround, RequesterKind
from workflow.requests.routing import keeps_the_database
from workflow.security.accounts import add_account
from workflow.security.permissions import Permission, can, is_live

# The kinds of organisation a requester outside the state may belong to (an individual gets an
# organisation of their own, `OrgKind.INDIVIDUAL`).
ORGANISATION_KINDS = (OrgKind.LAW_FIRM, OrgKind.NON_STATE_ORGANISATION)
NOT_VOUCHED = N_("No body has vouched for your identity yet, or its vouching was withdrawn: "
                 "ask the records office of a custody facility or management body.")
NO_LONGER_VOUCHED = N_("The requester is no longer vouched for (the vouching was withdrawn): "
                       "nothing of this request is provided to them.")
NO_LONGER_MANDATED = N_("The requester no longer acts for this person (the mandate ended): "
                        "nothing of this request is provided to them.")
NO_REQUESTER = N_("No requester vouched for by a body has this username.")
NOT_MATCHED = N_("No vouched requester has this username, or no person held in your scope has "
                 "this identity number: check both against the papers.")
USERNAME_UNUSABLE = N_("This username cannot be used: choose another.")
NO_MANDATE_HERE = N_("The requester does not act for a person with these identifiers: record "
                     "the mandate first, from the paper they bring.")
NO_MANDATE = N_("None of the persons you act for matches these identifiers. The facility that "
                "holds the person records whom you act for (as registered defence counsel, or "
                "with the person's written authorisation).")


def is_outside_requester(user: User | None) -> bool:
    """Whether the account belongs to an organisation or person outside the state."""
    return user is not None and user.organisation.kind.is_non_state


def live_vetting(user: User) -> RequesterVetting | None:
    """The vouching in force for this requester (None: not vouched for, or withdrawn)."""
    return next((v for v in reversed(user.vettings) if v.withdrawn_at is None), None)


def vouched_if_outside(user: User) -> bool:
    """A requester outside the state files only while a body vouches for them; anyone else
    needs no vouching."""
    return not is_outside_requester(user) or live_vetting(user) is not None


# The same, told to the requester about themselves (a download refused).
TO_THE_REQUESTER = {
    NO_LONGER_VOUCHED: N_("No body vouches for you any longer (the vouching was withdrawn): "
                          "nothing of this request is provided to you."),
    NO_LONGER_MANDATED: N_("You no longer act for this person (the mandate ended): nothing of "
                           "this request is provided to you."),
}


def standing_refusal(request: AccessRequest, day: dt.date) -> str | None:
    """Why a request of a requester outside the state can no longer be answered (None: it
    can): the vouching was withdrawn, or, about a person, the mandate is over. Asked at every
    decision, at release and at each download."""
    user = request.requester
    if not is_outside_requester(user):
        return None
    if live_vetting(user) is None:
        return NO_LONGER_VOUCHED
    session = object_session(request)
    if request.subject_person_id is not None and request.subject_person_id not in \
            mandated_person_ids(session, user, day):
        return NO_LONGER_MANDATED
    return None


def _withdraw_open(session: Session, actor: Actor, user_id: int, person_id: int | None,
                   reason: str) -> None:
    """Withdraw the requester's unfinished requests (about the person, when given): what a
    body no longer vouches for, or a mandate that ended, must not be answered."""
    # Here, not at the top: the request kernel's policy asks this module who may file.
    from workflow.requests.decisions import void_open_steps
    from workflow.requests.kernel import move

    stmt = select(AccessRequest).where(
        AccessRequest.requester_id == user_id,
        AccessRequest.state.in_(sorted(UNFINISHED_STATES))).order_by(AccessRequest.id)
    if person_id is not None:
        stmt = stmt.where(AccessRequest.subject_person_id == person_id)
    for request in session.scalars(stmt.with_for_update()):
        void_open_steps(request, actor)
        move(session, actor, request, "withdraw", reason=reason, authorised=True)


def mandated_person_ids(session: Session, user: User, day: dt.date) -> set[int]:
    """The detained persons the requester acts for on that day."""
    return {m.person_id for m in live_mandates(session, user, day)}


def own_mandate(session: Session, user: User | None, mandate_id: object,
                day: dt.date) -> Mandate | None:
    """One of this requester outside the state's own mandates in force that day, by its id as
    given (a form's text included); None for any other."""
    if not is_outside_requester(user):
        return None
    return next((m for m in live_mandates(session, user, day) if str(m.id) == str(mandate_id)),
                None)


def live_mandates(session: Session, user: User, day: dt.date) -> list[Mandate]:
    """The requester's mandates in force on that day, newest first."""
    rows = session.scalars(select(Mandate).where(
        Mandate.user_id == user.id, Mandate.ended_at.is_(None), Mandate.valid_from <= day)
        .order_by(Mandate.id.desc())).all()
    return [m for m in rows if m.live_on(day)]


# --- gates ----------------------------------------------------------------------------------


def can_vouch(user: User | None) -> bool:
    """Register requesters outside the state: the records clerks of the bodies that keep the
    database (they see the identity papers at their counter); a person's account only."""
    return (can(user, Permission.WRITE_RECORDS) and not user.system
            and keeps_the_database(user.organisation))


def can_view_vetting(session: Session, user: User | None, vetting: RequesterVetting,
                     day: dt.date) -> bool:
    """A registration is seen by the clerks of the body that vouched, or of a body above it."""
    return (can_vouch(user)
            and vetting.vouched_by_org_id in subtree_ids(session, user.organisation_id, day))


def can_record_mandate(session: Session, user: User | None, person: Person,
                       day: dt.date) -> bool:
    """Record (or end) whom a requester acts for: the clerks whose scope holds the facility that
    keeps the person's record file."""
    if not can_vouch(user):
        return False
    facility = keeping_facility(session, person)
    return facility is not None and management_scope(
        session, user.organisation, day).covers(facility.id)


def can_see_client_reads(session: Session, user: User | None, mandate: Mandate,
                         day: dt.date) -> bool:
    """Who read a person's record, seen by the lawyer the person authorised (or registered as
    defence counsel), while the mandate is in force and a body vouches for the lawyer."""
    if not (is_live(user) and is_outside_requester(user) and mandate.user_id == user.id
            and mandate.live_on(day)):
        return False
    vetting = live_vetting(user)
    return vetting is not None and vetting.kind is RequesterKind.LAWYER


# --- operations -----------------------------------------------------------------------------


def _organisation(session: Session, actor: Actor, kind: RequesterKind, full_name: str,
                  name: str | None, org_kind: OrgKind | None) -> Organisation:
    """The requester's organisation: for a lawyer or a representative, the named law firm or
    organisation — the one the actor's body (or one under it) already registered, else a new
    one; for anyone else, an organisation of the person alone."""
    if kind not in (RequesterKind.LAWYER, RequesterKind.REPRESENTATIVE) or not name:
        name, org_kind = full_name, OrgKind.INDIVIDUAL
    elif org_kind not in ORGANISATION_KINDS:
        raise InvalidInput(N_("Say whether the organisation is a law-practising "
                              "organisation or another organisation."))
    else:
        # Reused only where this body's registrations vouched for it: a body that never saw
        # the firm's papers does not add people to it.
        mine = subtree_ids(session, actor.user.organisation_id, actor.today)
        found = session.scalars(
            select(Organisation).join(User, User.organisation_id == Organisation.id)
            .join(RequesterVetting, RequesterVetting.user_id == User.id)
            .where(func.lower(Organisation.name) == name.lower(),
                   Organisation.kind == org_kind,
                   RequesterVetting.vouched_by_org_id.in_(sorted(mine)))).first()
        if found is not None:
            return found
    org = Organisation(code=f"NN-{secrets.token_hex(6).upper()}", name=name, kind=org_kind,
                       branch=Branch.OUTSIDE, level=OrgLevel.PROVINCE,
                       province=actor.user.organisation.province, valid_from=actor.today)
    session.add(org)
    session.flush()
    return org


def register_requester(session: Session, actor: Actor, *, kind: RequesterKind,
                       full_name: str, username: str, password: str, email: str | None,
                       identity_document: str, credential: str | None,
                       organisation_name: str | None = None,
                       organisation_kind: OrgKind | None = None) -> RequesterVetting:
    """Register a requester outside the state after checking their identity papers: their
    account (a requester's, without clearance), their organisation, and the actor's body
    vouching for them; audited."""
    if not can_vouch(actor.user):
        raise Forbidden(N_("Your role does not allow this."))
    full_name = clean_text(full_name, N_("Full name"), 255)
    identity_document = clean_text(identity_document, N_("Identity document"), 120)
    credential = clean_text(credential, N_("Lawyer's card or registration"), 120,
                            required=kind in (RequesterKind.LAWYER, RequesterKind.REPRESENTATIVE))
    organisation_name = clean_text(organisation_name, N_("Organisation"), 255, required=False)
    if kind is RequesterKind.REPRESENTATIVE and not organisation_name:
        raise InvalidInput(N_("A representative acts for an organisation: name it."))
    org = _organisation(session, actor, kind, full_name, organisation_name, organisation_kind)
    try:
        user = add_account(session, actor, username=username, full_name=full_name,
                           organisation_id=org.id, roles={Role.REQUESTER}, password=password,
                           email=email)
    except Conflict as error:  # a taken name: which account holds it is not the clerk's
        raise InvalidInput(USERNAME_UNUSABLE) from error
    vetting = RequesterVetting(user_id=user.id, kind=kind, identity_document=identity_document,
                               credential=credential,
                               vouched_by_org_id=actor.user.organisation_id,
                               vouched_by_id=actor.user.id, vouched_at=actor.now)
    session.add(vetting)
    session.flush()
    audit.record(session, actor, "requester.register", object_type="user", object_id=user.id,
                 details={"kind": kind.value, "organisation_id": org.id,
                          "organisation_kind": org.kind.value, "username": user.username})
    return vetting


def vetting_of(session: Session, actor: Actor, user_id: int) -> RequesterVetting:
    """The latest registration of a requester, for a clerk of the body that vouched (or above);
    the view is audited."""
    if not can_vouch(actor.user):
        raise Forbidden(N_("Your role does not allow this."))
    vetting = session.scalars(select(RequesterVetting).where(
        RequesterVetting.user_id == user_id).order_by(RequesterVetting.id.desc())
        .limit(1)).first()
    if vetting is None or not can_view_vetting(session, actor.user, vetting, actor.today):
        raise NotFound(N_("No such requester."))
    audit.record(session, actor, "requester.view", object_type="user", object_id=user_id)
    return vetting


def vettings_seen(session: Session, actor: Actor) -> list[RequesterVetting]:
    """The registrations the actor's body (or a body under it) vouched for, newest first."""
    if not can_vouch(actor.user):
        raise Forbidden(N_("Your role does not allow this."))
    mine = subtree_ids(session, actor.user.organisation_id, actor.today)
    rows = list(session.scalars(select(RequesterVetting).where(
        RequesterVetting.vouched_by_org_id.in_(sorted(mine)))
        .order_by(RequesterVetting.id.desc()).limit(500)))
    audit.record(session, actor, "requester.list", details={"shown": len(rows)})
    return rows


def _mandates_held(session: Session, actor: Actor, stmt) -> list[Mandate]:
    """The mandates of `stmt` about persons whose record file a facility of the actor's scope
    keeps, newest first; the view is audited with each person listed."""
    scope = management_scope(session, actor.user.organisation, actor.today)
    if not scope.nationwide:  # those ever held in the scope first: the keeping facility after
        stmt = stmt.where(Mandate.person_id.in_(select(CustodyEpisode.person_id).where(
            CustodyEpisode.facility_id.in_(sorted(scope.facility_ids)))))
    shown = [m for m in session.scalars(stmt.order_by(Mandate.id.desc()))
             if (f := keeping_facility(session, m.person)) is not None and scope.covers(f.id)]
    for person_id in sorted({m.person_id for m in shown}):
        audit.record(session, actor, "requester.mandates", object_type="person",
                     object_id=person_id, person_id=person_id)
    return shown


def mandates_seen(session: Session, actor: Actor, user_id: int) -> list[Mandate]:
    """A requester's mandates for the persons in the actor's scope (not those elsewhere)."""
    if not can_vouch(actor.user):
        raise Forbidden(N_("Your role does not allow this."))
    return _mandates_held(session, actor, select(Mandate).where(Mandate.user_id == user_id))


def withdraw_vetting(session: Session, actor: Actor, user_id: int) -> RequesterVetting:
    """Withdraw a body's vouching (papers found false, the lawyer disbarred): the requester
    files nothing more, and their unfinished requests are withdrawn."""
    vetting = vetting_of(session, actor, user_id)
    if vetting.withdrawn_at is not None:
        raise Conflict(N_("The vouching was already withdrawn."))
    vetting.withdrawn_at, vetting.withdrawn_by_id = actor.now, actor.user.id
    audit.record(session, actor, "requester.withdraw", object_type="user", object_id=user_id,
                 details={"vetting_id": vetting.id})
    _withdraw_open(session, actor, user_id, None, vi(NO_LONGER_VOUCHED))
    return vetting


def _in_scope(session: Session, actor: Actor, identity_number: str) -> Person | None:
    """The person with this identity number, if held in the actor's scope."""
    person = person_with_number(session, identity_number)
    if person is None or not can_record_mandate(session, actor.user, person, actor.today):
        return None
    return person


def _vouched(user: User | None) -> RequesterVetting | None:
    """The vouching in force for a live requester outside the state (any body's will do: the
    facility holding the person checks the paper)."""
    if user is None or not is_outside_requester(user) or not is_live(user):
        return None
    return live_vetting(user)


def record_mandate_named(session: Session, actor: Actor, username: str, *,
                         identity_number: str, **paper) -> Mandate:
    """Record a mandate for a vouched requester a clerk names by username (any body's): the
    username and the person's number are checked together and refused alike, so that neither
    tells whether a requester or a person exists."""
    if not can_vouch(actor.user):
        raise Forbidden(N_("Your role does not allow this."))
    vetting = _vouched(session.scalars(select(User).where(
        User.username == (username or "").strip().lower())).first())
    person = _in_scope(session, actor, identity_number)
    if vetting is None or person is None:
        raise InvalidInput(NOT_MATCHED)
    return _record(session, actor, vetting, person, **paper)


def record_mandate(session: Session, actor: Actor, user_id: int, *, identity_number: str,
                   **paper) -> Mandate:
    """Record that a vouched requester (any body's) acts for a person held in the actor's
    scope; audited with the person."""
    if not can_vouch(actor.user):
        raise Forbidden(N_("Your role does not allow this."))
    vetting = _vouched(session.get(User, user_id))
    if vetting is None:
        raise InvalidInput(NO_REQUESTER)
    person = _in_scope(session, actor, identity_number)
    if person is None:  # outside one's scope, no person and a person elsewhere read alike
        raise InvalidInput(N_("No person held in your scope has this identity number."))
    return _record(session, actor, vetting, person, **paper)


def _record(session: Session, actor: Actor, vetting: RequesterVetting, person: Person, *,
            ground: MandateGround, reference: str, valid_from: dt.date,
            valid_to: dt.date | None = None) -> Mandate:
    """The mandate, its paper checked; no two of one requester and person overlap."""
    reference = clean_text(reference, N_("Reference of the paper"), 120)
    if valid_from is None:
        raise InvalidInput(N_("%(field)s is required."), field=N_("Valid from"))
    if valid_to is not None and valid_to < valid_from:
        raise InvalidInput(N_("The end of the period is before its start."))
    if valid_to is not None and valid_to < actor.today:
        raise InvalidInput(N_("The mandate would already be over."))
    if ground is MandateGround.DEFENCE and vetting.kind is not RequesterKind.LAWYER:
        raise InvalidInput(N_("Only a lawyer is registered as defence counsel."))
    if any(_overlap(m.valid_from, m.valid_to, valid_from, valid_to)
           for m in session.scalars(select(Mandate).where(
               Mandate.user_id == vetting.user_id, Mandate.person_id == person.id,
               Mandate.ended_at.is_(None)))):
        raise Conflict(N_("This requester already acts for this person in that period."))
    mandate = Mandate(user_id=vetting.user_id, person_id=person.id, ground=ground,
                      reference=reference, valid_from=valid_from, valid_to=valid_to,
                      recorded_by_id=actor.user.id,
                      recorded_by_org_id=actor.user.organisation_id, recorded_at=actor.now)
    session.add(mandate)
    session.flush()
    audit.record(session, actor, "requester.mandate", object_type="user",
                 object_id=vetting.user_id, person_id=person.id,
                 details={"mandate_id": mandate.id, "ground": ground.value})
    return mandate


def _overlap(start: dt.date, end: dt.date | None, other_start: dt.date,
             other_end: dt.date | None) -> bool:
    """Whether two periods (an end of None: open) share a day."""
    return ((end is None or other_start <= end)
            and (other_end is None or start <= other_end))


def end_mandate(session: Session, actor: Actor, mandate_id: int) -> Mandate:
    """End a mandate early (the person withdrew the authorisation, counsel was replaced): any
    clerk whose scope holds the person, whoever vouched for the requester; the requester's
    unfinished requests about the person are withdrawn with it."""
    mandate = session.get(Mandate, mandate_id)
    if not can_vouch(actor.user):
        raise Forbidden(N_("Your role does not allow this."))
    if mandate is None or not can_record_mandate(session, actor.user, mandate.person,
                                                 actor.today):
        raise NotFound(N_("No such mandate."))
    if mandate.ended_at is not None:
        raise Conflict(N_("The mandate has already ended."))
    mandate.ended_at, mandate.ended_by_id = actor.now, actor.user.id
    audit.record(session, actor, "requester.mandate_end", object_type="user",
                 object_id=mandate.user_id, person_id=mandate.person_id,
                 details={"mandate_id": mandate.id})
    if mandate.person_id not in mandated_person_ids(session, mandate.user, actor.today):
        # No other mandate for the person stands today: what they asked about them is over.
        _withdraw_open(session, actor, mandate.user_id, mandate.person_id,
                       vi(NO_LONGER_MANDATED))
    return mandate


def mandates_in_scope(session: Session, actor: Actor) -> list[Mandate]:
    """The mandates about the persons in the clerk's scope, whoever vouched for the requester
    (a person transferred here brings their lawyer's mandate along); the view is audited with
    each person listed."""
    if not can_vouch(actor.user):
        raise Forbidden(N_("Your role does not allow this."))
    return _mandates_held(session, actor, select(Mandate))


def my_mandates(session: Session, actor: Actor) -> list[Mandate]:
    """The persons a requester outside the state acts for today."""
    if not (is_live(actor.user) and is_outside_requester(actor.user)):
        raise Forbidden(N_("Your role does not allow this."))
    mandates = live_mandates(session, actor.user, actor.today)
    for mandate in mandates:
        audit.record(session, actor, "requester.clients", object_type="person",
                     object_id=mandate.person_id, person_id=mandate.person_id)
    return mandates

