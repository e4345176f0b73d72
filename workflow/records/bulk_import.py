"""Records imported in bulk from a facility's file (Decree Art. 10): CSV, XLSX or JSON, each row
validated by the same rules as the registration form; one rejected row and nothing is imported,
with a report of every rejected row and why.

A file speaks Vietnamese or English: its column names and the values of its enumerations are
looked up in the tables below (COLUMN_TABLE, VALUE_TABLES) after folding case and diacritics
(`search_key`: "Giới tính" = "gioi tinh", "Nữ" = "nu"). Dates are dd/mm/yyyy or yyyy-mm-dd. A row
rejected is named by its number as a spreadsheet shows it and by its column as the file heads
it, with what the column allows. The template (CSV with a byte-order mark, or XLSX with a second
sheet describing each column) carries the Vietnamese headings and one example row.

From the page, a file is checked at once (its format, size and columns: a clear error, nothing
kept) and then imported by a job (`queue_import`, `apply_import`): kept in the database until the
job, acting as the uploader with every gate asked again, has imported it, and its report shown
to the uploader alone (`import_job`)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from workflow.audit import chain as audit
from workflow.context import Actor
from workflow.errors import DomainError, Forbidden, InvalidInput, NotFound
from workflow.i18n import N_
from workflow.jobs import kinds as job_kinds
from workflow.jobs import runs as jobs
from workflow.models import Job, RecordImport
from workflow.names import search_key
from workflow.records import checks, episodes, persons
from workflow.records.enums import IdentifierKind, Measure, Sex
from workflow.records.identifiers import normalise_identifier
from workflow.security.permissions import Permission, can

MAX_ROWS = 5000
MAX_BYTES = 5 * 1024 * 1024
MAX_UNPACKED = 50 * 1024 * 1024  # an XLSX file is a zip: what it may unpack to
MAX_COLUMNS = 64
DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y")
DEFAULT_NATIONALITY = "Việt Nam"
PROGRESS_STEPS = 50  # how often at most a job tells how far it is through a file


@dataclass(frozen=True)
class Column:
    """A column of the file: its English name (the key of a JSON object, and the name the
    English files have always used), the Vietnamese heading of the template, other headings
    accepted for it, the example of the template's row, and what to write (a message,
    translated where it is shown; for an enumeration, its values are listed too)."""

    name: str
    heading: str
    example: str
    note: str | None
    required: bool = False
    aliases: tuple[str, ...] = ()


COLUMN_TABLE: tuple[Column, ...] = (
    Column("full_name", "Họ và tên", "Nguyễn Văn Mẫu",
           N_("the full name as on the identity document"), True, ("Họ tên", "Full name")),
    Column("birth_date", "Ngày sinh", "15/04/1990", N_("a date, dd/mm/yyyy (or yyyy-mm-dd)"),
           True, ("Ngày tháng năm sinh", "Date of birth")),
    Column("sex", "Giới tính", "Nam", None, True),
    Column("nationality", "Quốc tịch", DEFAULT_NATIONALITY,
           N_("a country; empty means Việt Nam")),
    Column("place_of_origin", "Quê quán", "Hà Nội",
           N_("the place of origin (quê quán); may be empty")),
    Column("identity_kind", "Loại giấy tờ", "CCCD", N_("empty means CCCD"),
           aliases=("Loại giấy tờ tùy thân",)),
    Column("identity_number", "Số giấy tờ", "001090000123",
           N_("CCCD: 12 digits; CMND: 9 digits; passport: 6 to 20 capital letters or digits; "
              "may be empty"),
           aliases=("Số giấy tờ tùy thân", "Số định danh")),
    Column("issuing_country", "Nước cấp", "",
           N_("the passport's issuing country; empty means the nationality"),
           aliases=("Quốc gia cấp",)),
    Column("measure", "Biện pháp", "Tạm giam", None, True,
           ("Biện pháp ngăn chặn",)),
    Column("start_date", "Ngày bắt đầu", "01/10/2025", N_("a date, dd/mm/yyyy (or yyyy-mm-dd)"),
           True, ("Ngày tiếp nhận",)),
    Column("legal_basis", "Căn cứ pháp lý", "Lệnh tạm giam số 12/LTG ngày 01/10/2025",
           N_("the order or decision, with its number and date"), True, ("Căn cứ",)),
    Column("case_number", "Số vụ án", "",
           N_("the number of a case already registered; may be empty"), aliases=("Vụ án",)),
    Column("facility_code", "Cơ sở giam giữ", "",
           N_("the code of the facility chosen on the import page; may be empty"),
           aliases=("Mã cơ sở", "Facility")),
)

# The values of the enumerations, one table per column: the first word is the one the template
# and the messages show; the enumeration's own value (male, detention, cccd…) is accepted too.
SEX_VALUES: dict[Sex, tuple[str, ...]] = {
    Sex.MALE: ("Nam",),
    Sex.FEMALE: ("Nữ",),
}
MEASURE_VALUES: dict[Measure, tuple[str, ...]] = {
    Measure.CUSTODY: ("Tạm giữ",),
    Measure.DETENTION: ("Tạm giam",),
}
IDENTITY_KIND_VALUES: dict[IdentifierKind, tuple[str, ...]] = {
    IdentifierKind.CITIZEN_ID: ("CCCD", "Căn cước công dân", "Thẻ căn cước", "Căn cước"),
    IdentifierKind.OLD_ID_CARD: ("CMND", "Chứng minh nhân dân", "Chứng minh thư"),
    IdentifierKind.PASSPORT: ("Hộ chiếu",),
}
VALUE_TABLES: dict[str, dict] = {
    "sex": SEX_VALUES,
    "measure": MEASURE_VALUES,
    "identity_kind": IDENTITY_KIND_VALUES,
}
# Headings that number the rows of a spreadsheet (số thứ tự) and are not read.
IGNORED_HEADINGS = ("STT", "Số TT", "No")

COLUMNS = tuple(c.name for c in COLUMN_TABLE)
REQUIRED = tuple(c.name for c in COLUMN_TABLE if c.required)
_BY_NAME = {c.name: c for c in COLUMN_TABLE}
_EXAMPLE = {c.name: c.example for c in COLUMN_TABLE}


def _folded_table(pairs: Iterable[tuple[str, object]]) -> dict[str, object]:
    table: dict[str, object] = {}
    for word, meaning in pairs:
        key = search_key(word)
        if table.setdefault(key, meaning) != meaning:
            raise ValueError(f"{word!r} folds onto another entry")  # a mistake in the tables
    return table


_HEADINGS = _folded_table(
    (heading, c.name) for c in COLUMN_TABLE for heading in (c.name, c.heading, *c.aliases))
_IGNORED = {search_key(h) for h in IGNORED_HEADINGS}
_VALUES = {
    column: _folded_table((word, member) for member, words in table.items()
                          for word in (member.value, *words))
    for column, table in VALUE_TABLES.items()
}


@dataclass(frozen=True)
class Rejection:
    """A rejected row: its number in the file (the header is row 1 of a CSV or XLSX file), the
    column at fault when known (as the file heads it), and why (a message with parameters,
    translated where it is shown)."""

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

    def to_json(self) -> str:
        """The report as kept with the import job."""
        return json.dumps({"rows": self.rows, "imported": self.imported,
                           "rejected": [[r.row, r.column, r.message, r.params]
                                        for r in self.rejected]},
                          ensure_ascii=False, default=str)

    @classmethod
    def from_json(cls, text: str) -> ImportResult:
        """The report kept with an import job."""
        data = json.loads(text)
        return cls(rows=data["rows"], imported=data["imported"],
                   rejected=[Rejection(*r) for r in data["rejected"]])


# --- the columns --------------------------------------------------------------------------------


def allowed_values(name: str, english: bool = False) -> str:
    """The values an enumeration column allows, as the messages list them: the Vietnamese words
    ("Nam, Nữ"), or the English values for a file headed in English."""
    table = VALUE_TABLES[name]
    return ", ".join(member.value if english else words[0] for member, words in table.items())


def resolve_columns(headings: Iterable[str]) -> dict[str, str]:
    """Which of the file's headings is which column: {English name: heading as the file writes
    it}. Capitals, diacritics, spaces and punctuation do not count; an unknown heading, two
    headings for one column or a required column missing refuse the file (InvalidInput)."""
    found: dict[str, str] = {}
    unknown: list[str] = []
    for heading in headings:
        key = search_key(heading)
        if not key or key in _IGNORED:
            continue
        name = _HEADINGS.get(key)
        if name is None:
            unknown.append(str(heading))
        elif name in found:
            raise InvalidInput(N_("The columns %(first)s and %(second)s are the same column: "
                                  "keep one."), first=f"“{found[name]}”", second=f"“{heading}”")
        else:
            found[name] = str(heading)
    missing = [c for c in COLUMN_TABLE if c.required and c.name not in found]
    if missing:
        raise InvalidInput(N_("The file lacks the columns %(columns)s (the first row names "
                              "the columns)."),
                           columns=", ".join(f"{c.heading} ({c.name})" for c in missing))
    if unknown:
        raise InvalidInput(N_("The import does not know the columns %(columns)s: name them as "
                              "the template does, or remove them."),
                           columns=", ".join(f"“{h}”" for h in unknown))
    return found


def describe(t: Callable[[str], str]) -> list[tuple[str, str, bool, str]]:
    """Each column for a person: (Vietnamese heading, English name, required, what to write),
    `t` translating."""
    described = []
    for c in COLUMN_TABLE:
        parts = []
        if c.name in VALUE_TABLES:
            parts.append(t(N_("one of: %(allowed)s")) % {"allowed": all_words(c.name)})
        if c.note:
            parts.append(t(c.note))
        described.append((c.heading, c.name, c.required, "; ".join(parts)))
    return described


def all_words(name: str) -> str:
    """Every word of an enumeration: "CCCD (Căn cước công dân, Thẻ căn cước), CMND, …"."""
    return ", ".join(words[0] + (f" ({', '.join(words[1:])})" if words[1:] else "")
                     for words in VALUE_TABLES[name].values())


# --- reading a file -----------------------------------------------------------------------------


def read_rows(content: bytes, filename: str) -> list[dict[str, str]]:
    """The rows of a CSV (comma or semicolon, UTF-8), XLSX (the first sheet) or JSON (a list of
    objects) file, keyed by the file's own headings, which are checked (`resolve_columns`)."""
    if len(content) > MAX_BYTES:
        raise InvalidInput(N_("The file is larger than 5 MB: split it."))
    name = filename.lower()
    if name.endswith(".xlsx"):
        headings, rows = _read_xlsx(content)
    elif name.endswith((".csv", ".json")):
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise InvalidInput(N_("The file is not UTF-8 text.")) from error
        headings, rows = _read_json(text) if name.endswith(".json") else _read_csv(text)
    else:
        raise InvalidInput(N_("Send a .csv, .xlsx or .json file."))
    resolve_columns(headings)
    if not rows:
        raise InvalidInput(N_("The file holds no record."))
    if len(rows) > MAX_ROWS:
        raise InvalidInput(N_("At most %(n)s records a file."), n=MAX_ROWS)
    return rows


def _read_json(text: str) -> tuple[list[str], list[dict[str, str]]]:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as error:  # RecursionError: nested too deep
        raise InvalidInput(N_("The file is not valid JSON.")) from error
    if isinstance(data, dict):
        data = data.get("records")
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise InvalidInput(N_("A JSON file holds a list of records (objects)."))
    rows = [{str(k): "" if v is None else str(v) for k, v in r.items()}
            for r in data[:MAX_ROWS + 1]]  # one more than taken: `read_rows` refuses the file
    return list(dict.fromkeys(k for r in rows for k in r)), rows


def _read_csv(text: str) -> tuple[list[str], list[dict[str, str]]]:
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    try:
        headings = [h for h in (reader.fieldnames or []) if h]
        # One row more than a file may hold is enough to refuse it: 5 MB of one-letter rows
        # would take seconds and most of a gigabyte to hold.
        rows = [{k: (v or "") for k, v in r.items() if k}
                for r in itertools.islice(reader, MAX_ROWS + 1)]
    except csv.Error as error:  # a cell longer than the reader takes, a quote never closed
        raise InvalidInput(N_("The file cannot be read as CSV: a cell is too long or a "
                              "quotation mark is not closed.")) from error
    return headings, rows


def _read_xlsx(content: bytes) -> tuple[list[str], list[dict[str, str]]]:
    """The first sheet: the headings in row 1, a record a row after it; empty rows at the end
    are not records. The workbook is refused before it is read if it unpacks to too much."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(i.file_size for i in archive.infolist())
    except zipfile.BadZipFile as error:
        raise InvalidInput(N_("The file is not an XLSX workbook.")) from error
    if unpacked > MAX_UNPACKED:
        raise InvalidInput(N_("The workbook is too large once unpacked: split it."))
    from openpyxl import load_workbook  # a large library: loaded by the first import, not at start

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        try:
            sheet = book.worksheets[0]
            first = next(sheet.iter_rows(min_row=1, max_row=1, max_col=MAX_COLUMNS,
                                         values_only=True), ())
            headings = [_text(v) for v in first]
            while headings and not headings[-1]:
                headings.pop()
            rows = [[_text(v) for v in values] for values in sheet.iter_rows(
                min_row=2, max_row=MAX_ROWS + 2, max_col=max(len(headings), 1),
                values_only=True)]
        finally:
            book.close()
    except Exception as error:  # a broken workbook can fail in many ways: all mean the same
        raise InvalidInput(N_("The file is not an XLSX workbook.")) from error
    while rows and not any(rows[-1]):
        rows.pop()
    return headings, [{h: (r[i] if i < len(r) else "") for i, h in enumerate(headings) if h}
                      for r in rows]


def _text(value: object) -> str:
    """A cell as the text a CSV file would hold: dates in ISO form, whole numbers without
    a decimal point."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# --- importing ----------------------------------------------------------------------------------


class _Bad(Exception):
    def __init__(self, column: str, message: str, **params) -> None:
        super().__init__(message)
        self.column, self.message, self.params = column, message, params


class _Row:
    """One row read through the file's headings."""

    def __init__(self, values: dict[str, str], columns: dict[str, str]) -> None:
        self.values, self.columns = values, columns

    def text(self, name: str) -> str:
        heading = self.columns.get(name)
        return (self.values.get(heading) or "").strip() if heading else ""

    def english(self, name: str) -> bool:
        """Whether the file heads this column with its English name."""
        return search_key(self.columns.get(name, name)) == search_key(name)

    def date(self, name: str) -> dt.date | None:
        value = self.text(name)
        if not value:
            return None
        for form in DATE_FORMATS:
            try:
                return dt.datetime.strptime(value, form).date()
            except ValueError:
                continue
        raise _Bad(name, N_("%(value)s is not a date (dd/mm/yyyy or yyyy-mm-dd)."),
                   value=value)

    def choice(self, name: str):
        value = self.text(name)
        member = _VALUES[name].get(search_key(value))
        if member is None:
            raise _Bad(name, N_("“%(value)s” is not allowed here; write one of: %(allowed)s."),
                       value=value, allowed=allowed_values(name, self.english(name)))
        return member


def _expected(name: str, english: bool) -> str:
    if name in VALUE_TABLES:
        return allowed_values(name, english)
    return _BY_NAME[name].note or ""


def _check_row(row: _Row, facility) -> None:
    """What the registration rules cannot tell: required cells, the example row left in, and
    the facility column."""
    for name in REQUIRED:
        if not row.text(name):
            raise _Bad(name, N_("This column is required: %(expected)s."),
                       expected=_expected(name, row.english(name)))
    repeated = N_("This row repeats the template's example: replace it with a person's "
                  "details, or delete it.")
    if row.text("identity_number") == _EXAMPLE["identity_number"]:
        raise _Bad("identity_number", repeated)
    if (search_key(row.text("full_name")) == search_key(_EXAMPLE["full_name"])
            and row.text("birth_date") == _EXAMPLE["birth_date"]):
        raise _Bad("full_name", repeated)
    given = row.text("facility_code")
    if given and search_key(given) not in {search_key(facility.code),
                                           search_key(facility.name)}:
        raise _Bad("facility_code", N_("%(value)s is not the facility the file is imported "
                                       "into (%(facility)s)."),
                   value=given, facility=facility.code)


def import_rows(session: Session, actor: Actor, facility_id: int,
                rows: list[dict[str, str]], filename: str, *, job: Job | None = None,
                progress: jobs.Progress | None = None) -> ImportResult:
    """Register every row at the facility, or none: a rejected row undoes the whole file. A
    facility the actor does not enter records at refuses the file as a whole (Forbidden). Run
    by an import `job`, how far it is told to `progress` (rows checked of all)."""
    facility = checks.writable_facility(session, actor, facility_id)
    columns = resolve_columns(dict.fromkeys(k for r in rows for k in r))
    result = ImportResult(rows=len(rows))
    offset = 1 if filename.lower().endswith((".csv", ".xlsx")) else 0  # the header is row 1
    step = max(1, len(rows) // PROGRESS_STEPS)
    outer = session.begin_nested()
    for number, values in enumerate(rows, start=1 + offset):
        done = number - offset - 1
        if progress is not None and done and done % step == 0:
            progress(done, len(rows))
        row = _Row(values, columns)
        try:
            with session.begin_nested():
                _check_row(row, facility)
                kind = (row.choice("identity_kind") if row.text("identity_kind")
                        else IdentifierKind.CITIZEN_ID)
                number_given = row.text("identity_number")
                if number_given:
                    try:
                        normalise_identifier(kind, number_given)
                    except InvalidInput as error:
                        raise _Bad("identity_number", error.message, **error.params) from error
                nationality = row.text("nationality") or DEFAULT_NATIONALITY
                persons.create_person(
                    session, actor,
                    persons.PersonInput(
                        full_name=row.text("full_name"), birth_date=row.date("birth_date"),
                        sex=row.choice("sex"), nationality=nationality,
                        place_of_origin=row.text("place_of_origin") or None),
                    episodes.EpisodeInput(
                        facility_id=facility_id, measure=row.choice("measure"),
                        start_date=row.date("start_date"), legal_basis=row.text("legal_basis"),
                        case_number=row.text("case_number") or None),
                    persons.IdentifierInput(
                        kind=kind, value=number_given,
                        # A passport's issuing country: as given, else the nationality.
                        issuing_country=row.text("issuing_country") or nationality))
                session.flush()
            result.imported += 1
        except _Bad as bad:
            result.rejected.append(Rejection(number, columns.get(bad.column, bad.column),
                                             bad.message, bad.params))
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
                          "imported": result.imported, "rejected": len(result.rejected)}
                 | ({"job": job.id} if job is not None else {}))
    return result


# --- off the request path -----------------------------------------------------------------------


def queue_import(session: Session, actor: Actor, facility_id: int, content: bytes,
                 filename: str) -> Job:
    """Check a file now — the facility, its format, size and columns (InvalidInput: nothing is
    kept) — and keep it for the job that imports it as the actor once the session commits."""
    facility = checks.writable_facility(session, actor, facility_id)
    rows = read_rows(content, filename)
    job = jobs.submit(session, actor, job_kinds.IMPORT, parts_total=len(rows))
    session.add(RecordImport(job_id=job.id, facility_id=facility.id, filename=filename[:255],
                             rows=len(rows), content=content))
    audit.record(session, actor, "record.import_queue", object_type="organisation",
                 object_id=facility.id,
                 details={"job": job.id, "file": filename[:100], "rows": len(rows)})
    session.flush()
    return job


def apply_import(session: Session, actor: Actor, job: Job,
                 progress: jobs.Progress | None = None) -> ImportResult:
    """The job's work: import its file as the actor (every gate asked again now), then keep the
    report in the file's place. A job run again (a retry after its work was committed, a
    message delivered twice, two workers at once) finds the report and imports nothing."""
    if job.user_id != actor.user.id:
        raise Forbidden(N_("Only the one who sent a file imports it."))
    upload = session.scalars(
        select(RecordImport).where(RecordImport.job_id == job.id).with_for_update()
        .execution_options(populate_existing=True)).one()
    checks.writable_facility(session, actor, upload.facility_id)
    if upload.report_json is not None:
        return ImportResult.from_json(upload.report_json)
    result = import_rows(session, actor, upload.facility_id,
                         read_rows(upload.content, upload.filename), upload.filename,
                         job=job, progress=progress)
    upload.report_json, upload.content = result.to_json(), None
    session.flush()
    return result


def drop_file(session: Session, job: Job) -> None:
    """Drop the file of an import whose job failed for good: nothing of it was imported, and a
    copy of persons' details is not kept for nothing (its uploader sends it again)."""
    session.execute(update(RecordImport)
                    .where(RecordImport.job_id == job.id, RecordImport.report_json.is_(None))
                    .values(content=None).execution_options(synchronize_session=False))


def can_see_import(actor: Actor, job: Job) -> bool:
    """Whether the actor may follow an import job and read its report: its uploader alone."""
    return (job.kind == job_kinds.IMPORT and job.user_id == actor.user.id
            and can(actor.user, Permission.WRITE_RECORDS))


def import_job(session: Session, actor: Actor, job_id: int) -> tuple[Job, RecordImport]:
    """An import job and its file, for its uploader (NotFound for anyone else, as for none)."""
    job = session.get(Job, job_id)
    if job is None or not can_see_import(actor, job):
        raise NotFound(N_("No such import."))
    return job, session.scalars(select(RecordImport).where(RecordImport.job_id == job.id)).one()
