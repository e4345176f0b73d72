"""Reading the audit trail: inspectors, within their organisation's subtree, filtered by who did
what and when, and about whom: a person named (diacritics optional), identified by an identity
number or by the record's number, with every entry that refers to their data."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, exists, func, not_, or_, select
from sqlalchemy.orm import Session

from workflow.audit import chain as audit
from workflow.context import Actor, vn_midnight
from workflow.errors import InvalidInput
from workflow.i18n import N_
from workflow.models import (
    AccessRequest,
    AuditEntry,
    CustodyEpisode,
    IssuedDocument,
    Person,
    PersonIdentifier,
    User,
)
from workflow.organisations.scope import NATIONWIDE_KINDS, subtree_ids
from workflow.records import search
from workflow.records.checks import user_scope
from workflow.records.identifiers import guess_kind
from workflow.security.permissions import Permission, require

# No entry is older than the system or newer than a date can say: bounds past these are none.
_EARLIEST, _LATEST = dt.date(1900, 1, 1), dt.date.max - dt.timedelta(days=1)
_RECORD_NUMBER = re.compile(r"[1-9]\d{0,8}")
_OWN_VIEW = "audit.view"


@dataclass(frozen=True)
class TrailFilter:
    """What the inspector asked for; dates are Vietnamese calendar days. `subject` is a person as
    typed (a name, an identity number or a record's number); `person_id` one person chosen
    (from the persons a name matched, or an entry's link), in its stead."""

    subject: str | None = None
    person_id: int | None = None
    actor: str | None = None
    action: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    before: int | None = None
    own_views: bool = False


@dataclass(frozen=True)
class Subject:
    """The persons the record filter matched among those the inspector may name (at most
    `search.LIMIT`; `more` if others matched too). The trail is read for one person only."""

    persons: list[search.SearchHit]
    more: bool = False

    @property
    def person(self) -> search.SearchHit | None:
        """The one person matched, if exactly one was."""
        return self.persons[0] if len(self.persons) == 1 and not self.more else None


@dataclass(frozen=True)
class TrailPage:
    """A page of entries, newest first, and the key of the next page; whom the record filter
    found; how many of the inspector's own views of the trail were folded away."""

    entries: list[AuditEntry]
    next_before: int | None
    subject: Subject | None = None
    folded: int = 0


def read_trail(session: Session, actor: Actor, flt: TrailFilter, size: int = 50) -> TrailPage:
    """Entries matching the filter that the inspector may see; the reading is itself audited.
    Asked about a person, the trail is read only once the filter names exactly one."""
    user = require(actor.user, Permission.READ_AUDIT)
    if flt.date_from and flt.date_to and flt.date_to < flt.date_from:
        raise InvalidInput(N_("The end of the period is before its start."))
    orgs = _subtree(session, actor, user)
    where = [] if orgs is None else [AuditEntry.organisation_id.in_(orgs)]
    subject = None
    if flt.subject or flt.person_id:
        subject = _find(session, actor, orgs, flt)
        if subject.person is None:
            _audit_view(session, actor, flt, subject)
            return TrailPage([], None, subject)
        where.append(about(session, subject.person.person_id))
    where += _filters(flt)
    folded = 0
    if not flt.own_views:
        mine = and_(AuditEntry.action == _OWN_VIEW, AuditEntry.actor_id == user.id)
        folded = session.scalar(select(func.count()).select_from(AuditEntry)
                                .where(*where, mine)) or 0
        where.append(or_(AuditEntry.action != _OWN_VIEW,
                         AuditEntry.actor_id.is_distinct_from(user.id)))
    if flt.before:
        where.append(AuditEntry.seq < flt.before)
    entries = list(session.execute(select(AuditEntry).where(*where)
                                   .order_by(AuditEntry.seq.desc()).limit(size + 1)).scalars())
    more = len(entries) > size
    entries = entries[:size]
    _audit_view(session, actor, flt, subject)
    return TrailPage(entries, entries[-1].seq if more else None, subject, folded)


def _subtree(session: Session, actor: Actor, user: User) -> list[int] | None:
    """The organisations whose entries an inspector reads: their organisation's subtree (None:
    every entry, for the central centre)."""
    if user.organisation.kind in NATIONWIDE_KINDS:
        return None
    return sorted(subtree_ids(session, user.organisation_id, actor.today))


def _filters(flt: TrailFilter) -> list[ColumnElement[bool]]:
    where = []
    if flt.actor:
        where.append(AuditEntry.actor_name == flt.actor.strip().lower())
    if flt.action:
        where.append(AuditEntry.action.startswith(flt.action.strip(), autoescape=True))
    if flt.date_from and flt.date_from > _EARLIEST:
        where.append(AuditEntry.occurred_at >= vn_midnight(flt.date_from))
    if flt.date_to and flt.date_to < _LATEST:
        where.append(AuditEntry.occurred_at < vn_midnight(flt.date_to + dt.timedelta(days=1)))
    return where


def _audit_view(session: Session, actor: Actor, flt: TrailFilter, subject: Subject | None) -> None:
    details: dict[str, object] = {k: v for k, v in vars(flt).items() if v}
    if subject is not None:
        details["matched"] = len(subject.persons)
    person = subject.person if subject else None
    audit.record(session, actor, "audit.view", person_id=person.person_id if person else None,
                 details=details)


# --- about whom --------------------------------------------------------------------------------


def _reach(session: Session, actor: Actor, orgs: list[int] | None) -> ColumnElement[bool] | None:
    """The persons an inspector may name (None: everyone, for the centre): those held in their
    body's scope, and those the entries they may read refer to. Choosing from a list and asking
    for one record number pass the same rule."""
    if orgs is None:
        return None
    held = search.scope_clause(user_scope(session, actor))
    referred = exists().where(AuditEntry.person_id == Person.id,
                              AuditEntry.organisation_id.in_(orgs))
    return referred if held is None else or_(held, referred)


def _find(session: Session, actor: Actor, orgs: list[int] | None, flt: TrailFilter) -> Subject:
    within = _reach(session, actor, orgs)
    if flt.person_id:
        ids = _numbered(session, flt.person_id, within)
    else:
        ids = match_subject(session, flt.subject or "", within)
    hits = search.describe(session, ids[:search.LIMIT], user_scope(session, actor))
    return Subject(hits, len(ids) > search.LIMIT)


def _numbered(session: Session, person_id: int,
              within: ColumnElement[bool] | None) -> list[int]:
    stmt = select(Person.id).where(Person.id == person_id)
    if within is not None:
        stmt = stmt.where(within)
    return list(session.scalars(stmt))


def match_subject(session: Session, text: str, within: ColumnElement[bool] | None) -> list[int]:
    """Persons (within reach) a name, an identity number or a record's number matches. A bare
    number may be both an identity number and a record's number: whoever either names."""
    text = text.strip()
    if not _RECORD_NUMBER.fullmatch(text):
        return search.match_persons(session, text, within).ids
    ids = search.match_persons(session, text, within).ids if guess_kind(text) else []
    return list(dict.fromkeys(ids + _numbered(session, int(text), within)))


def about(session: Session, person_id: int) -> ColumnElement[bool]:
    """Entries about a person's data: those that name the person, their requests, the documents
    issued for those requests and their cases, and the searches that gave their full name or one
    of their identity numbers (a search by part of a name is not counted: it named nobody)."""
    requests = select(AccessRequest.id).where(AccessRequest.subject_person_id == person_id)
    documents = select(IssuedDocument.id).where(IssuedDocument.request_id.in_(requests))
    cases = select(CustodyEpisode.case_id).where(CustodyEpisode.person_id == person_id,
                                                 CustodyEpisode.case_id.is_not(None))
    return or_(
        AuditEntry.person_id == person_id,
        _names("person", [person_id]),
        _names("request", session.scalars(requests)),
        _names("case", session.scalars(cases.distinct())),
        # Record documents (record.* entries) are another table's ids and carry the person.
        and_(_names("document", session.scalars(documents)),
             not_(AuditEntry.action.startswith("record."))),
        and_(AuditEntry.action == "record.search", _searched_for(session, person_id)),
    )


def _names(object_type: str, ids) -> ColumnElement[bool]:
    return and_(AuditEntry.object_type == object_type,
                AuditEntry.object_id.in_(sorted(str(i) for i in ids)))


def _searched_for(session: Session, person_id: int) -> ColumnElement[bool]:
    """Searches for the person's full name or an identity number of theirs: by the key a search
    records, or (searches recorded before keys were) by the words typed."""
    person = session.get(Person, person_id)
    assert person is not None
    numbers = list(session.scalars(select(PersonIdentifier.value)
                                   .where(PersonIdentifier.person_id == person_id)))
    keys = [key for key in (person.name_key, *numbers) if key]
    marks = [f'"key": {json.dumps(key)}' for key in keys]
    marks += [f'"query": {json.dumps(typed, ensure_ascii=False)}'
              for typed in dict.fromkeys([person.full_name, *keys])]
    return or_(*(AuditEntry.details.contains(mark, autoescape=True) for mark in marks))


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
