"""Packages in: applied in order, each record created or brought to the package's version; a
package applied twice changes nothing; a record changed here since is a conflict, reported."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Date, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflow.audit import chain as audit
from workflow.context import Actor
from workflow.errors import Conflict, DomainError, Forbidden, InvalidInput
from workflow.exchange.policy import can_import
from workflow.exchange.trust import outside_scope, verified_package
from workflow.exchange.wire import (
    MODELS,
    NOT_COPIED,
    ORDER,
    ORG_REFS,
    RECEIPT_FORMAT,
    RECORD_REFS,
    canonical,
    linked_record,
    org_codes,
    sign,
)
from workflow.i18n import N_
from workflow.models import (
    CaseStageEntry,
    CustodyEpisode,
    CustodyEvent,
    ExchangeConflict,
    ExchangeLink,
    ExchangePackage,
    Organisation,
    Person,
    PersonIdentifier,
    PersonMatch,
)
from workflow.names import given_name_key, search_key
from workflow.organisations.scope import management_scope
from workflow.records.checks import lock_row
from workflow.records.enums import IdentifierKind
from workflow.records.identifiers import normalise_identifier
from workflow.records.versions import RECORD_LABELS, plain, write_version
from workflow.security.permissions import Permission, require

# --- packages in ----------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What importing a package did."""

    source: str
    sequence: int
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    linked: int = 0
    near_matches: int = 0
    conflicts: list[dict] = field(default_factory=list)
    already_imported: bool = False
    # For the conflict queue: each conflict with the sender's record; the records applied.
    pending: list[dict] = field(default_factory=list, repr=False)
    applied: dict[tuple[str, int], int] = field(default_factory=dict, repr=False)

    def conflict(self, item: dict, problem: _Skip, local_id: int | None = None) -> None:
        """Report a record not applied as sent, and keep it for the queue."""
        entry = {"type": item.get("type", "stage"), "id": item["id"], "problem": str(problem)}
        if "version" in item:
            entry["version"] = item["version"]
        self.conflicts.append(entry)
        self.pending.append(entry | {"item": item, "local_id": local_id, "needs": problem.needs,
                                     "message": problem.message, "params": problem.params})

    def as_dict(self) -> dict:
        """For the package's row, the audit entry and the API."""
        return {"source": self.source, "sequence": self.sequence, "created": self.created,
                "updated": self.updated, "unchanged": self.unchanged, "linked": self.linked,
                "near_matches": self.near_matches, "conflicts": self.conflicts,
                "already_imported": self.already_imported}


def import_package(session: Session, actor: Actor, package: object) -> ImportReport:
    """Verify and apply a package; all of it or, when it is refused, nothing."""
    require(actor.user, Permission.EXCHANGE_DATA)
    body, digest = verified_package(session, package)
    source, sequence = body["source"], body["sequence"]
    sender = session.scalar(select(Organisation).where(Organisation.code == source))
    if sender is None or not can_import(session, actor.user, sender, actor.today):
        raise Forbidden(N_("This account does not receive the packages of %(source)s."),
                        source=source)
    report = ImportReport(source, sequence)
    prior = session.scalar(select(ExchangePackage).where(
        ExchangePackage.direction == "in", ExchangePackage.source == source,
        ExchangePackage.sequence == sequence))
    if prior is not None and prior.sha256 != digest:
        raise Conflict(N_("Package %(n)s of %(source)s was imported before with other "
                          "content."), n=sequence, source=source)
    if prior is None:
        # The order first: a package after a gap is refused as such, whatever it holds.
        last = session.scalar(select(func.max(ExchangePackage.sequence)).where(
            ExchangePackage.direction == "in", ExchangePackage.source == source)) or 0
        if sequence != last + 1:
            raise Conflict(N_("Package %(n)s of %(source)s comes next; this one is %(got)s."),
                           n=last + 1, source=source, got=sequence)
    outside = outside_scope(session, body, management_scope(session, sender, actor.today))
    if outside:
        raise Forbidden(N_("The package holds a record outside the scope of %(source)s "
                           "(%(record)s): it is refused and nothing was applied."),
                        source=source, record=outside)
    if prior is not None:
        report.already_imported = True
    else:
        _apply(session, actor, body, report)
        _queue_conflicts(session, actor, source, sequence, report)
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


def receipt(receiver: str, package: object, key: Ed25519PrivateKey, at: dt.datetime,
            report: ImportReport | None = None, refusal: DomainError | None = None) -> dict:
    """The receiver's signed word to the sender on a package: its hash as it arrived, and
    whether it was applied (with its conflicts), already applied, or refused and why."""
    document = package if isinstance(package, dict) else {}
    body = {k: v for k, v in document.items() if k != "signature"}
    if report is not None:
        outcome = "already applied" if report.already_imported else "applied"
    else:
        outcome = "refused"
    return sign({
        "format": RECEIPT_FORMAT, "receiver": receiver, "source": document.get("source"),
        "sequence": document.get("sequence"),
        "sha256": hashlib.sha256(canonical(body)).hexdigest(), "outcome": outcome,
        "created": report.created if report else 0, "updated": report.updated if report else 0,
        "conflicts": report.conflicts if report else [],
        "reason": refusal.message % refusal.params if refusal is not None else None,
        "signed_at": at.isoformat()}, key)


def apply_again(session: Session, actor: Actor, source: str, sequence: int, item: dict, *,
                stage: bool, decided: Collection[str] | None, reason: str) -> ImportReport:
    """Apply a sender's record kept in the conflict queue, on a records officer's decision: all
    of it or the fields `decided` over the record here. Raises if it still cannot be."""
    orgs = {code: oid for oid, code in org_codes(session).items()}
    report = ImportReport(source, sequence)
    if stage:
        _apply_stage(session, source, item, orgs, report)
    else:
        _apply_record(session, actor, source, item, orgs, reason, report,
                      _documents([item]), decided=decided, decision=True)
    if report.pending:
        problem = report.pending[0]
        params = dict(problem["params"])
        if "type" in params:  # the record's kind in words, translated with the message
            params["type"] = RECORD_LABELS.get(params["type"], params["type"])
        raise Conflict(problem["message"], **params)
    return report


def _queue_conflicts(session: Session, actor: Actor, source: str, sequence: int,
                     report: ImportReport) -> None:
    """Keep each conflict for a decision (one open entry per record: a later version's conflict
    replaces what it holds), and close the open entries of records this package applied."""
    waiting = {(c.record_type, c.source_id): c for c in session.scalars(
        select(ExchangeConflict).where(ExchangeConflict.source == source,
                                       ExchangeConflict.status.in_(("open", "asked")))
        .with_for_update())}
    for key in report.applied & waiting.keys():
        entry = waiting.pop(key)
        entry.status, entry.closed_at, entry.closed_in = "applied", actor.now, sequence
    for pending in report.pending:
        if report.applied.get((pending["type"], pending["id"]), -1) >= pending.get("version", 0):
            continue  # a later version of it applied in this very package
        entry = waiting.get((pending["type"], pending["id"]))
        if entry is None:
            entry = ExchangeConflict(source=source, record_type=pending["type"],
                                     source_id=pending["id"], found_at=actor.now,
                                     status="open")
            session.add(entry)
            waiting[(pending["type"], pending["id"])] = entry
        needs = pending["needs"]
        entry.sequence, entry.source_version = sequence, pending.get("version")
        entry.local_id, entry.data_json = pending["local_id"], json.dumps(pending["item"])
        entry.problem = json.dumps({"message": pending["message"],
                                    "params": pending["params"]}, default=str)
        entry.needs_type, entry.needs_id = (needs if needs and isinstance(needs[1], int)
                                            else (None, None))
    session.flush()


def _apply(session: Session, actor: Actor, body: dict, report: ImportReport) -> None:
    orgs = {code: oid for oid, code in org_codes(session).items()}
    reason = f"exchange:{body['source']}#{body['sequence']}"
    in_order = sorted(body["records"],
                      key=lambda r: (ORDER.index(r["type"]), r["id"], r["version"]))
    documents = _documents(body["records"])
    for item in in_order:
        _apply_record(session, actor, body["source"], item, orgs, reason, report, documents)
    for item in body["stages"]:
        _apply_stage(session, body["source"], item, orgs, report)


def _documents(records: list[dict]) -> dict[int, set[tuple[IdentifierKind, str]]]:
    """The identity documents the package gives each of its persons (by the sender's id)."""
    found: dict[int, set[tuple[IdentifierKind, str]]] = {}
    for item in records:
        data = item["data"]
        typed = _typed(data) if item["type"] == "identifier" else None
        if typed is not None and isinstance(data.get("person_id"), int):
            found.setdefault(data["person_id"], set()).add(typed)
    return found


def _typed(data: Mapping) -> tuple[IdentifierKind, str] | None:
    try:
        kind = IdentifierKind(data.get("kind"))
        return kind, normalise_identifier(kind, str(data.get("value")))
    except (ValueError, InvalidInput):
        return None


def _held_here(session: Session, typed: tuple[IdentifierKind, str]) -> PersonIdentifier | None:
    kind, value = typed
    return session.scalar(select(PersonIdentifier).where(PersonIdentifier.kind == kind,
                                                         PersonIdentifier.value == value))


def _known_person(session: Session, documents: set[tuple[IdentifierKind, str]]) -> Person | None:
    """The one person here holding one of these identity documents, if any."""
    holders = {held.person_id for typed in sorted(documents, key=str)
               if (held := _held_here(session, typed)) is not None}
    if len(holders) > 1:
        raise _Skip(N_("its identity documents belong to %(n)s different persons here"),
                    n=len(holders))
    return session.get(Person, holders.pop()) if holders else None


def _link_known(session: Session, source: str, item: dict, record: object, values: dict,
                report: ImportReport) -> None:
    """Link the sender's record to the one already here; what differs is a conflict."""
    session.add(ExchangeLink(source=source, record_type=item["type"], source_id=item["id"],
                             local_id=record.id, source_version=item["version"],
                             local_version=record.version))
    report.linked += 1
    differ = sorted(k for k in type(record).corrigible
                    if k in values and getattr(record, k) != values[k])
    if differ:
        report.conflict(item, _Skip(N_("the same as %(type)s %(id)s here (identity document), "
                                       "linked; these differ and were not overwritten: "
                                       "%(fields)s"), type=item["type"], id=record.id,
                                    fields=", ".join(differ)), local_id=record.id)
    else:
        report.applied[(item["type"], item["id"])] = item["version"]


def _flag_near_matches(session: Session, actor: Actor, source: str, source_id: int,
                       person: Person, report: ImportReport) -> None:
    """Persons here with the same name and date of birth but no shared identity document:
    perhaps the same person, for someone to confirm."""
    candidates = session.scalars(select(Person.id).where(
        Person.name_key == person.name_key, Person.birth_date == person.birth_date,
        Person.id != person.id, Person.merged_into_id.is_(None)).order_by(Person.id)).all()
    for candidate in candidates:
        session.add(PersonMatch(source=source, source_id=source_id, person_id=person.id,
                                candidate_id=candidate, found_at=actor.now))
    report.near_matches += bool(candidates)


def _values(session: Session, source: str, model: type, data: dict,
            orgs: Mapping[str, int]) -> dict:
    """The record's columns with its references translated to this database's ids."""
    columns = model.__table__.c
    values: dict[str, object] = {}
    for column, name in ORG_REFS.items():
        if column in columns and name in data:
            code = data[name]
            if code is not None and code not in orgs:
                raise _Skip(N_("unknown organisation %(code)s"), code=code)
            values[column] = orgs[code] if code is not None else None
    for key, value in data.items():
        if key in NOT_COPIED or key in ORG_REFS.values() or key not in columns:
            continue
        if key in RECORD_REFS and value is not None:
            link = linked_record(session, source, RECORD_REFS[key], value)
            if link is None:
                raise _Skip(N_("refers to %(type)s %(id)s, which was never received"),
                            needs=(RECORD_REFS[key], value), type=RECORD_REFS[key], id=value)
            value = link.local_id
        values[key] = _coerce(columns[key], value)
    return values


def _kept_here(session: Session, source: str, item: dict, link: ExchangeLink,
               orgs: Mapping[str, int]) -> dict:
    """The sender's values a records officer decided against (keeping ours, or merging) at
    the version last seen: a field the sender still sends unchanged stays as kept here."""
    decision = session.scalar(select(ExchangeConflict).where(
        ExchangeConflict.source == source, ExchangeConflict.record_type == item["type"],
        ExchangeConflict.source_id == item["id"],
        ExchangeConflict.source_version == link.source_version,
        ExchangeConflict.status.in_(("ours", "merged"))).order_by(ExchangeConflict.id.desc())
        .limit(1))
    if decision is None:
        return {}
    try:
        base = _values(session, source, MODELS[item["type"]], decision.data["data"], orgs)
    except _Skip:
        return {}
    return {k: v for k, v in base.items() if k not in decision.taken}


def readable(session: Session, source: str, record_type: str, data: dict) -> dict:
    """A sender's record as it would be here (references as this database's ids, where it
    has them), for a person to compare with the record here."""
    orgs = {code: oid for oid, code in org_codes(session).items()}
    try:
        values = _values(session, source, MODELS[record_type], data, orgs)
    except (_Skip, KeyError):
        values = {k: v for k, v in data.items() if k not in NOT_COPIED}
    return {k: plain(v) for k, v in values.items()}


class _Skip(Exception):
    """A record that cannot be applied: reported as a conflict (with, when a reference was
    never received, the record to ask the sender for)."""

    def __init__(self, message: str, needs: tuple[str, int] | None = None,
                 **params: object) -> None:
        super().__init__(message % params if params else message)
        self.message, self.params, self.needs = message, params, needs


_REFUSED = N_("refused by the database")


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
        raise _Skip(N_("%(column)s: %(value)s is not valid"), column=column.name,
                    value=repr(value)) from error
    if isinstance(value, (dict, list)):
        raise _Skip(N_("%(column)s: not a plain value"), column=column.name)
    return value


def person_of(session: Session, record: object) -> int | None:
    """The person a record is part of."""
    if isinstance(record, Person):
        return record.id
    if isinstance(record, CustodyEvent):
        return session.get(CustodyEpisode, record.episode_id).person_id
    return getattr(record, "person_id", None)


def _apply_record(session: Session, actor: Actor, source: str, item: dict,
                  orgs: Mapping[str, int], reason: str, report: ImportReport,
                  documents: Mapping[int, set[tuple[IdentifierKind, str]]],
                  decided: Collection[str] | None = None, decision: bool = False) -> None:
    """Apply one record of the sender's; `decided`: a records officer's decision to take these
    fields of it over the record here, whatever changed here since (`decision`: the reason is
    the decision's own)."""
    record_type, source_id, version = item["type"], item["id"], item["version"]
    model = MODELS[record_type]
    link = linked_record(session, source, record_type, source_id)
    if link is not None and version <= link.source_version and decided is None:
        report.unchanged += 1
        return
    try:
        with session.begin_nested():
            values = _values(session, source, model, item["data"], orgs)
            if link is None:
                known = _already_here(session, record_type, item, values, documents)
                if known is not None:
                    _link_known(session, source, item, known, values, report)
                    session.flush()
                    return
                record = model(**values, version=1)
                session.add(record)
            else:
                record = lock_row(session, model, link.local_id)
                if decided is None and record.version != link.local_version:
                    raise _Skip(N_("changed here since the last package; not overwritten"))
                kept = {} if decided is not None else _kept_here(session, source, item, link,
                                                                 orgs)
                for key, value in values.items():
                    if decided is not None and key not in decided:
                        continue
                    if key in kept and kept[key] == value:
                        continue  # kept here on a decision, and the sender has not changed it
                    setattr(record, key, value)
                record.version += 1
            if isinstance(record, Person):
                record.name_key = search_key(record.full_name)
                record.given_key = given_name_key(record.full_name)
            session.flush()
            write_version(session, actor, record, person_id=person_of(session, record),
                          reason=reason if decision else f"{reason} v{version}")
            if link is None:
                session.add(ExchangeLink(source=source, record_type=record_type,
                                         source_id=source_id, local_id=record.id,
                                         source_version=version, local_version=record.version))
                report.created += 1
                if isinstance(record, Person):
                    _flag_near_matches(session, actor, source, source_id, record, report)
            else:
                link.source_version = max(version, link.source_version)
                link.local_version = record.version
                report.updated += 1
            session.flush()
        report.applied[(record_type, source_id)] = version
    except (_Skip, IntegrityError, TypeError) as problem:
        report.conflict(item, problem if isinstance(problem, _Skip) else _Skip(_REFUSED),
                        local_id=link.local_id if link is not None else None)


def _already_here(session: Session, record_type: str, item: dict, values: dict,
                  documents: Mapping[int, set[tuple[IdentifierKind, str]]]) -> object | None:
    """The record here that a new one of the sender's is: a person holding one of its identity
    documents, or that very document of the person it was linked to."""
    if record_type == "person":
        return _known_person(session, documents.get(item["id"], set()))
    if record_type == "identifier" and (typed := _typed(item["data"])) is not None:
        held = _held_here(session, typed)
        if held is not None and held.person_id != values.get("person_id"):
            raise _Skip(N_("identity document held here by another person (%(id)s)"),
                        id=held.person_id)
        return held
    return None


def _apply_stage(session: Session, source: str, item: dict, orgs: Mapping[str, int],
                 report: ImportReport) -> None:
    if linked_record(session, source, "stage", item["id"]) is not None:
        report.unchanged += 1
        return
    case = linked_record(session, source, "case", item.get("case_id"))
    handler = item.get("handling_org")
    try:
        if case is None:
            raise _Skip(N_("refers to %(type)s %(id)s, which was never received"),
                        needs=("case", item.get("case_id")), type="case", id=item.get("case_id"))
        if handler is not None and handler not in orgs:
            raise _Skip(N_("unknown organisation %(code)s"), code=handler)
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
        report.applied[("stage", item["id"])] = 0
    except (_Skip, IntegrityError) as problem:
        report.conflict(item, problem if isinstance(problem, _Skip) else _Skip(_REFUSED))
