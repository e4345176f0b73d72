"""Records imported in bulk from a facility's file: every row checked by the registration rules,
all imported or none, with each rejected row named and why; CSV, XLSX and JSON; page and command;
column names and values in Vietnamese or English; the template to fill."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from tests.helpers import last_audit, org
from workflow.context import Actor
from workflow.errors import InvalidInput
from workflow.models import AuditEntry, Person, PersonIdentifier, RecordVersion, User
from workflow.records import bulk_import, import_template
from workflow.records.enums import IdentifierKind, Measure, Sex

HEADER = ("full_name,birth_date,sex,nationality,identity_kind,identity_number,measure,"
          "start_date,legal_basis\n")
GOOD = [
    "Lê Văn Nhập,12/03/1990,male,Việt Nam,cccd,001090123451,detention,2026-11-01,LTG 1/2026",
    "Trần Thị Tệp,1995-07-20,female,Việt Nam,cccd,001195123452,detention,2026-11-02,LTG 2/2026",
    "Phạm Đức Hàng,01/01/1980,male,Lào,passport,P1234567,detention,03/11/2026,LTG 3/2026",
]


def persons(db) -> int:
    return db.scalar(select(func.count()).select_from(Person))


def clerk(db) -> Actor:
    return Actor(db.scalars(select(User).where(User.username == "clerk.hanoi")).one(), "test")


def run(session, who, text: str, name: str = "tep.csv") -> bulk_import.ImportResult:
    rows = bulk_import.read_rows(text.encode(), name)
    return bulk_import.import_rows(session, who, org(session, "TTG-HANOI").id, rows, name)


def test_a_good_file_is_imported_whole(app, db):
    before = persons(db)
    with app.extensions["custody_sessions"]() as session:
        result = run(session, clerk(session), HEADER + "\n".join(GOOD))
        session.commit()
    assert (result.applied, result.imported, result.rejected) == (True, 3, [])
    assert persons(db) == before + 3
    imported = db.scalars(select(Person).where(Person.full_name == "Trần Thị Tệp")).one()
    assert imported.episodes[0].facility.code == "TTG-HANOI"
    assert [i.value for i in imported.identifiers] == ["001195123452"]
    assert db.scalar(select(func.count()).select_from(RecordVersion).where(
        RecordVersion.person_id == imported.id)) == 3  # person, episode, identifier
    entry = last_audit(db, "record.import")
    assert json.loads(entry.details) == {"file": "tep.csv", "rows": 3, "imported": 3,
                                         "rejected": 0}


def test_one_bad_row_and_nothing_is_imported_with_every_reason(app, db):
    taken = db.scalars(select(PersonIdentifier.value).where(
        PersonIdentifier.kind == "cccd").limit(1)).one()
    bad = [
        GOOD[0],
        "Ngô Văn Sai,31/02/1990,male,Việt Nam,cccd,001090123453,detention,2026-11-01,LTG 4",
        f"Hồ Văn Trùng,01/01/1991,male,Việt Nam,cccd,{taken},detention,2026-11-01,LTG 5",
        "Đinh Văn Thiếu,01/01/1992,unknown,Việt Nam,cccd,001092123455,detention,2026-11-01,",
        GOOD[1],
    ]
    before = (persons(db), db.scalar(select(func.count()).select_from(RecordVersion)))
    with app.extensions["custody_sessions"]() as session:
        result = run(session, clerk(session), HEADER + "\n".join(bad))
        session.commit()
    assert not result.applied and result.imported == 0
    # Rows are numbered as a spreadsheet shows them: the header is row 1.
    assert [(r.row, r.column) for r in result.rejected] == [
        (3, "birth_date"), (4, None), (5, "legal_basis")]
    assert "already" in result.rejected[1].message or "registered" in result.rejected[1].message
    assert (persons(db), db.scalar(select(func.count()).select_from(RecordVersion))) == before
    # The per-person audit entries went with the rows; the import itself is recorded.
    assert db.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "record.create", AuditEntry.actor_name == "clerk.hanoi")) == 0
    assert json.loads(last_audit(db, "record.import").details)["rejected"] == 3


def test_json_files_and_semicolons_too(app, db):
    records = [dict(zip(HEADER.strip().split(","), line.split(","), strict=True))
               for line in GOOD]
    with app.extensions["custody_sessions"]() as session:
        result = run(session, clerk(session), json.dumps({"records": records}), "tep.json")
        assert result.applied and result.imported == 3
        session.rollback()
        semicolons = (HEADER + "\n".join(GOOD)).replace(",", ";")
        assert run(session, clerk(session), semicolons).imported == 3


@pytest.mark.parametrize(("content", "name", "why"), [
    ("a,b\n1,2\n", "tep.csv", "lacks the columns"),
    (HEADER, "tep.csv", "no record"),
    ("{not json", "tep.json", "not valid JSON"),
    ('{"records": 3}', "tep.json", "list of records"),
    ("x", "tep.xlsx", "not an XLSX workbook"),
    ("x", "tep.txt", ".csv, .xlsx or .json"),
    ("full_name,birth_date,sex,measure,start_date,legal_basis,Ghi chú\nX,,,,,\n", "tep.csv",
     "does not know the columns “Ghi chú”"),
    ("Họ tên,full_name,birth_date,sex,measure,start_date,legal_basis\nX,,,,,,\n", "tep.csv",
     "are the same column"),
    ("Họ và tên,Giới tính\nX,Nam\n", "tep.csv", "Ngày sinh (birth_date)"),
])
def test_an_unreadable_file_is_refused_as_a_whole(content, name, why):
    with pytest.raises(InvalidInput) as refused:
        bulk_import.read_rows(content.encode(), name)
    assert why in refused.value.message % refused.value.params


@pytest.mark.parametrize(("content", "name"), [
    (HEADER + "A" * 200_000 + ",2000-01-01\n", "dai.csv"),  # a cell past the csv module's limit
    ("[" * 100_000 + "]" * 100_000, "sau.json"),  # nested deeper than the parser recurses
])
def test_a_file_the_readers_choke_on_is_refused_not_a_server_error(content, name):
    with pytest.raises(InvalidInput):
        bulk_import.read_rows(content.encode(), name)


def test_the_page_imports_and_lists_rejections(client, auth, db):
    auth.login("clerk.hanoi")
    facility = org(db, "TTG-HANOI").id
    page = client.post("/persons/import", data={
        "facility_id": facility,
        "file": (io.BytesIO((HEADER + GOOD[0] + "\nX,bad,male,VN,cccd,001090123459,"
                             "detention,2026-11-01,L").encode()), "tep.csv")},
        content_type="multipart/form-data", follow_redirects=True)
    html = page.get_data(as_text=True)
    # Its job ran once the sending committed (no queue here): its page shows the report.
    assert page.request.path.startswith("/persons/import/")
    assert '<td class="num">3</td><td class="mono">birth_date</td>' in html
    assert "Lê Văn Nhập" not in html and "Chưa nhập bản ghi nào: 1 trong 2 dòng bị từ chối" in html
    done = client.post("/persons/import", data={
        "facility_id": facility, "file": (io.BytesIO((HEADER + GOOD[0]).encode()), "tep.csv")},
        content_type="multipart/form-data", follow_redirects=True)
    assert "Đã đăng ký 1 người từ tệp tep.csv." in done.get_data(as_text=True)
    assert db.scalars(select(Person).where(Person.full_name == "Lê Văn Nhập")).one()


def test_the_command_line(runner, tmp_path, db):
    path = tmp_path / "tep.csv"
    path.write_text(HEADER + "\n".join(GOOD), "utf-8")
    done = runner.invoke(args=["import-records", str(path), "--facility", "TTG-HANOI",
                               "--as", "clerk.hanoi"])
    assert done.exit_code == 0 and "Imported 3 persons" in done.output
    again = runner.invoke(args=["import-records", str(path), "--facility", "TTG-HANOI",
                                "--as", "clerk.hanoi"])
    assert again.exit_code == 1 and "Nothing was imported: 3 of 3" in again.output


# --- in Vietnamese ------------------------------------------------------------------------------

VN_HEADER = ("Họ và tên;NGÀY SINH;giới tính;Quoc tich;Loại giấy tờ;Số giấy tờ;Biện pháp;"
             "Ngày bắt đầu;Căn cứ pháp lý;STT\n")
VN_ROWS = [
    "Vũ Văn Tiếng;12/03/1990;Nam;Việt Nam;CCCD;001090123461;tạm giam;01/11/2026;LTG 11/2026;1",
    "Đỗ Thị Việt;20/07/1995;NỮ;Việt Nam;căn cước công dân;001195123462;Tạm giữ;2/11/2026;"
    "QĐ 12/2026;2",
    "Bùi Văn Khách;01/01/1980;nam;Lào;Hộ chiếu;P7654321;tam giam;03/11/2026;LTG 13/2026;3",
    "Mai Văn Cũ;05/05/1975;Nam;Việt Nam;chứng minh nhân dân;012345678;Tạm giam;2026-11-04;"
    "LTG 14/2026;4",
]


def test_vietnamese_column_names_and_values_are_imported(app, db):
    before = persons(db)
    with app.extensions["custody_sessions"]() as session:
        result = run(session, clerk(session), VN_HEADER + "\n".join(VN_ROWS))
        session.commit()
    assert (result.applied, result.imported, result.rejected) == (True, 4, [])
    assert persons(db) == before + 4
    tieng = db.scalars(select(Person).where(Person.full_name == "Vũ Văn Tiếng")).one()
    assert (tieng.sex, tieng.birth_date) == (Sex.MALE, dt.date(1990, 3, 12))
    assert (tieng.episodes[0].measure, tieng.episodes[0].start_date) == (
        Measure.DETENTION, dt.date(2026, 11, 1))
    viet = db.scalars(select(Person).where(Person.full_name == "Đỗ Thị Việt")).one()
    assert (viet.sex, viet.episodes[0].measure) == (Sex.FEMALE, Measure.CUSTODY)
    assert viet.episodes[0].start_date == dt.date(2026, 11, 2)
    kinds = {p.full_name: (p.identifiers[0].kind, p.identifiers[0].issuing_country)
             for p in db.scalars(select(Person).where(Person.full_name.in_(
                 ["Bùi Văn Khách", "Mai Văn Cũ"])))}
    assert kinds == {"Bùi Văn Khách": (IdentifierKind.PASSPORT, "Lào"),
                     "Mai Văn Cũ": (IdentifierKind.OLD_ID_CARD, "Việt Nam")}


def test_a_wrong_value_names_its_row_column_and_the_allowed_values(app, db):
    rows = [VN_ROWS[0], VN_ROWS[1].replace(";NỮ;", ";Không rõ;"),
            VN_ROWS[2].replace(";tam giam;", ";giam giữ;"),
            VN_ROWS[3].replace("05/05/1975", "31/02/1975")]
    with app.extensions["custody_sessions"]() as session:
        result = run(session, clerk(session), VN_HEADER + "\n".join(rows))
        session.rollback()
    assert not result.applied
    # The column as the file heads it; the allowed values in the file's language.
    assert [(r.row, r.column, r.params.get("allowed")) for r in result.rejected] == [
        (3, "giới tính", "Nam, Nữ"), (4, "Biện pháp", "Tạm giữ, Tạm giam"),
        (5, "NGÀY SINH", None)]
    english = HEADER + GOOD[0].replace(",male,", ",Không rõ,")
    with app.extensions["custody_sessions"]() as session:
        result = run(session, clerk(session), english)
        session.rollback()
    assert [(r.row, r.column, r.params["allowed"]) for r in result.rejected] == [
        (2, "sex", "male, female")]


def test_the_page_says_what_is_wrong_in_vietnamese(client, auth, db):
    auth.login("clerk.hanoi")
    page = client.post("/persons/import", data={
        "facility_id": org(db, "TTG-HANOI").id,
        "file": (io.BytesIO((VN_HEADER + VN_ROWS[0] + "\n" + VN_ROWS[1].replace(
            ";NỮ;", ";Không rõ;").replace(";QĐ 12/2026;", ";;")).encode()), "tep.csv")},
        content_type="multipart/form-data", follow_redirects=True)
    html = page.get_data(as_text=True)
    assert '<td class="num">3</td><td class="mono">Căn cứ pháp lý</td>' in html
    assert "Cột này bắt buộc phải ghi: lệnh hoặc quyết định, kèm số và ngày." in html
    page = client.post("/persons/import", data={
        "facility_id": org(db, "TTG-HANOI").id,
        "file": (io.BytesIO((VN_HEADER + VN_ROWS[1].replace(";NỮ;", ";Không rõ;")).encode()),
                 "tep.csv")},
        content_type="multipart/form-data", follow_redirects=True)
    html = page.get_data(as_text=True)
    assert '<td class="num">2</td><td class="mono">giới tính</td>' in html
    assert ("“Không rõ” không hợp lệ ở cột này; hãy ghi một trong các giá trị: Nam, Nữ."
            in html)
    assert db.scalar(select(func.count()).select_from(Person).where(
        Person.full_name == "Vũ Văn Tiếng")) == 0


def test_a_facility_column_must_name_the_facility_imported_into(app, db):
    header = HEADER.strip() + ",Cơ sở giam giữ\n"
    rows = [GOOD[0] + ",ttg-hanoi", GOOD[1] + ",", GOOD[2] + ",TTG-HOCHIMINH"]
    with app.extensions["custody_sessions"]() as session:
        result = run(session, clerk(session), header + "\n".join(rows))
        session.rollback()
    assert [(r.row, r.column, r.params.get("value")) for r in result.rejected] == [
        (4, "Cơ sở giam giữ", "TTG-HOCHIMINH")]


def test_every_value_of_an_enumeration_has_its_vietnamese_word():
    tables = {"sex": Sex, "measure": Measure, "identity_kind": IdentifierKind}
    assert {name: set(bulk_import.VALUE_TABLES[name]) for name in tables} == {
        name: set(enum) for name, enum in tables.items()}
    assert {c.name for c in bulk_import.COLUMN_TABLE} >= set(bulk_import.REQUIRED)


# --- XLSX and the template ----------------------------------------------------------------------


def _xlsx(rows: list[list]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_xlsx_file_with_dates_and_numbers_as_cells(app, db):
    content = _xlsx([
        ["Họ và tên", "Ngày sinh", "Giới tính", "Loại giấy tờ", "Số giấy tờ", "Biện pháp",
         "Ngày bắt đầu", "Căn cứ pháp lý"],
        ["Lý Văn Bảng", dt.datetime(1988, 6, 30), "Nam", "CMND", 123456789, "Tạm giam",
         dt.date(2026, 11, 5), "LTG 15/2026"],
        ["", None, " "], [],  # empty rows at the end are no records
    ])
    rows = bulk_import.read_rows(content, "Bang.XLSX")
    assert len(rows) == 1 and rows[0]["Ngày sinh"] == "1988-06-30"
    assert rows[0]["Số giấy tờ"] == "123456789"
    with app.extensions["custody_sessions"]() as session:
        result = bulk_import.import_rows(session, clerk(session), org(session, "TTG-HANOI").id,
                                         rows, "Bang.XLSX")
        session.commit()
    assert result.applied
    bang = db.scalars(select(Person).where(Person.full_name == "Lý Văn Bảng")).one()
    assert bang.birth_date == dt.date(1988, 6, 30)
    assert [i.value for i in bang.identifiers] == ["123456789"]
    bad = _xlsx([["Họ và tên", "Ngày sinh", "Giới tính", "Biện pháp", "Ngày bắt đầu",
                  "Căn cứ pháp lý"], ["X Y", "01/01/1990", "Nam", "Tạm giam", "01/11/2026", "L"],
                 ["Z W", "01/01/1990", "X", "Tạm giam", "01/11/2026", "L"]])
    with app.extensions["custody_sessions"]() as session:
        result = bulk_import.import_rows(session, clerk(session), org(session, "TTG-HANOI").id,
                                         bulk_import.read_rows(bad, "b.xlsx"), "b.xlsx")
        session.rollback()
    assert [(r.row, r.column) for r in result.rejected] == [(3, "Giới tính")]


def _import(client, db, content: bytes, name: str):
    """The file sent from the page, and the page of its import once its job ran."""
    return client.post("/persons/import", data={
        "facility_id": org(db, "TTG-HANOI").id, "file": (io.BytesIO(content), name)},
        content_type="multipart/form-data", follow_redirects=True)


def test_the_csv_template_imports_back_once_its_example_row_is_filled(client, auth, db):
    auth.login("clerk.hanoi")
    page = client.get("/persons/import").get_data(as_text=True)
    assert "/persons/import/template.csv" in page and "/persons/import/template.xlsx" in page
    got = client.get("/persons/import/template.csv")
    assert got.status_code == 200 and got.mimetype == "text/csv"
    assert "attachment" in got.headers["Content-Disposition"]
    assert got.data.startswith(b"\xef\xbb\xbf")  # the byte-order mark Excel reads UTF-8 by
    text = got.data.decode("utf-8-sig")
    header, example = text.splitlines()
    assert header.startswith("Họ và tên,Ngày sinh,Giới tính,")
    # Sent as it comes, the example row is refused, not registered as a person.
    refused = _import(client, db, got.data, "mau.csv")
    assert "lặp lại ví dụ" in refused.get_data(as_text=True)
    filled = text.replace("Nguyễn Văn Mẫu", "Hà Văn Mẫu Điền").replace(
        "001090000123", "001090123471")
    done = _import(client, db, filled.encode("utf-8-sig"), "mau.csv")
    assert "Đã đăng ký 1 người từ tệp mau.csv." in done.get_data(as_text=True)
    person = db.scalars(select(Person).where(Person.full_name == "Hà Văn Mẫu Điền")).one()
    assert (person.sex, person.episodes[0].measure) == (Sex.MALE, Measure.DETENTION)
    assert [(i.kind, i.value) for i in person.identifiers] == [
        (IdentifierKind.CITIZEN_ID, "001090123471")]


def test_the_xlsx_template_imports_back_once_its_example_row_is_filled(client, auth, db):
    auth.login("clerk.hanoi")
    got = client.get("/persons/import/template.xlsx")
    assert got.status_code == 200 and got.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(got.data))
    sheet, notes = book.worksheets
    headings = [c.value for c in sheet[1]]
    assert headings[:3] == ["Họ và tên", "Ngày sinh", "Giới tính"]
    assert sheet["G2"].number_format == "@"  # the identity number stays text in a spreadsheet
    described = {row[0]: row[3] for row in notes.iter_rows(min_row=2, values_only=True)
                 if row and row[0]}
    assert described["Giới tính"] == "một trong các giá trị: Nam, Nữ"
    assert "Tạm giữ, Tạm giam" in described["Biện pháp"]
    assert "lặp lại ví dụ" in _import(client, db, got.data, "mau.xlsx").get_data(as_text=True)
    sheet.cell(2, headings.index("Họ và tên") + 1, "Phan Thị Bảng Tính")
    sheet.cell(2, headings.index("Giới tính") + 1, "Nữ")
    sheet.cell(2, headings.index("Số giấy tờ") + 1, "001195123472")
    out = io.BytesIO()
    book.save(out)
    done = _import(client, db, out.getvalue(), "mau.xlsx")
    assert "Đã đăng ký 1 người từ tệp mau.xlsx." in done.get_data(as_text=True)
    person = db.scalars(select(Person).where(Person.full_name == "Phan Thị Bảng Tính")).one()
    assert (person.sex, person.birth_date) == (Sex.FEMALE, dt.date(1990, 4, 15))
    assert person.episodes[0].legal_basis.startswith("Lệnh tạm giam")


def test_the_template_is_for_those_who_import(client, auth):
    auth.login("requester.vks")
    assert client.get("/persons/import/template.csv").status_code == 403
    assert client.get("/persons/import/template.xlsx").status_code == 403
    assert client.get("/persons/import/template.pdf").status_code == 404


def _repacked(content: bytes, change) -> bytes:
    """The workbook with its first sheet's XML changed."""
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            target.writestr(info.filename, change(data) if info.filename.endswith("sheet1.xml")
                            else data)
    return out.getvalue()


def test_a_hostile_workbook_is_refused_before_it_costs_anything():
    template = import_template.template_xlsx(lambda text: text)
    entities = _repacked(template, lambda xml: xml.replace(
        b"<worksheet", b'<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><worksheet', 1).replace(
        b"<t>Nguy", b"<t>&b;Nguy", 1))
    with pytest.raises(InvalidInput) as refused:
        bulk_import.read_rows(entities, "tep.xlsx")
    assert "not an XLSX workbook" in refused.value.message
    bomb = _repacked(template, lambda xml: xml + b" " * (bulk_import.MAX_UNPACKED + 1))
    assert len(bomb) < bulk_import.MAX_BYTES
    with pytest.raises(InvalidInput) as refused:
        bulk_import.read_rows(bomb, "tep.xlsx")
    assert "too large once unpacked" in refused.value.message
