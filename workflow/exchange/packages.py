"""Exchange between the two subsystems and with other databases (Decree Arts. 6 §3, 8, 13).

A managing body (the Army subsystem's, say) exports a *package*: every version of its scope's
records written since its last package, read from the append-only version log, signed with its
Ed25519 key. The central centre imports it: the signature must verify against the key registered
for that body, packages apply in order, and each record is created or brought to the package's
version; a record already at that version is left alone, so importing a package twice changes
nothing. A record changed locally since the last package is a conflict: reported, not overwritten.

A *feed* provides the defined fields of the persons whose records changed since the last run to
another database (the crime-prevention database), only under an agreement in force."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Date, and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflow.audit import chain as audit
from workflow.audit.checkpoints import key_id, public_pem
from workflow.context import Actor
from workflow.errors import Conflict, Forbidden, InvalidInput, NotFound
from workflow.i18n import N_
from workflow.models import (
    Case,
    CaseStageEntry,
    CustodyEpisode,
    CustodyEvent,
    ExchangeAgreement,
    ExchangeLink,
    ExchangePackage,
    ExchangePartner,
    FeedRun,
    Organisation,
    Person,
    PersonIdentifier,
    RecordDocument,
    RecordVersion,
    User,
)
from workflow.organisations.scope import Scope, management_scope
from workflow.records.names import given_name_key, search_key
from workflow.records.versions import write_version
from workflow.security.permissions import Permission, can, require

FORMAT = "custody-exchange/1"
FEED_FORMAT = "custody-feed/1"
MODELS: dict[str, type] = {"person": Person, "case": Case, "identifier": PersonIdentifier,
                           "episode": CustodyEpisode, "event": CustodyEvent,
                           "document": RecordDocument}
ORDER = list(MODELS)  # a record comes after those it refers to
RECORD_REFS = {"person_id": "person", "episode_id": "episode", "case_id": "case"}
# Organisations travel by code: ids differ between databases, codes do not.
ORG_REFS = {"facility_id": "facility", "other_facility_id": "other_facility",
            "handling_org_id": "handling_org"}
NOT_COPIED = {"id", "version", "created_at", "created_by_id", "name_key", "given_key"}
FEED_FIELDS: dict[str, str] = {
    "full_name": N_("Full name"), "birth_date": N_("Date of birth"), "sex": N_("Sex"),
    "nationality": N_("Nationality"), "identity_numbers": N_("Identity numbers"),
    "facility": N_("Facility"), "measure": N_("Measure"), "start_date": N_("Start date"),
    "end_date": N_("End date"), "case_number": N_("Case number"), "charges": N_("Charges"),
}


# --- gates: who may send, receive and provide ---------------------------------------------
# Only exchange accounts move data, from the API or the command line (`--account`): the body an
# account belongs to is what it may send and what it may receive into. The installation itself
# (no user, the server's command line) only configures: trusted keys and agreements.


def can_export(session: Session, user: User | None, source: Organisation, day: dt.date) -> bool:
    """Whether the account may send the body's package: only its own body's (the package moves
    that body's sequence, so nobody else may take one)."""
    return can(user, Permission.EXCHANGE_DATA) and user.organisation_id == source.id


def can_import(session: Session, user: User | None, sender: Organisation, day: dt.date) -> bool:
    """Whether the account may apply the sender's packages: the sender manages facilities, and
    they all lie in the scope of the account's own body (the central centre: every sender)."""
    if not can(user, Permission.EXCHANGE_DATA):
        return False
    theirs = management_scope(session, sender, day)
    ours = management_scope(session, user.organisation, day)
    if theirs.empty:
        return False
    return ours.nationwide or (not theirs.nationwide and theirs.facility_ids <= ours.facility_ids)


def can_run_feed(session: Session, user: User | None, agreement: ExchangeAgreement,
                 day: dt.date) -> bool:
    """Whether the account may run the agreement's feed today: a feed provides the whole
    database, so only the exchange account of the body that keeps all of it, in force."""
    return (can(user, Permission.EXCHANGE_DATA) and agreement.in_force(day)
            and management_scope(session, user.organisation, day).nationwide)


def can_configure(user: User | None) -> bool:
    """Whether the actor may trust a key or record an agreement: the installation only."""
    return user is None


def canonical(body: Mapping) -> bytes:
    """The bytes that are signed and hashed: sorted keys, no spaces, UTF-8."""
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def sign(body: dict, key: Ed25519PrivateKey) -> dict:
    """The body with its signature."""
    return {**body, "signature": {"key_id": key_id(key), "value": key.sign(canonical(body)).hex()}}


def _org_codes(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Organisation.id, Organisation.code)).all())


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
    codes = _org_codes(session)
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


# --- packages in ----------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What importing a package did."""

    source: str
    sequence: int
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    conflicts: list[dict] = field(default_factory=list)
    already_imported: bool = False

    def as_dict(self) -> dict:
        """For the package's row, the audit entry and the API."""
        return {"source": self.source, "sequence": self.sequence, "created": self.created,
                "updated": self.updated, "unchanged": self.unchanged,
                "conflicts": self.conflicts, "already_imported": self.already_imported}


def register_partner(session: Session, actor: Actor, code: str, public_key_pem: str
                     ) -> ExchangePartner:
    """Trust a body's packages signed with this key (a new key replaces the old)."""
    if not can_configure(actor.user):
        raise Forbidden(N_("Keys are trusted by the administrators of the database."))
    try:
        key = serialization.load_pem_public_key(public_key_pem.encode())
    except ValueError as error:
        raise InvalidInput(N_("This is not a public key in PEM.")) from error
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInput(N_("Exchange keys are Ed25519 keys."))
    partner = session.scalar(select(ExchangePartner).where(ExchangePartner.code == code))
    if partner is None:
        partner = ExchangePartner(code=code, public_key="", key_id="")
        session.add(partner)
    partner.public_key, partner.key_id = public_pem(key), key_id(key)
    session.flush()
    audit.record(session, actor, "exchange.trust", object_type="partner", object_id=code,
                 details={"key_id": partner.key_id})
    return partner


def _verified(session: Session, package: object) -> tuple[dict, str]:
    """The package's body once its form and signature are checked, and its SHA-256."""
    if not isinstance(package, dict) or package.get("format") != FORMAT:
        raise InvalidInput(N_("This is not an exchange package (format %(format)s)."),
                           format=FORMAT)
    body = {k: v for k, v in package.items() if k != "signature"}
    signature = package.get("signature")
    source = body.get("source")
    if not isinstance(source, str) or not isinstance(signature, dict):
        raise InvalidInput(N_("The package names no source or carries no signature."))
    partner = session.scalar(select(ExchangePartner).where(ExchangePartner.code == source))
    if partner is None:
        raise InvalidInput(N_("No key is registered for %(source)s: its packages are not "
                              "accepted."), source=source)
    key = serialization.load_pem_public_key(partner.public_key.encode())
    try:
        key.verify(bytes.fromhex(str(signature.get("value", ""))), canonical(body))
    except (InvalidSignature, ValueError) as error:
        raise InvalidInput(N_("The package's signature does not verify: it was changed after "
                              "signing, or signed with another key. Nothing was applied."),
                           ) from error
    if not isinstance(body.get("sequence"), int) or not isinstance(body.get("records"), list) \
            or not isinstance(body.get("stages"), list) or not isinstance(body.get("marks"), dict):
        raise InvalidInput(N_("The package is incomplete."))
    for i, item in enumerate(body["records"]):
        if not isinstance(item, dict) or item.get("type") not in MODELS \
                or not isinstance(item.get("id"), int) or not isinstance(item.get("version"), int) \
                or not isinstance(item.get("data"), dict) \
                or not all(isinstance(item["data"].get(ref), int | None) for ref in RECORD_REFS):
            raise InvalidInput(N_("Record %(n)s of the package is malformed."), n=i + 1)
    if not all(isinstance(item, dict) and isinstance(item.get("id"), int)
               for item in body["stages"]):
        raise InvalidInput(N_("A case stage of the package is malformed."))
    return body, hashlib.sha256(canonical(body)).hexdigest()


def _outside_scope(session: Session, body: dict, scope: Scope) -> str | None:
    """The first record of the package that is not the sender's to send, if any.

    Episodes must be at the sender's facilities. Every other record must belong to one of them:
    to an episode of the package, or to a record received from the sender before whose local
    episode is still in its scope. A record naming one never received is left to the conflict
    report (it cannot be applied); a new person or case tied to no episode is refused."""
    source = body["source"]
    orgs = {code: oid for oid, code in _org_codes(session).items()}
    episodes = [r for r in body["records"] if r["type"] == "episode"]
    for item in episodes:
        facility = orgs.get(item["data"].get("facility"))
        if facility is None or not scope.covers(facility):
            return f"episode {item['id']}"
    sent = {"episode": {r["id"] for r in episodes},
            "person": {r["data"].get("person_id") for r in episodes} - {None},
            "case": {r["data"].get("case_id") for r in episodes} - {None}}
    columns = {"episode": CustodyEpisode.id, "person": CustodyEpisode.person_id,
               "case": CustodyEpisode.case_id}
    known: dict[tuple[str, int], bool | None] = {}

    def held(kind: str, source_id: object) -> bool | None:
        # True: in scope; False: outside it; None: never received from this sender.
        if not isinstance(source_id, int):
            return None
        if source_id in sent[kind]:
            return True
        if (kind, source_id) not in known:
            link = _link(session, source, kind, source_id)
            known[kind, source_id] = None if link is None else any(
                scope.covers(f) for f in session.scalars(select(CustodyEpisode.facility_id)
                                                         .where(columns[kind] == link.local_id)))
        return known[kind, source_id]

    for item in body["records"]:
        kind, data = item["type"], item["data"]
        if kind in ("person", "case"):
            inside = held(kind, item["id"]) is True
        elif kind == "document" and data.get("episode_id") is not None:
            inside = held("episode", data["episode_id"]) is not False
        elif kind in ("identifier", "document"):
            inside = held("person", data.get("person_id")) is not False
        elif kind == "event":
            inside = held("episode", data.get("episode_id")) is not False
        else:
            inside = True
        if not inside:
            return f"{kind} {item['id']}"
    for item in body["stages"]:
        if held("case", item.get("case_id")) is False:
            return f"stage {item['id']}"
    return None


def import_package(session: Session, actor: Actor, package: object) -> ImportReport:
    """Verify and apply a package; all of it or, when it is refused, nothing."""
    require(actor.user, Permission.EXCHANGE_DATA)
    body, digest = _verified(session, package)
    source, sequence = body["source"], body["sequence"]
    sender = session.scalar(select(Organisation).where(Organisation.code == source))
    if sender is None or not can_import(session, actor.user, sender, actor.today):
        raise Forbidden(N_("This account does not receive the packages of %(source)s."),
                        source=source)
    outside = _outside_scope(session, body, management_scope(session, sender, actor.today))
    if outside:
        raise Forbidden(N_("The package holds a record outside the scope of %(source)s "
                           "(%(record)s): it is refused and nothing was applied."),
                        source=source, record=outside)
    report = ImportReport(source, sequence)
    prior = session.scalar(select(ExchangePackage).where(
        ExchangePackage.direction == "in", ExchangePackage.source == source,
        ExchangePackage.sequence == sequence))
    if prior is not None:
        if prior.sha256 != digest:
            raise Conflict(N_("Package %(n)s of %(source)s was imported before with other "
                              "content."), n=sequence, source=source)
        report.already_imported = True
    else:
        last = session.scalar(select(func.max(ExchangePackage.sequence)).where(
            ExchangePackage.direction == "in", ExchangePackage.source == source)) or 0
        if sequence != last + 1:
            raise Conflict(N_("Package %(n)s of %(source)s comes next; this one is %(got)s."),
                           n=last + 1, source=source, got=sequence)
        _apply(session, actor, body, report)
        session.add(ExchangePackage(
            direction="in", source=source, sequence=sequence, sha256=digest,
            marks_json=json.dumps(body["marks"]), result_json=json.dumps(report.as_dict()),
            at=actor.now, actor_id=actor.user.id if actor.user else None))
    audit.record(session, actor, "exchange.import", object_type="package",
                 object_id=f"{source}#{sequence}",
                 details={k: v for k, v in report.as_dict().items() if k != "conflicts"}
                 | {"conflicts": len(report.conflicts)})
    session.flush()
    return report


def _apply(session: Session, actor: Actor, body: dict, report: ImportReport) -> None:
    orgs = {code: oid for oid, code in _org_codes(session).items()}
    reason = f"exchange:{body['source']}#{body['sequence']}"
    in_order = sorted(body["records"],
                      key=lambda r: (ORDER.index(r["type"]), r["id"], r["version"]))
    for item in in_order:
        _apply_record(session, actor, body["source"], item, orgs, reason, report)
    for item in body["stages"]:
        _apply_stage(session, body["source"], item, orgs, report)


def _link(session: Session, source: str, record_type: str, source_id: object
          ) -> ExchangeLink | None:
    return session.scalar(select(ExchangeLink).where(
        ExchangeLink.source == source, ExchangeLink.record_type == record_type,
        ExchangeLink.source_id == source_id))


def _values(session: Session, source: str, model: type, data: dict,
            orgs: Mapping[str, int]) -> dict:
    """The record's columns with its references translated to this database's ids."""
    columns = model.__table__.c
    values: dict[str, object] = {}
    for column, name in ORG_REFS.items():
        if column in columns and name in data:
            code = data[name]
            if code is not None and code not in orgs:
                raise _Skip(f"unknown organisation {code}")
            values[column] = orgs[code] if code is not None else None
    for key, value in data.items():
        if key in NOT_COPIED or key in ORG_REFS.values() or key not in columns:
            continue
        if key in RECORD_REFS and value is not None:
            link = _link(session, source, RECORD_REFS[key], value)
            if link is None:
                raise _Skip(f"refers to {RECORD_REFS[key]} {value}, which was never received")
            value = link.local_id
        values[key] = _coerce(columns[key], value)
    return values


class _Skip(Exception):
    """A record that cannot be applied: reported as a conflict."""


def _coerce(column, value: object) -> object:
    if value is None:
        return None
    try:
        if isinstance(column.type, Date):
            return dt.date.fromisoformat(str(value))
        enum_class = getattr(column.type, "enum_class", None)
        if enum_class is not None:
            return enum_class(value)
    except ValueError as error:
        raise _Skip(f"{column.name}: {value!r} is not valid") from error
    if isinstance(value, (dict, list)):
        raise _Skip(f"{column.name}: not a plain value")
    return value


def _person_of(session: Session, record: object) -> int | None:
    if isinstance(record, Person):
        return record.id
    if isinstance(record, CustodyEvent):
        return session.get(CustodyEpisode, record.episode_id).person_id
    return getattr(record, "person_id", None)


def _apply_record(session: Session, actor: Actor, source: str, item: dict,
                  orgs: Mapping[str, int], reason: str, report: ImportReport) -> None:
    record_type, source_id, version = item["type"], item["id"], item["version"]
    model = MODELS[record_type]
    link = _link(session, source, record_type, source_id)
    if link is not None and version <= link.source_version:
        report.unchanged += 1
        return
    try:
        with session.begin_nested():
            values = _values(session, source, model, item["data"], orgs)
            if link is None:
                record = model(**values, version=1)
                session.add(record)
            else:
                record = session.get(model, link.local_id)
                if record.version != link.local_version:
                    raise _Skip("changed here since the last package; not overwritten")
                for key, value in values.items():
                    setattr(record, key, value)
                record.version += 1
            if isinstance(record, Person):
                record.name_key = search_key(record.full_name)
                record.given_key = given_name_key(record.full_name)
            session.flush()
            write_version(session, actor, record, person_id=_person_of(session, record),
                          reason=f"{reason} v{version}")
            if link is None:
                session.add(ExchangeLink(source=source, record_type=record_type,
                                         source_id=source_id, local_id=record.id,
                                         source_version=version, local_version=record.version))
                report.created += 1
            else:
                link.source_version, link.local_version = version, record.version
                report.updated += 1
            session.flush()
    except (_Skip, IntegrityError, TypeError) as problem:
        why = str(problem) if isinstance(problem, _Skip) else "refused by the database"
        report.conflicts.append({"type": record_type, "id": source_id, "version": version,
                                 "problem": why})


def _apply_stage(session: Session, source: str, item: dict, orgs: Mapping[str, int],
                 report: ImportReport) -> None:
    if _link(session, source, "stage", item["id"]) is not None:
        report.unchanged += 1
        return
    case = _link(session, source, "case", item.get("case_id"))
    handler = item.get("handling_org")
    try:
        if case is None:
            raise _Skip(f"refers to case {item.get('case_id')}, which was never received")
        if handler is not None and handler not in orgs:
            raise _Skip(f"unknown organisation {handler}")
        columns = CaseStageEntry.__table__.c
        with session.begin_nested():
            stage = CaseStageEntry(
                case_id=case.local_id, stage=_coerce(columns["stage"], item.get("stage")),
                handling_org_id=orgs[handler] if handler else None,
                from_date=_coerce(columns["from_date"], item.get("from_date")),
                note=item.get("note") if isinstance(item.get("note"), str) else None)
            session.add(stage)
            session.flush()
            session.add(ExchangeLink(source=source, record_type="stage", source_id=item["id"],
                                     local_id=stage.id))
            session.flush()
        report.created += 1
    except (_Skip, IntegrityError) as problem:
        why = str(problem) if isinstance(problem, _Skip) else "refused by the database"
        report.conflicts.append({"type": "stage", "id": item["id"], "problem": why})


# --- feeds under agreements -----------------------------------------------------------------


def create_agreement(session: Session, actor: Actor, *, partner: str, fields: list[str],
                     purpose: str, approval_ref: str, valid_from: dt.date,
                     valid_to: dt.date) -> ExchangeAgreement:
    """Record an approved agreement (from the command line: who approved is in its reference)."""
    if not can_configure(actor.user):
        raise Forbidden(N_("Agreements are recorded by the administrators of the database."))
    unknown = sorted(set(fields) - set(FEED_FIELDS))
    if unknown or not fields:
        raise InvalidInput(N_("Unknown or missing fields: %(fields)s. Allowed: %(allowed)s."),
                           fields=", ".join(unknown) or "-", allowed=", ".join(FEED_FIELDS))
    if valid_to < valid_from:
        raise InvalidInput(N_("The agreement ends before it starts."))
    if not partner.strip() or not approval_ref.strip() or len(purpose.strip()) < 10:
        raise InvalidInput(N_("Name the partner, the approval document and the purpose."))
    agreement = ExchangeAgreement(
        partner=partner.strip(), fields_json=json.dumps([f for f in FEED_FIELDS if f in fields]),
        purpose=purpose.strip(), approval_ref=approval_ref.strip(), valid_from=valid_from,
        valid_to=valid_to, created_at=actor.now)
    session.add(agreement)
    session.flush()
    audit.record(session, actor, "exchange.agreement", object_type="agreement",
                 object_id=agreement.id, details={"partner": agreement.partner,
                                                  "fields": agreement.fields,
                                                  "until": valid_to.isoformat()})
    return agreement


def run_feed(session: Session, actor: Actor, agreement_id: int, key: Ed25519PrivateKey) -> dict:
    """The agreed fields of every person whose records changed since the last run, signed."""
    require(actor.user, Permission.EXCHANGE_DATA)
    agreement = session.get(ExchangeAgreement, agreement_id)
    if agreement is None:
        raise NotFound(N_("No such agreement."))
    if not agreement.in_force(actor.today):
        raise Forbidden(N_("The agreement is not in force today (%(start)s – %(end)s): nothing "
                           "is provided."), start=agreement.valid_from.strftime("%d/%m/%Y"),
                        end=agreement.valid_to.strftime("%d/%m/%Y"))
    if not can_run_feed(session, actor.user, agreement, actor.today):
        raise Forbidden(N_("Only the exchange account of the body that keeps the whole database "
                           "runs a feed."))
    last = session.scalar(select(FeedRun).where(FeedRun.agreement_id == agreement.id)
                          .order_by(FeedRun.id.desc()).limit(1))
    since = last.until_mark if last else 0
    until = session.scalar(select(func.max(RecordVersion.id))) or 0
    person_ids = sorted(session.scalars(select(RecordVersion.person_id).where(
        RecordVersion.id > since, RecordVersion.id <= until,
        RecordVersion.person_id.is_not(None)).distinct()))
    rows = [_feed_row(session, pid, agreement.fields) for pid in person_ids]
    body = {"format": FEED_FORMAT, "agreement": agreement.id, "partner": agreement.partner,
            "approval_ref": agreement.approval_ref, "fields": agreement.fields,
            "run": (session.scalar(select(func.count()).select_from(FeedRun).where(
                FeedRun.agreement_id == agreement.id)) or 0) + 1,
            "created_at": actor.now.isoformat(), "persons": rows}
    session.add(FeedRun(agreement_id=agreement.id, at=actor.now,
                        actor_id=actor.user.id if actor.user else None, since_mark=since,
                        until_mark=until, persons=len(rows),
                        sha256=hashlib.sha256(canonical(body)).hexdigest()))
    audit.record(session, actor, "exchange.feed", object_type="agreement",
                 object_id=agreement.id, details={"persons": len(rows), "run": body["run"]})
    return sign(body, key)


def _feed_row(session: Session, person_id: int, fields: list[str]) -> dict:
    person = session.get(Person, person_id)
    episode = person.episodes[-1] if person.episodes else None
    case = episode.case if episode else None
    everything = {
        "full_name": person.full_name, "birth_date": person.birth_date.isoformat(),
        "sex": person.sex.value, "nationality": person.nationality,
        "identity_numbers": [{"kind": i.kind.value, "value": i.value}
                             for i in person.identifiers],
        "facility": episode.facility.code if episode else None,
        "measure": episode.measure.value if episode else None,
        "start_date": episode.start_date.isoformat() if episode else None,
        "end_date": episode.end_date.isoformat() if episode and episode.end_date else None,
        "case_number": case.number if case else None,
        "charges": case.charges if case else None,
    }
    return {"ref": person.id, **{f: everything[f] for f in fields}}
