"""Records imported in bulk from a facility's file: every row checked by the registration rules,
all imported or none, with each rejected row named and why; CSV and JSON; page and command."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select

from tests.helpers import last_audit, org
from workflow.context import Actor
from workflow.errors import InvalidInput
from workflow.models import AuditEntry, Person, PersonIdentifier, RecordVersion, User
from workflow.records import bulk_import

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
    ("x", "tep.xlsx", ".csv or .json"),
])
def test_an_unreadable_file_is_refused_as_a_whole(content, name, why):
    with pytest.raises(InvalidInput) as refused:
        bulk_import.read_rows(content.encode(), name)
    assert why in refused.value.message


def test_the_page_imports_and_lists_rejections(client, auth, db):
    auth.login("clerk.hanoi")
    facility = org(db, "TTG-HANOI").id
    page = client.post("/persons/import", data={
        "facility_id": facility,
        "file": (io.BytesIO((HEADER + GOOD[0] + "\nX,bad,male,VN,cccd,1,detention,"
                             "2026-11-01,L").encode()), "tep.csv")},
        content_type="multipart/form-data")
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert "birth_date" in html and "Lê Văn Nhập" not in html
    done = client.post("/persons/import", data={
        "facility_id": facility, "file": (io.BytesIO((HEADER + GOOD[0]).encode()), "tep.csv")},
        content_type="multipart/form-data")
    assert done.status_code == 302
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
