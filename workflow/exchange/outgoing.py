"""Packages out: every version of a body's scope written since its last package, read from the
append-only version log and signed with the body's key; the sequence moves only for its owner."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from workflow.audit import chain as audit
from workflow.context import Actor
from workflow.errors import Forbidden, InvalidInput, NotFound
from workflow.exchange.policy import can_export
from workflow.exchange.wire import FORMAT, ORG_REFS, canonical, org_codes, sign
from workflow.i18n import N_
from workflow.models import (
    CaseStageEntry,
    CustodyEpisode,
    CustodyEvent,
    ExchangePackage,
    Organisation,
    RecordDocument,
    RecordVersion,
)
from workflow.organisations.scope import management_scope
from workflow.security.permissions import Permission, require

# --- packages out ---------------------------------------------------------------------------


def export_package(session: Session, actor: Actor, source_code: str,
                   key: Ed25519PrivateKey) -> dict:
    """The next package of the body's scope: versions written since its last package."""
    require(actor.user, Permission.EXCHANGE_DATA)
    source = session.scalar(select(Organisation).where(Organisation.code == source_code))
    if source is None:
        raise NotFound(N_("No organisation has the code %(code)s."), code=source_code)
    if not can_export(session, actor.user, source, actor.today):
        raise Forbidden(N_("An exchange account sends only its own body's packages."))
    scope = management_scope(session, source, actor.today)
    if scope.empty:
        raise InvalidInput(N_("%(code)s manages no facility: it has no records to send."),
                          code=source_code)
    last = session.scalar(select(ExchangePackage).where(
        ExchangePackage.direction == "out", ExchangePackage.source == source_code)
        .order_by(ExchangePackage.sequence.desc()).limit(1))
    since = last.marks if last else {"version": 0, "stage": 0}
    upto = {"version": session.scalar(select(func.max(RecordVersion.id))) or 0,
            "stage": session.scalar(select(func.max(CaseStageEntry.id))) or 0}
    versions = session.scalars(select(RecordVersion).where(
        RecordVersion.id > since["version"], RecordVersion.id <= upto["version"],
        _in_package(scope)).order_by(RecordVersion.id))
    cases = _scope_cases(scope)
    codes = org_codes(session)
    records = [{"type": v.record_type, "id": v.record_id, "version": v.version,
                "data": _outgoing(json.loads(v.data), codes)} for v in versions]
    stages = [{"id": s.id, "case_id": s.case_id, "stage": s.stage.value,
               "handling_org": codes.get(s.handling_org_id) if s.handling_org_id else None,
               "from_date": s.from_date.isoformat(), "note": s.note}
              for s in session.scalars(select(CaseStageEntry).where(
                  CaseStageEntry.id > since["stage"], CaseStageEntry.id <= upto["stage"],
                  CaseStageEntry.case_id.in_(cases)).order_by(CaseStageEntry.id))]
    sequence = (last.sequence if last else 0) + 1
    body = {"format": FORMAT, "source": source_code, "sequence": sequence,
            "created_at": actor.now.isoformat(), "marks": upto, "records": records,
            "stages": stages}
    session.add(ExchangePackage(
        direction="out", source=source_code, sequence=sequence,
        sha256=hashlib.sha256(canonical(body)).hexdigest(), marks_json=json.dumps(upto),
        result_json=json.dumps({"records": len(records), "stages": len(stages)}),
        at=actor.now, actor_id=actor.user.id if actor.user else None))
    audit.record(session, actor, "exchange.export", object_type="package",
                 object_id=f"{source_code}#{sequence}",
                 details={"records": len(records), "stages": len(stages)})
    return sign(body, key)


def _scope_episodes(scope):
    episodes = select(CustodyEpisode.id)
    if not scope.nationwide:
        episodes = episodes.where(CustodyEpisode.facility_id.in_(sorted(scope.facility_ids)))
    return episodes


def _scope_cases(scope):
    return select(CustodyEpisode.case_id).where(CustodyEpisode.id.in_(_scope_episodes(scope)),
                                                CustodyEpisode.case_id.is_not(None))


def _in_package(scope):
    """Versions of the scope's own records: its episodes with their events, documents and
    cases, and the persons held there with their identity documents (another subsystem's
    episode of the same person is that subsystem's to send)."""
    episodes = _scope_episodes(scope)
    persons = select(CustodyEpisode.person_id).where(CustodyEpisode.id.in_(episodes))
    kind, rid = RecordVersion.record_type, RecordVersion.record_id
    return or_(
        and_(kind.in_(["person", "identifier"]), RecordVersion.person_id.in_(persons)),
        and_(kind == "episode", rid.in_(episodes)),
        and_(kind == "event", rid.in_(select(CustodyEvent.id).where(
            CustodyEvent.episode_id.in_(episodes)))),
        and_(kind == "document", rid.in_(select(RecordDocument.id).where(or_(
            RecordDocument.episode_id.in_(episodes),
            and_(RecordDocument.episode_id.is_(None), RecordDocument.person_id.in_(persons)))))),
        and_(kind == "case", rid.in_(_scope_cases(scope))),
    )


def _outgoing(data: dict, codes: Mapping[int, str]) -> dict:
    out = {k: v for k, v in data.items() if k not in ORG_REFS}
    for column, name in ORG_REFS.items():
        if column in data:
            out[name] = codes.get(data[column]) if data[column] is not None else None
    return out
