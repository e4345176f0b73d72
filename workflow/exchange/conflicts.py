"""The conflict queue: a partner's record that could not be applied as sent waits for a records
officer, who keeps ours, takes theirs, or merges the two field by field (each decision a new
version of the record here, with its reason, audited), or asks the sender for it again (a signed
request the sender's next package answers with the record's latest version)."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.audit import chain as audit
from workflow.context import Actor
from workflow.errors import Conflict, Forbidden, InvalidInput, NotFound
from workflow.exchange import incoming
from workflow.exchange.policy import can_ask_again, can_resolve_conflict
from workflow.exchange.wire import ASK_FORMAT, ASK_LIMIT, MODELS, linked_record, sign
from workflow.i18n import N_
from workflow.models import ExchangeConflict, Organisation, User
from workflow.records.checks import correction_reason, lock_row
from workflow.records.versions import snapshot
from workflow.security.permissions import Permission, can

OPEN = ("open", "asked")
DECISIONS = ("ours", "theirs", "merge")


# --- reading the queue ----------------------------------------------------------------------


def _senders(session: Session, user: User | None, day, open_only: bool) -> list[str]:
    """The senders whose conflicts the user may see (the same rule as for one conflict)."""
    query = select(ExchangeConflict.source).distinct()
    if open_only:
        query = query.where(ExchangeConflict.status.in_(OPEN))
    codes = session.scalars(query).all()
    if not codes or not may_list(user):
        return []
    orgs = session.scalars(select(Organisation).where(Organisation.code.in_(codes))).all()
    return [org.code for org in orgs if can_resolve_conflict(session, user, org, day)]


def may_list(user: User | None) -> bool:
    """Whether the menu offers the queue at all (records officers; the list filters further)."""
    return can(user, Permission.WRITE_RECORDS)


def open_count(session: Session, user: User | None, day) -> int:
    """How many conflicts the user may decide are waiting."""
    senders = _senders(session, user, day, open_only=True)
    if not senders:
        return 0
    return session.scalar(select(func.count()).select_from(ExchangeConflict).where(
        ExchangeConflict.source.in_(senders), ExchangeConflict.status.in_(OPEN))) or 0


def list_conflicts(session: Session, actor: Actor, *, open_only: bool = True
                   ) -> list[ExchangeConflict]:
    """The conflicts of the senders the actor may decide for, oldest first."""
    if not may_list(actor.user):
        raise Forbidden(N_("Only records officers settle the conflicts of the exchange."))
    query = select(ExchangeConflict).where(
        ExchangeConflict.source.in_(_senders(session, actor.user, actor.today, open_only)))
    if open_only:
        query = query.where(ExchangeConflict.status.in_(OPEN))
    return list(session.scalars(query.order_by(ExchangeConflict.id)))


def get_conflict(session: Session, actor: Actor, conflict_id: int, *,
                 lock: bool = False) -> ExchangeConflict:
    """One conflict, if the actor may decide it (otherwise it does not exist for them)."""
    query = select(ExchangeConflict).where(ExchangeConflict.id == conflict_id)
    if lock:  # read again under the lock: a decision made meanwhile must show
        query = query.with_for_update().execution_options(populate_existing=True)
    conflict = session.scalar(query)
    sender = conflict and session.scalar(select(Organisation).where(
        Organisation.code == conflict.source))
    if conflict is None or not can_resolve_conflict(session, actor.user, sender, actor.today):
        raise NotFound(N_("No such conflict."))
    return conflict


def read_conflict(session: Session, actor: Actor, conflict_id: int) -> ExchangeConflict:
    """One conflict opened to be compared: a read of the records it shows, audited."""
    conflict = get_conflict(session, actor, conflict_id)
    record = local_record(session, conflict)
    audit.record(session, actor, "exchange.conflict_read", object_type="conflict",
                 object_id=conflict.id,
                 person_id=incoming.person_of(session, record) if record is not None else None)
    return conflict


@dataclass(frozen=True)
class FieldRow:
    """One field of the record: the value here and the sender's."""

    name: str
    ours: object
    theirs: object

    @property
    def differs(self) -> bool:
        """Whether a decision has anything to choose here."""
        return self.ours != self.theirs


def column_of(conflict: ExchangeConflict, name: str):
    """The column a field of the conflict's record is stored in (for showing its value)."""
    model = MODELS.get(conflict.record_type)
    return model.__table__.c.get(name) if model is not None else None


def comparison(session: Session, conflict: ExchangeConflict) -> list[FieldRow]:
    """The fields of the sender's record beside the record here (when there is one)."""
    item = conflict.data
    fields = item["data"] if conflict.record_type != "stage" else {
        k: v for k, v in item.items() if k != "id"}
    theirs = incoming.readable(session, conflict.source, conflict.record_type, fields)
    record = local_record(session, conflict)
    ours = snapshot(record) if record is not None else {}
    return [FieldRow(name, ours.get(name), value) for name, value in theirs.items()]


def local_record(session: Session, conflict: ExchangeConflict) -> object | None:
    """The record here the sender's was linked to, if any."""
    if conflict.local_id is None or conflict.record_type not in MODELS:
        return None
    return session.get(MODELS[conflict.record_type], conflict.local_id)


# --- deciding -------------------------------------------------------------------------------


def decide(session: Session, actor: Actor, conflict_id: int, *, keep: str,
           fields: Collection[str] = (), reason: str,
           seen_version: int | None = None) -> ExchangeConflict:
    """Keep the record here, take the sender's, or take the chosen fields of the sender's;
    `seen_version`: the version of the record here that was compared (a page's), refused if a
    correction has changed it since."""
    if keep not in DECISIONS:
        raise InvalidInput(N_("Choose what to keep."))
    conflict = _open_for_decision(session, actor, conflict_id)
    if seen_version is not None and conflict.local_id is not None:
        record = lock_row(session, MODELS[conflict.record_type], conflict.local_id)
        session.refresh(record)
        if record.version != seen_version:
            raise Conflict(N_("The record here was changed after you compared the two records: "
                              "compare them again before deciding."))
    reason = correction_reason(reason)
    why = f"exchange conflict {conflict.id} ({conflict.source} v{conflict.source_version}): " \
          f"{reason}" if conflict.source_version else f"exchange conflict {conflict.id}: {reason}"
    differing = [row.name for row in comparison(session, conflict) if row.differs]
    taken: list[str] = []
    if keep == "ours":
        _keep_ours(session, conflict)
    elif keep == "theirs" and conflict.local_id is not None and not differing:
        _keep_ours(session, conflict)  # the record here already holds what the sender sent
    elif keep == "theirs":
        taken = differing if conflict.local_id is not None else []
        _take(session, actor, conflict, taken if conflict.local_id is not None else None, why)
    else:
        if conflict.local_id is None:
            raise InvalidInput(N_("Nothing here to merge with: take the sender's record or "
                                  "keep what is here."))
        taken = [name for name in differing if name in set(fields)]
        if not taken:
            raise InvalidInput(N_("Choose at least one field to take from the sender, or keep "
                                  "the record here as it is."))
        _take(session, actor, conflict, taken, why)
    conflict.status = {"ours": "ours", "theirs": "theirs", "merge": "merged"}[keep]
    conflict.closed_at, conflict.closed_by_id, conflict.reason = actor.now, actor.user.id, reason
    conflict.taken_json = json.dumps(taken) if taken else None
    session.flush()
    record = local_record(session, conflict) or _created(session, conflict)
    audit.record(session, actor, "exchange.conflict", object_type="conflict",
                 object_id=conflict.id, purpose=reason,
                 person_id=incoming.person_of(session, record) if record is not None else None,
                 details={"decision": conflict.status, "source": conflict.source,
                          "record": f"{conflict.record_type} {conflict.source_id}",
                          "fields": taken})
    return conflict


def ask_again(session: Session, actor: Actor, conflict_id: int, *, reason: str
              ) -> ExchangeConflict:
    """Mark a conflict to be asked of the sender: the record (and the one it needs first)."""
    conflict = _open_for_decision(session, actor, conflict_id)
    if conflict.status == "asked":
        raise Conflict(N_("The sender has been asked for this record already."))
    if conflict.record_type == "stage" and conflict.needs_type is None:
        raise InvalidInput(N_("A case stage cannot be asked for again; keep what is here or "
                              "take the sender's."))
    conflict.status, conflict.asked_at = "asked", actor.now
    conflict.reason = correction_reason(reason)
    session.flush()
    audit.record(session, actor, "exchange.ask_again", object_type="conflict",
                 object_id=conflict.id, purpose=conflict.reason,
                 details={"source": conflict.source, "records": len(_asked_records(conflict))})
    return conflict


def ask_document(session: Session, actor: Actor, source: str, key: Ed25519PrivateKey) -> dict:
    """The signed request to the sender for every record of its marked to be asked again."""
    sender = session.scalar(select(Organisation).where(Organisation.code == source))
    if not can_ask_again(session, actor.user, sender, actor.today):
        raise Forbidden(N_("Only the exchange account that receives the packages of %(source)s "
                           "asks it for records."), source=source)
    asked = session.scalars(select(ExchangeConflict).where(
        ExchangeConflict.source == source, ExchangeConflict.status == "asked")
        .order_by(ExchangeConflict.id)).all()
    records = sorted({r for conflict in asked for r in _asked_records(conflict)},
                     key=lambda r: (r[0], r[1]))[:ASK_LIMIT]  # the rest: the next request
    if not records:
        raise InvalidInput(N_("No record of %(source)s is waiting to be asked for."),
                           source=source)
    body = {"format": ASK_FORMAT, "receiver": actor.user.organisation.code, "source": source,
            "records": [{"type": t, "id": i} for t, i in records],
            "signed_at": actor.now.isoformat()}
    audit.record(session, actor, "exchange.ask", object_type="package", object_id=source,
                 details={"records": len(records)})
    return sign(body, key)


def _asked_records(conflict: ExchangeConflict) -> list[tuple[str, int]]:
    found = []
    if conflict.needs_type is not None and conflict.needs_id is not None:
        found.append((conflict.needs_type, conflict.needs_id))
    if conflict.record_type != "stage":
        found.append((conflict.record_type, conflict.source_id))
    return found


def _open_for_decision(session: Session, actor: Actor, conflict_id: int) -> ExchangeConflict:
    conflict = get_conflict(session, actor, conflict_id, lock=True)
    if not conflict.is_open:
        raise Conflict(N_("This conflict was settled already."))
    return conflict


def _keep_ours(session: Session, conflict: ExchangeConflict) -> None:
    """The sender's version counts as seen: its next one applies over the record here."""
    link = linked_record(session, conflict.source, conflict.record_type, conflict.source_id)
    record = local_record(session, conflict)
    if link is not None and record is not None:
        link.source_version = max(link.source_version, conflict.source_version or 0)
        link.local_version = record.version


def _take(session: Session, actor: Actor, conflict: ExchangeConflict,
          fields: list[str] | None, why: str) -> None:
    incoming.apply_again(session, actor, conflict.source, conflict.sequence, conflict.data,
                         stage=conflict.record_type == "stage", decided=fields, reason=why)


def _created(session: Session, conflict: ExchangeConflict) -> object | None:
    """The record a taken conflict created here (it had none)."""
    link = linked_record(session, conflict.source, conflict.record_type, conflict.source_id)
    if link is None or conflict.record_type not in MODELS:
        return None
    conflict.local_id = link.local_id
    return session.get(MODELS[conflict.record_type], link.local_id)
