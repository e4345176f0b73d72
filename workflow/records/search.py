"""Person search by name (diacritic-insensitive) or identity number, limited to the user's scope."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, exists, or_, select
from sqlalchemy.orm import Session

from workflow.audit import chain as audit
from workflow.context import Actor
from workflow.errors import InvalidInput
from workflow.i18n import N_
from workflow.models import (
    CustodyEpisode,
    Organisation,
    Person,
    PersonIdentifier,
    RestrictionEpisode,
)
from workflow.names import search_key
from workflow.organisations.scope import Scope
from workflow.records.checks import user_scope
from workflow.records.identifiers import guess_kind, normalise_identifier
from workflow.security.permissions import Permission, require

LIMIT = 50
_KEY_END = "\x7f"  # sorts after every character a search key can hold


@dataclass(frozen=True)
class SearchHit:
    """One person found, with what a clerk needs to tell namesakes apart."""

    person_id: int
    full_name: str
    birth_date: dt.date
    sex: str
    identifiers: tuple[str, ...]
    facility: str | None
    in_custody: bool


@dataclass(frozen=True)
class SearchResult:
    """The hits, and whether more matched than are shown."""

    query: str
    by: str
    hits: list[SearchHit]
    more: bool


def scope_clause(scope: Scope) -> ColumnElement[bool] | None:
    """Persons held, now or before, at a facility of the scope, or under a residence
    restriction one of its communes manages (`Scope.covers_person` as a condition; None:
    nationwide, everyone)."""
    if scope.nationwide:
        return None
    held = exists().where(
        and_(CustodyEpisode.person_id == Person.id,
             CustodyEpisode.facility_id.in_(sorted(scope.facility_ids))))
    if not scope.commune_ids:
        return held
    return or_(held, exists().where(
        and_(RestrictionEpisode.person_id == Person.id,
             RestrictionEpisode.commune_id.in_(sorted(scope.commune_ids)))))


@dataclass(frozen=True)
class Match:
    """Who a name or an identity number matches: `key` is what was compared (the name's search
    key, or the identity number as stored), `ids` at most LIMIT + 1 person ids."""

    by: str
    key: str
    ids: list[int]


def person_with_number(session: Session, number: str) -> Person | None:
    """The person one of whose identity numbers this is (None: a number of no known shape, or
    one that names nobody)."""
    number = (number or "").strip()
    kind = guess_kind(number) if number else None
    if kind is None:
        return None
    return session.scalars(select(Person).join(PersonIdentifier).where(
        PersonIdentifier.value == normalise_identifier(kind, number))).first()


def _by_identifier(value: str) -> tuple[str, Select]:
    kind = guess_kind(value)
    assert kind is not None
    number = normalise_identifier(kind, value)
    return number, (select(Person.id)
                    .join(PersonIdentifier, PersonIdentifier.person_id == Person.id)
                    .where(PersonIdentifier.value == number))


def _page(session: Session, stmt: Select, reach: ColumnElement[bool] | None,
          birth: dt.date | None) -> list[int]:
    if birth is not None:
        stmt = stmt.where(Person.birth_date == birth)
    if reach is not None:
        stmt = stmt.where(reach)
    return list(session.execute(stmt.limit(LIMIT + 1)).scalars())


def match_persons(session: Session, query: str, reach: ColumnElement[bool] | None,
                  birth_date: dt.date | None = None) -> Match:
    """Persons within `reach` (a condition on Person; None for everyone) whose name starts with
    the words given (diacritics optional), or whose given name is the one word given, or who
    hold the identity number."""
    query = (query or "").strip()
    if not query:
        raise InvalidInput(N_("Type a name or an identity number."))
    if len(query) > 100:
        raise InvalidInput(N_("The search text is longer than 100 characters."))
    if re.search(r"\d", query) and guess_kind(query):
        number, stmt = _by_identifier(query)
        return Match("identifier", number, _page(session, stmt, reach, birth_date))
    key = search_key(query)
    if not key:
        raise InvalidInput(N_("Type a name or an identity number."))
    prefix = (select(Person.id)
              .where(Person.name_key >= key, Person.name_key < key + _KEY_END)
              .order_by(Person.name_key, Person.id))
    ids = _page(session, prefix, reach, birth_date)
    if " " not in key:
        given = (select(Person.id).where(Person.given_key == key)
                 .order_by(Person.given_key, Person.name_key, Person.id))
        ids = list(dict.fromkeys(ids + _page(session, given, reach, birth_date)))
    return Match("name", key, ids)


def search_persons(
    session: Session, actor: Actor, query: str, birth_date: dt.date | None = None
) -> SearchResult:
    """Find persons in scope whose name starts with the words given (or whose given name is the one
    word given), or who hold the identity number; audited with the query and its key (what the
    inspectors' trail matches a person's searches by)."""
    require(actor.user, Permission.SEARCH_RECORDS)
    scope = user_scope(session, actor)
    # A record joined to another (`exchange.matches`) is found as the one it was joined to.
    reach: ColumnElement[bool] = Person.merged_into_id.is_(None)
    if (within := scope_clause(scope)) is not None:
        reach = and_(reach, within)
    match = match_persons(session, query, reach, birth_date)
    hits = describe(session, match.ids[:LIMIT], scope)
    audit.record(session, actor, "record.search",
                 details={"by": match.by, "query": query.strip(), "key": match.key,
                          "birth_date": birth_date, "results": len(hits)})
    return SearchResult(query.strip(), match.by, hits, len(match.ids) > LIMIT)


def describe(session: Session, ids: list[int], scope: Scope) -> list[SearchHit]:
    """The persons, by name, with their identity numbers and their latest facility in scope."""
    if not ids:
        return []
    persons = {row.id: row for row in session.execute(
        select(Person.id, Person.full_name, Person.name_key, Person.birth_date, Person.sex)
        .where(Person.id.in_(ids)))}
    idents: dict[int, list[str]] = {}
    for person_id, value in session.execute(
        select(PersonIdentifier.person_id, PersonIdentifier.value)
        .where(PersonIdentifier.person_id.in_(ids)).order_by(PersonIdentifier.valid_from)
    ):
        idents.setdefault(person_id, []).append(value)
    latest: dict[int, tuple[str, bool]] = {}
    for person_id, facility_id, name, end in session.execute(
        select(CustodyEpisode.person_id, CustodyEpisode.facility_id, Organisation.name,
               CustodyEpisode.end_date)
        .join(Organisation, Organisation.id == CustodyEpisode.facility_id)
        .where(CustodyEpisode.person_id.in_(ids)).order_by(CustodyEpisode.start_date)
    ):
        if scope.covers(facility_id):
            latest[person_id] = (name, end is None)
    rows = sorted((persons[i] for i in ids), key=lambda p: (p.name_key, p.id))
    return [
        SearchHit(p.id, p.full_name, p.birth_date, p.sex.value, tuple(idents.get(p.id, ())),
                  *latest.get(p.id, (None, False)))
        for p in rows
    ]
