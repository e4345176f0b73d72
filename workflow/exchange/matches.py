"""Persons received who may be ones already here (same name and date of birth, no identity
document in common), and the decision of a records officer: the same person (the received
record's documents, episodes and link move to the one already here) or two persons."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.audit import chain as audit
from workflow.context import Actor
from workflow.errors import Conflict, Forbidden, NotFound
from workflow.exchange.policy import can_confirm_match
from workflow.i18n import N_
from workflow.models import (
    CustodyEpisode,
    ExchangeLink,
    Person,
    PersonIdentifier,
    PersonMatch,
    RecordDocument,
    RestrictionEpisode,
)
from workflow.records.checks import correction_reason, lock_row
from workflow.records.versions import write_version
from workflow.restriction.enums import RestrictionState


def open_matches(session: Session, actor: Actor) -> list[PersonMatch]:
    """The possible matches nobody has decided yet, oldest first."""
    _gate(session, actor)
    return list(session.scalars(select(PersonMatch).where(PersonMatch.status == "open")
                                .order_by(PersonMatch.id)))


def decide_match(session: Session, actor: Actor, match_id: int, *, same: bool,
                 reason: str) -> PersonMatch:
    """Record that the two records are one person (and make them one) or two persons."""
    _gate(session, actor)
    match = session.scalar(select(PersonMatch).where(PersonMatch.id == match_id)
                           .with_for_update())
    if match is None:
        raise NotFound(N_("No such possible match."))
    if match.status != "open":
        raise Conflict(N_("This possible match was decided already."))
    reason = correction_reason(reason)
    if same:
        _merge(session, actor, match, reason)
    match.status, match.decided_at = ("same" if same else "different"), actor.now
    match.decided_by_id, match.reason = actor.user.id, reason
    session.flush()
    audit.record(session, actor, "exchange.match", object_type="person",
                 object_id=match.candidate_id, person_id=match.candidate_id, purpose=reason,
                 details={"same": same, "received": match.person_id, "source": match.source})
    return match


def _gate(session: Session, actor: Actor) -> None:
    if not can_confirm_match(session, actor.user, actor.today):
        raise Forbidden(N_("Only the records officers of the body that keeps the whole database "
                           "say whether two records are one person."))


def _merge(session: Session, actor: Actor, match: PersonMatch, reason: str) -> None:
    """Move what the received record holds to the one already here; the received record stays,
    empty, with its history, marked as joined to the one kept."""
    received = lock_row(session, Person, match.person_id)
    kept = lock_row(session, Person, match.candidate_id)
    if received.merged_into_id is not None or kept.merged_into_id is not None:
        raise Conflict(N_("One of the two records was joined to another since: decide the "
                          "possible matches of the record kept."))
    if _restricted(received) and _restricted(kept):
        raise Conflict(N_("Both records are under residence restriction: end one of the two "
                          "measures first."))
    # A residence restriction follows the person too: its commune reads the record kept.
    for model in (PersonIdentifier, CustodyEpisode, RecordDocument, RestrictionEpisode):
        for record in session.scalars(select(model).where(model.person_id == received.id)):
            record.person_id = kept.id
            record.version += 1
            session.flush()
            write_version(session, actor, record, person_id=kept.id, reason=reason)
            _relink(session, record.record_type, record.id, record.id, record.version)
    _relink(session, "person", received.id, kept.id, kept.version)
    received.merged_into_id = kept.id
    session.flush()


def _restricted(person: Person) -> bool:
    return any(r.state is not RestrictionState.ENDED for r in person.restrictions)


def _relink(session: Session, record_type: str, was: int, now: int, version: int) -> None:
    # The sender's later versions apply on top of this one, not as a conflict with the move.
    for link in session.scalars(select(ExchangeLink).where(
            ExchangeLink.record_type == record_type, ExchangeLink.local_id == was)):
        link.local_id, link.local_version = now, version
