"""Commune police (Công an cấp xã) as reference data loaded from a CSV file: thousands of rows,
each "this commune police bears this name and is under this provincial police from this day".
A later row of the same code renames or moves it (its earlier name and link stay, dated). A file
is loaded whole or not at all; loading it again changes nothing."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.audit import chain as audit
from workflow.context import Actor
from workflow.errors import InvalidInput
from workflow.i18n import N_
from workflow.models import Organisation, OrganisationLink, OrganisationName
from workflow.organisations.enums import Branch, OrgKind, OrgLevel
from workflow.organisations.governance import governance_of

COLUMNS = ("code", "name", "parent", "valid_from")
OPTIONAL = ("valid_to",)


@dataclass(frozen=True)
class CommuneRow:
    """One row of the file: the commune's name and parent from `valid_from`."""

    line: int
    code: str
    name: str
    parent: str
    valid_from: dt.date
    valid_to: dt.date | None


@dataclass(frozen=True)
class BadRow:
    """A row refused, with its line in the file (the header is line 1)."""

    line: int
    message: str
    params: dict = field(default_factory=dict)


class BadFile(InvalidInput):
    """The file has bad rows: nothing was loaded."""

    def __init__(self, bad: list[BadRow]) -> None:
        super().__init__(N_("Nothing was loaded: %(n)s rows are wrong."), n=len(bad))
        self.bad = bad


@dataclass
class LoadResult:
    """What a load did."""

    rows: int = 0
    created: int = 0
    renamed: int = 0
    moved: int = 0
    closed: int = 0
    unchanged: int = 0


def _date(value: str) -> dt.date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return dt.datetime.strptime(value, "%d/%m/%Y").date()


def read_rows(text: str) -> tuple[list[CommuneRow], list[BadRow]]:
    """The rows of a CSV text, and those that cannot be read."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    if missing := [c for c in COLUMNS if c not in header]:
        return [], [BadRow(1, N_("Columns missing: %(columns)s."),
                           {"columns": ", ".join(missing)})]
    rows, bad = [], []
    for line, raw in enumerate(reader, start=2):
        values = {(k or "").strip(): (v or "").strip() for k, v in raw.items()
                  if isinstance(v, str)}
        try:
            valid_from = _date(values.get("valid_from", ""))
            valid_to = _date(values.get("valid_to", ""))
        except ValueError:
            bad.append(BadRow(line, N_("A date is not a date (YYYY-MM-DD or DD/MM/YYYY).")))
            continue
        code, name, parent = (values.get(c, "") for c in ("code", "name", "parent"))
        if not code or not name or not parent or valid_from is None:
            bad.append(BadRow(line, N_("code, name, parent and valid_from are required.")))
        elif len(code) > 40 or len(name) > 255:
            bad.append(BadRow(line, N_("The code (40) or the name (255 characters) is too "
                                       "long.")))
        elif valid_to is not None and valid_to <= valid_from:
            bad.append(BadRow(line, N_("valid_to is not after valid_from.")))
        else:
            rows.append(CommuneRow(line, code, name, parent, valid_from, valid_to))
    return rows, bad


def _check(rows: list[CommuneRow], orgs: dict[str, Organisation]) -> list[BadRow]:
    bad = []
    seen: dict[tuple[str, dt.date], CommuneRow] = {}
    for row in rows:
        parent, own = orgs.get(row.parent), orgs.get(row.code)
        if parent is None or parent.kind is not OrgKind.PROVINCIAL_BODY:
            bad.append(BadRow(row.line, N_("%(code)s is not a provincial police."),
                              {"code": row.parent}))
        elif not parent.active_on(row.valid_from):
            bad.append(BadRow(row.line, N_("%(code)s did not exist on %(day)s."),
                              {"code": row.parent, "day": row.valid_from.isoformat()}))
        if own is not None and own.kind is not OrgKind.COMMUNE_POLICE:
            bad.append(BadRow(row.line, N_("The code %(code)s belongs to another kind of body."),
                              {"code": row.code}))
        elif own is not None and row.valid_from < own.valid_from:
            bad.append(BadRow(row.line, N_("%(code)s exists only from %(day)s."),
                              {"code": row.code, "day": own.valid_from.isoformat()}))
        twin = seen.setdefault((row.code, row.valid_from), row)
        if twin is not row and (twin.name, twin.parent, twin.valid_to) != (
                row.name, row.parent, row.valid_to):
            bad.append(BadRow(row.line, N_("Line %(other)s says otherwise of %(code)s on the "
                                           "same day."), {"other": twin.line, "code": row.code}))
    return bad


def load_communes(session: Session, actor: Actor, text: str,
                  source: str = "") -> LoadResult:
    """Load the file's commune police into the tree, all rows or none (`BadFile` lists the bad
    rows with their lines); what is there already and the same is left as it is."""
    rows, bad = read_rows(text)
    orgs = {o.code: o for o in session.scalars(select(Organisation))}
    bad += _check(rows, orgs)
    if bad:
        raise BadFile(sorted(bad, key=lambda b: b.line))
    result = LoadResult(rows=len(rows))
    by_code: dict[str, list[CommuneRow]] = defaultdict(list)
    for row in rows:
        by_code[row.code].append(row)
    codes = {o.id: o.code for o in orgs.values() if o.kind is OrgKind.COMMUNE_POLICE}
    names: dict[str, dict[dt.date, OrganisationName]] = defaultdict(dict)
    for n in session.scalars(select(OrganisationName).where(
            OrganisationName.organisation_id.in_(list(codes)))):
        names[codes[n.organisation_id]][n.valid_from] = n
    links: dict[str, list[OrganisationLink]] = defaultdict(list)
    for link in session.scalars(select(OrganisationLink).where(
            OrganisationLink.organisation_id.in_(list(codes)))
            .order_by(OrganisationLink.valid_from)):
        links[codes[link.organisation_id]].append(link)
    # A conflict found while applying undoes everything applied before it.
    with session.begin_nested():
        for code, history in by_code.items():
            history = sorted({r.valid_from: r for r in history}.values(),
                             key=lambda r: r.valid_from)
            commune = orgs.get(code)
            if commune is None:
                first = history[0]
                parent = orgs[first.parent]
                abbreviation, _governing = governance_of(code, OrgKind.COMMUNE_POLICE,
                                                         parent.province, parent.code)
                commune = Organisation(code=code, name=first.name, kind=OrgKind.COMMUNE_POLICE,
                                       branch=Branch.POLICE, level=OrgLevel.COMMUNE,
                                       province=parent.province, valid_from=first.valid_from,
                                       abbreviation=abbreviation, governing=parent)
                session.add(commune)
                orgs[code] = commune
                result.created += 1
            for row in history:
                _apply(session, commune, row, orgs, names[code], links[code], result)
    session.flush()
    audit.record(session, actor, "admin.commune_load", object_type="command",
                 object_id="load-communes",
                 details={"file": source, "rows": result.rows, "created": result.created,
                          "renamed": result.renamed, "relinked": result.moved,
                          "unchanged": result.unchanged})
    return result


def _apply(session: Session, commune: Organisation, row: CommuneRow,
           orgs: dict[str, Organisation], names: dict[dt.date, OrganisationName],
           links: list[OrganisationLink], result: LoadResult) -> None:
    changed = False
    if row.valid_from not in names:
        named = OrganisationName(organisation=commune, name=row.name, valid_from=row.valid_from)
        session.add(named)
        names[row.valid_from] = named
        changed = True
        result.renamed += len(names) > 1
    elif names[row.valid_from].name != row.name:
        raise BadFile([BadRow(row.line, N_("%(code)s bore another name from %(day)s: a "
                                           "rename is a row with a later day."),
                              {"code": row.code, "day": row.valid_from.isoformat()})])
    # The body's name is the one in force from its latest dated name.
    commune.name = names[max(names)].name
    parent = orgs[row.parent]
    current = next((link for link in reversed(links) if link.valid_from <= row.valid_from), None)
    if current is None or current.parent_id != parent.id:
        if current is not None and (current.valid_from == row.valid_from
                                    or current is not links[-1]):
            raise BadFile([BadRow(row.line, N_("%(code)s was under another body from %(day)s: "
                                               "a move is a row after its latest one."),
                                  {"code": row.code, "day": row.valid_from.isoformat()})])
        if current is not None:
            current.valid_to = row.valid_from
            result.moved += 1
        link = OrganisationLink(organisation=commune, parent=parent, valid_from=row.valid_from,
                                valid_to=commune.valid_to)
        # Its documents are headed by the body it is under now.
        commune.governing, commune.province = parent, parent.province
        session.add(link)
        links.append(link)
        changed = True
    if row.valid_to is not None and commune.valid_to != row.valid_to:
        commune.valid_to = row.valid_to
        for link in links:
            if link.valid_to is None or link.valid_to > row.valid_to:
                link.valid_to = row.valid_to
        result.closed += 1
        changed = True
    result.unchanged += not changed
