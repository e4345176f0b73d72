"""Records imported in bulk from a facility's file (Decree Art. 10): CSV or JSON, each row
validated by the same rules as the registration form; one rejected row and nothing is imported,
with a report of every rejected row and why."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from workflow.audit import chain as audit
from workflow.context import Actor
from workflow.errors import DomainError, InvalidInput
from workflow.i18n import N_
from workflow.records import checks, episodes, persons
from workflow.records.enums import IdentifierKind, Measure, Sex

COLUMNS = ("full_name", "birth_date", "sex", "nationality", "place_of_origin",
           "identity_kind", "identity_number", "issuing_country", "measure", "start_date",
           "legal_basis", "case_number")
REQUIRED = ("full_name", "birth_date", "sex", "measure", "start_date", "legal_basis")
MAX_ROWS = 5000
MAX_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class Rejection:
    """A rejected row: its number in the file (the header is row 1 of a CSV), the column at
    fault when known, and why (a message with parameters, translated where it is shown)."""

    row: int
    column: str | None
    message: str
    params: dict = field(default_factory=dict)


@dataclass
class ImportResult:
    """What happened to a file: all rows imported, or none and the reasons."""

    rows: int
    imported: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    @property
    def applied(self) -> bool:
        """Whether the rows are in the database."""
        return not self.rejected and self.imported == self.rows


def read_rows(content: bytes, filename: str) -> list[dict[str, str]]:
    """The rows of a CSV (comma or semicolon, UTF-8) or JSON (a list of objects) file."""
    if len(content) > MAX_BYTES:
        raise InvalidInput(N_("The file is larger than 5 MB: split it."))
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidInput(N_("The file is not UTF-8 text.")) from error
    if filename.lower().endswith(".json"):
        try:
            data = json.loads(text)
        except ValueError as error:
            raise InvalidInput(N_("The file is not valid JSON.")) from error
        if isinstance(data, dict):
            data = data.get("records")
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise InvalidInput(N_("A JSON file holds a list of records (objects)."))
        rows = [{str(k): "" if v is None else str(v) for k, v in r.items()} for r in data]
    elif filename.lower().endswith(".csv"):
        try:
            dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;")
        except csv.Error:
            dialect = csv.excel
        reader = csv.DictReader(io.StringIO(text), dialect=dialect)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise InvalidInput(N_("The file lacks the columns %(columns)s (the first row names "
                                  "the columns)."), columns=", ".join(missing))
        rows = [{k: (v or "") for k, v in r.items() if k is not None} for r in reader]
    else:
        raise InvalidInput(N_("Send a .csv or .json file."))
    if not rows:
        raise InvalidInput(N_("The file holds no record."))
    if len(rows) > MAX_ROWS:
        raise InvalidInput(N_("At most %(n)s records a file."), n=MAX_ROWS)
    return rows


def _date(row: dict, column: str) -> dt.date | None:
    value = row.get(column, "").strip()
    if not value:
        return None
    for form in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(value, form).date()
        except ValueError:
            continue
    raise _Bad(column, N_("%(value)s is not a date (dd/mm/yyyy or yyyy-mm-dd)."), value=value)


def _choice(row: dict, column: str, enum_cls):
    value = row.get(column, "").strip().lower()
    try:
        return enum_cls(value)
    except ValueError as error:
        raise _Bad(column, N_("%(value)s is not one of %(allowed)s."), value=value,
                   allowed=", ".join(m.value for m in enum_cls)) from error


class _Bad(Exception):
    def __init__(self, column: str, message: str, **params) -> None:
        super().__init__(message)
        self.column, self.message, self.params = column, message, params


def import_rows(session: Session, actor: Actor, facility_id: int,
                rows: list[dict[str, str]], filename: str) -> ImportResult:
    """Register every row at the facility, or none: a rejected row undoes the whole file. A
    facility the actor does not enter records at refuses the file as a whole (Forbidden)."""
    checks.writable_facility(session, actor, facility_id)
    result = ImportResult(rows=len(rows))
    offset = 1 if filename.lower().endswith(".csv") else 0  # the header is row 1
    outer = session.begin_nested()
    for number, row in enumerate(rows, start=1 + offset):
        try:
            with session.begin_nested():
                for column in REQUIRED:
                    if not row.get(column, "").strip():
                        raise _Bad(column, N_("This column is required."))
                kind = row.get("identity_kind", "").strip()
                nationality = row.get("nationality", "").strip() or "Việt Nam"
                persons.create_person(
                    session, actor,
                    persons.PersonInput(
                        full_name=row["full_name"], birth_date=_date(row, "birth_date"),
                        sex=_choice(row, "sex", Sex),
                        nationality=nationality,
                        place_of_origin=row.get("place_of_origin", "").strip() or None),
                    episodes.EpisodeInput(
                        facility_id=facility_id, measure=_choice(row, "measure", Measure),
                        start_date=_date(row, "start_date"), legal_basis=row["legal_basis"],
                        case_number=row.get("case_number", "").strip() or None),
                    persons.IdentifierInput(
                        kind=_choice(row, "identity_kind", IdentifierKind) if kind
                        else IdentifierKind.CITIZEN_ID,
                        value=row.get("identity_number", "").strip(),
                        # A passport's issuing country: as given, else the nationality.
                        issuing_country=row.get("issuing_country", "").strip() or nationality))
                session.flush()
            result.imported += 1
        except _Bad as bad:
            result.rejected.append(Rejection(number, bad.column, bad.message, bad.params))
        except DomainError as error:
            result.rejected.append(Rejection(number, None, error.message, error.params))
    if result.rejected:
        outer.rollback()
        result.imported = 0
    else:
        outer.commit()
    audit.record(session, actor, "record.import", object_type="organisation",
                 object_id=facility_id,
                 details={"file": filename[:100], "rows": result.rows,
                          "imported": result.imported, "rejected": len(result.rejected)})
    return result
