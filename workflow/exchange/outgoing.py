"""Packages out: every version of a body's scope written since its last package, read from the
append-only version log and signed with the body's key; the sequence moves only for its owner."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from workflow.audit import chain as audit
from workflow.context import Actor
from workflow.errors import Forbidden, InvalidInput, NotFound
from workflow.exchange import changelog
from workflow.exchange.policy import can_export, receives
from workflow.exchange.trust import moment, verified
from workflow.exchange.wire import (
    ASK_FORMAT,
    ASK_LIMIT,
    FORMAT,
    MODELS,
    ORG_REFS,
    RECEIPT_FORMAT,
    RECEIPT_OUTCOMES,
    canonical,
    org_codes,
    sign,
)
from workflow.i18n import N_
from workflow.models import (
    CaseStageEntry,
    ChangeLogEntry,
    CustodyEpisode,
    CustodyEvent,
    ExchangeAsk,
    ExchangePackage,
    ExchangeReceipt,
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
    source = _own_body(session, actor, source_code)
    scope = management_scope(session, source, actor.today)
    if scope.empty:
        raise InvalidInput(N_("%(code)s manages no facility: it has no records to send."),
                          code=source_code)
    last = session.scalar(select(ExchangePackage).where(
        ExchangePackage.direction == "out", ExchangePackage.source == source_code)
        .order_by(ExchangePackage.sequence.desc()).limit(1))
    since = changelog.start_of(session, last.marks) if last else 0
    upto = changelog.place(session)
    window = (ChangeLogEntry.position > since, ChangeLogEntry.position <= upto)
    versions = list(session.scalars(select(RecordVersion).join(
        ChangeLogEntry, ChangeLogEntry.version_id == RecordVersion.id).where(
        *window, _in_package(scope)).order_by(ChangeLogEntry.position)))
    sequence = (last.sequence if last else 0) + 1
    versions += _asked(session, source_code, scope, versions, sequence)
    cases = _scope_cases(scope)
    codes = org_codes(session)
    records = [{"type": v.record_type, "id": v.record_id, "version": v.version,
                "data": _outgoing(json.loads(v.data), codes)} for v in versions]
    stages = [{"id": s.id, "case_id": s.case_id, "stage": s.stage.value,
               "handling_org": codes.get(s.handling_org_id) if s.handling_org_id else None,
               "from_date": s.from_date.isoformat(), "note": s.note}
              for s in session.scalars(select(CaseStageEntry).join(
                  ChangeLogEntry, ChangeLogEntry.stage_id == CaseStageEntry.id).where(
                  *window, CaseStageEntry.case_id.in_(cases)).order_by(ChangeLogEntry.position))]
    body = {"format": FORMAT, "source": source_code, "sequence": sequence,
            "created_at": actor.now.isoformat(), "marks": {"log": upto}, "records": records,
            "stages": stages}
    session.add(ExchangePackage(
        direction="out", source=source_code, sequence=sequence,
        sha256=hashlib.sha256(canonical(body)).hexdigest(), marks_json=json.dumps({"log": upto}),
        result_json=json.dumps({"records": len(records), "stages": len(stages)}),
        at=actor.now, actor_id=actor.user.id if actor.user else None,
        body=canonical(body).decode()))
    audit.record(session, actor, "exchange.export", object_type="package",
                 object_id=f"{source_code}#{sequence}",
                 details={"records": len(records), "stages": len(stages)})
    return sign(body, key)


def _asked(session: Session, source_code: str, scope, sending: list[RecordVersion],
           sequence: int) -> list[RecordVersion]:
    """The latest version of each record a receiver asked for again (of the scope's own
    records, not already in the package); the asks are answered by this package."""
    asks = session.scalars(select(ExchangeAsk).where(
        ExchangeAsk.source == source_code, ExchangeAsk.sent_in.is_(None))
        .order_by(ExchangeAsk.id).with_for_update()).all()
    have = {(v.record_type, v.record_id) for v in sending}
    wanted: list[tuple[str, int]] = []
    for ask in asks:
        ask.sent_in = sequence
        wanted.append((ask.record_type, ask.record_id))
        # A person or case travels with its episodes here: they show it is ours to send.
        column = {"person": CustodyEpisode.person_id, "case": CustodyEpisode.case_id}.get(
            ask.record_type)
        if column is not None:
            wanted += [("episode", e) for e in session.scalars(
                select(CustodyEpisode.id).where(column == ask.record_id,
                                                CustodyEpisode.id.in_(_scope_episodes(scope)))
                .order_by(CustodyEpisode.id))]
    extra: list[RecordVersion] = []
    for record_type, record_id in wanted:
        if (record_type, record_id) in have:
            continue
        latest = session.scalar(select(RecordVersion).where(
            RecordVersion.record_type == record_type, RecordVersion.record_id == record_id,
            _in_package(scope)).order_by(RecordVersion.version.desc()).limit(1))
        if latest is not None:
            extra.append(latest)
            have.add((record_type, record_id))
    return extra


def record_ask(session: Session, actor: Actor, document: object) -> int:
    """Keep a receiver's signed request for records of ours again (the same request twice is
    kept once); the next package answers it. How many records were newly asked."""
    require(actor.user, Permission.EXCHANGE_DATA)
    if not isinstance(document, dict) or document.get("format") != ASK_FORMAT:
        raise InvalidInput(N_("This is not a request for records (format %(format)s)."),
                           format=ASK_FORMAT)
    source, receiver = document.get("source"), document.get("receiver")
    records = document.get("records")
    if not isinstance(source, str) or not isinstance(receiver, str) \
            or not isinstance(records, list):
        raise InvalidInput(N_("The request names no records."))
    sender = _own_body(session, actor, source)
    if len(records) > ASK_LIMIT:
        raise InvalidInput(N_("A request may name at most %(n)s records."), n=ASK_LIMIT)
    body = verified(session, receiver, document, document.get("signed_at"))
    asked_at = moment(body.get("signed_at"))
    if asked_at is None or not records or not all(_asked_record(r) for r in records):
        raise InvalidInput(N_("The request is incomplete."))
    asker = session.scalar(select(Organisation).where(Organisation.code == receiver))
    if asker is None or not receives(session, asker, sender, actor.today):
        raise InvalidInput(N_("%(receiver)s does not receive the packages of %(source)s: it may "
                           "not ask for their records."), receiver=receiver,
                           source=source)
    wanted = {(r["type"], r["id"]) for r in records}
    kept = {(a.record_type, a.record_id) for a in session.scalars(select(ExchangeAsk).where(
        ExchangeAsk.source == source, ExchangeAsk.receiver == receiver,
        ExchangeAsk.asked_at == asked_at))}
    new = sorted(wanted - kept)
    for record_type, record_id in new:
        session.add(ExchangeAsk(source=source, receiver=receiver, record_type=record_type,
                                record_id=record_id, asked_at=asked_at, recorded_at=actor.now))
    session.flush()
    audit.record(session, actor, "exchange.asked", object_type="package", object_id=source,
                 details={"receiver": receiver, "records": len(new)})
    return len(new)


def _asked_record(record: object) -> bool:
    """Whether one entry of a request names a record: a kind of ours and a row number."""
    return isinstance(record, dict) and isinstance(record.get("type"), str) \
        and record["type"] in MODELS and type(record.get("id")) is int and 0 < record["id"] < 2**31


def reexport_package(session: Session, actor: Actor, source_code: str, sequence: int,
                     key: Ed25519PrivateKey) -> dict:
    """Package `sequence` again, as it was made (same content, same number), signed with the
    current key: for a package lost on the way or signed with a key since replaced."""
    _own_body(session, actor, source_code)
    package = _sent(session, source_code, sequence)
    if package.body is None:
        raise InvalidInput(N_("Package %(n)s was sent before packages were kept: it cannot be "
                              "made again."), n=sequence)
    audit.record(session, actor, "exchange.reexport", object_type="package",
                 object_id=f"{source_code}#{sequence}", details={"sha256": package.sha256})
    return sign(json.loads(package.body), key)


def record_receipt(session: Session, actor: Actor, receipt: object) -> ExchangeReceipt:
    """Keep a receiver's signed receipt for one of our packages (the same receipt twice is kept
    once); refused if its signature does not verify with the receiver's trusted key."""
    require(actor.user, Permission.EXCHANGE_DATA)
    if not isinstance(receipt, dict) or receipt.get("format") != RECEIPT_FORMAT:
        raise InvalidInput(N_("This is not an exchange receipt (format %(format)s)."),
                           format=RECEIPT_FORMAT)
    source, sequence = receipt.get("source"), receipt.get("sequence")
    if not isinstance(source, str) or not isinstance(sequence, int) \
            or not isinstance(receipt.get("receiver"), str):
        raise InvalidInput(N_("The receipt names no package."))
    _own_body(session, actor, source)
    body = verified(session, receipt["receiver"], receipt, receipt.get("signed_at"))
    signed_at = moment(body.get("signed_at"))
    if body.get("outcome") not in RECEIPT_OUTCOMES or not isinstance(body.get("conflicts"), list) \
            or not isinstance(body.get("sha256"), str) or signed_at is None:
        raise InvalidInput(N_("The receipt is incomplete."))
    package = _sent(session, source, sequence)
    digest = hashlib.sha256(canonical(receipt)).hexdigest()
    kept = session.scalar(select(ExchangeReceipt).where(ExchangeReceipt.digest == digest))
    if kept is not None:
        return kept
    kept = ExchangeReceipt(
        package_id=package.id, receiver=body["receiver"], outcome=body["outcome"],
        sha256=body["sha256"][:64], conflicts=len(body["conflicts"]),
        signed_at=signed_at,
        document=canonical(receipt).decode(), digest=digest, recorded_at=actor.now,
        recorded_by_id=actor.user.id if actor.user else None)
    session.add(kept)
    session.flush()
    audit.record(session, actor, "exchange.receipt", object_type="package",
                 object_id=f"{source}#{sequence}",
                 details={"receiver": kept.receiver, "outcome": kept.outcome,
                          "conflicts": kept.conflicts, "same_hash": kept.sha256 == package.sha256})
    return kept


@dataclass(frozen=True)
class SentPackage:
    """A package sent and what its receivers said of it."""

    sequence: int
    sha256: str
    at: dt.datetime
    records: int
    receipts: list[ExchangeReceipt]

    @property
    def acknowledged(self) -> bool:
        """Whether a receiver said it applied this very content."""
        return any(r.outcome in ("applied", "already applied") and r.sha256 == self.sha256
                   for r in self.receipts)

    def as_dict(self) -> dict:
        """For the API."""
        return {"sequence": self.sequence, "sha256": self.sha256, "at": self.at.isoformat(),
                "records": self.records, "acknowledged": self.acknowledged,
                "receipts": [{"receiver": r.receiver, "outcome": r.outcome,
                              "same_content": r.sha256 == self.sha256,
                              "conflicts": r.conflicts, "signed_at": r.signed_at.isoformat()}
                             for r in self.receipts]}


def sent_packages(session: Session, actor: Actor, source_code: str) -> list[SentPackage]:
    """The body's packages, newest first, each with the receipts recorded for it."""
    _own_body(session, actor, source_code)
    packages = session.scalars(select(ExchangePackage).where(
        ExchangePackage.direction == "out", ExchangePackage.source == source_code)
        .order_by(ExchangePackage.sequence.desc())).all()
    receipts: dict[int, list[ExchangeReceipt]] = {}
    for receipt in session.scalars(select(ExchangeReceipt).where(ExchangeReceipt.package_id.in_(
            [p.id for p in packages])).order_by(ExchangeReceipt.signed_at)):
        receipts.setdefault(receipt.package_id, []).append(receipt)
    return [SentPackage(p.sequence, p.sha256, p.at, p.result.get("records", 0),
                        receipts.get(p.id, [])) for p in packages]


def _own_body(session: Session, actor: Actor, source_code: str) -> Organisation:
    require(actor.user, Permission.EXCHANGE_DATA)
    source = session.scalar(select(Organisation).where(Organisation.code == source_code))
    if source is None:
        raise NotFound(N_("No organisation has the code %(code)s."), code=source_code)
    if not can_export(session, actor.user, source, actor.today):
        raise Forbidden(N_("An exchange account sends only its own body's packages."))
    return source


def _sent(session: Session, source_code: str, sequence: int) -> ExchangePackage:
    package = session.scalar(select(ExchangePackage).where(
        ExchangePackage.direction == "out", ExchangePackage.source == source_code,
        ExchangePackage.sequence == sequence))
    if package is None:
        raise NotFound(N_("%(code)s sent no package %(n)s."), code=source_code, n=sequence)
    return package


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
