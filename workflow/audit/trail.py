"""Reading the audit trail: inspectors, within their organisation's subtree, filtered."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.audit import chain as audit
from workflow.context import Actor, vn_midnight
from workflow.errors import InvalidInput
from workflow.i18n import N_
from workflow.models import AuditEntry
from workflow.organisations.scope import NATIONWIDE_KINDS, subtree_ids
from workflow.security.permissions import Permission, require


@dataclass(frozen=True)
class TrailFilter:
    """What the inspector asked for; dates are Vietnamese calendar days."""

    person_id: int | None = None
    actor: str | None = None
    action: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    before: int | None = None


@dataclass(frozen=True)
class TrailPage:
    """A page of entries, newest first, and the key of the next page."""

    entries: list[AuditEntry]
    next_before: int | None


def read_trail(session: Session, actor: Actor, flt: TrailFilter, size: int = 50) -> TrailPage:
    """Entries matching the filter that the inspector may see; the reading is itself audited."""
    user = require(actor.user, Permission.READ_AUDIT)
    if flt.date_from and flt.date_to and flt.date_to < flt.date_from:
        raise InvalidInput(N_("The end of the period is before its start."))
    stmt = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(size + 1)
    if user.organisation.kind not in NATIONWIDE_KINDS:
        stmt = stmt.where(AuditEntry.organisation_id.in_(
            sorted(subtree_ids(session, user.organisation_id, actor.today))))
    if flt.person_id:
        stmt = stmt.where(AuditEntry.person_id == flt.person_id)
    if flt.actor:
        stmt = stmt.where(AuditEntry.actor_name == flt.actor.strip().lower())
    if flt.action:
        stmt = stmt.where(AuditEntry.action.startswith(flt.action.strip(), autoescape=True))
    if flt.date_from:
        stmt = stmt.where(AuditEntry.occurred_at >= vn_midnight(flt.date_from))
    if flt.date_to:
        stmt = stmt.where(AuditEntry.occurred_at < vn_midnight(
            flt.date_to + dt.timedelta(days=1)))
    if flt.before:
        stmt = stmt.where(AuditEntry.seq < flt.before)
    entries = list(session.execute(stmt).scalars())
    more = len(entries) > size
    entries = entries[:size]
    audit.record(session, actor, "audit.view", person_id=flt.person_id,
                 details={k: v for k, v in vars(flt).items() if v is not None})
    return TrailPage(entries, entries[-1].seq if more else None)


def verify_chain(session: Session, actor: Actor) -> audit.Verification:
    """Check the whole chain on an inspector's request; the check is audited."""
    require(actor.user, Permission.READ_AUDIT)
    sealer: audit.Sealer | None = session.info.get(audit.SEALER)
    result = (audit.verify(session, sealer.key.public_key(), sealer.witness_path) if sealer
              else audit.verify(session))
    audit.record(session, actor, "audit.verify",
                 outcome=audit.Outcome.SUCCESS if result.ok else audit.Outcome.FAILURE,
                 details={"checked": result.checked, "broken_seq": result.broken_seq})
    return result
