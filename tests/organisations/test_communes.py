"""Commune police in the organisation tree: loaded from a CSV file (thousands of rows, all or
none, again without change), dated links under their province, names in force on a day."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from tests.helpers import count, last_audit, org
from workflow.models import Organisation, OrganisationLink, OrganisationName
from workflow.organisations.enums import OrgKind
from workflow.organisations.scope import management_scope
from workflow.organisations.tree import PROVINCES, province_slug

HEADER = "code,name,parent,valid_from,valid_to\n"


def _file(tmp_path, body: str, name: str = "communes.csv"):
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return str(path)


def _communes(db) -> int:
    return db.scalar(select(func.count()).select_from(Organisation).where(
        Organisation.kind == OrgKind.COMMUNE_POLICE))


def test_thousands_of_communes_load_once_and_again_change_nothing(runner, db, tmp_path):
    rows = "".join(f"CAX-T{i:05d},Công an xã Thử {i},CA-{province_slug(PROVINCES[i % 34][1])},"
                   "2025-07-01,\n" for i in range(3000))
    path = _file(tmp_path, rows)
    before = _communes(db)
    loaded = runner.invoke(args=["load-communes", path])
    assert loaded.exit_code == 0, loaded.output
    assert "3000 rows: 3000 communes created" in loaded.output
    assert _communes(db) == before + 3000
    entry = last_audit(db, "admin.commune_load")
    assert '"created": 3000' in entry.details
    links, names = count(db, OrganisationLink), count(db, OrganisationName)
    again = runner.invoke(args=["load-communes", path])
    assert again.exit_code == 0 and "0 communes created, 0 renamed, 0 moved, 0 closed, 3000 " \
        "unchanged" in again.output
    assert (_communes(db), count(db, OrganisationLink), count(db, OrganisationName)) == (
        before + 3000, links, names)
    # Each is under its province from its first day.
    commune = org(db, "CAX-T00034")
    assert management_scope(db, org(db, "CA-HANOI"), dt.date(2025, 8, 1)).covers_commune(
        commune.id)
    assert not management_scope(db, org(db, "CA-HANOI"), dt.date(2025, 6, 1)).covers_commune(
        commune.id)


def test_bad_rows_are_reported_by_line_and_nothing_is_loaded(runner, db, tmp_path):
    path = _file(tmp_path, "CAX-OK-1,Công an xã Tốt,CA-HANOI,2025-07-01,\n"
                           "CAX-BAD-1,Công an xã Sai,CA-KHONGCO,2025-07-01,\n"
                           "CAX-OK-2,Công an xã Tốt Hai,CA-HANOI,2025-07-01,\n"
                           "CAX-BAD-2,Công an xã Ngày Sai,CA-HANOI,31/02/2025,\n"
                           "TTG-HANOI,Trại giam đổi loại,CA-HANOI,2025-07-01,\n"
                           "CAX-BAD-3,,CA-HANOI,2025-07-01,\n")
    before, links = _communes(db), count(db, OrganisationLink)
    result = runner.invoke(args=["load-communes", path])
    assert result.exit_code == 1
    assert "line 3: CA-KHONGCO is not a provincial police." in result.output
    assert "line 5: A date is not a date" in result.output
    assert "line 6: The code TTG-HANOI belongs to another kind of body." in result.output
    assert "line 7: code, name, parent and valid_from are required." in result.output
    assert "line 2" not in result.output and "line 4" not in result.output
    assert "Nothing was loaded: 4 rows are wrong." in result.output
    assert (_communes(db), count(db, OrganisationLink)) == (before, links)
    assert db.scalar(select(Organisation.id).where(Organisation.code == "CAX-OK-1")) is None


def test_a_renamed_commune_bears_each_name_on_its_days(runner, db, tmp_path):
    first = _file(tmp_path, "CAX-R-1,Công an xã Cũ,CA-HANOI,2025-07-01,\n", "a.csv")
    assert runner.invoke(args=["load-communes", first]).exit_code == 0
    renamed = _file(tmp_path, "CAX-R-1,Công an xã Cũ,CA-HANOI,2025-07-01,\n"
                              "CAX-R-1,Công an phường Mới,CA-HANOI,2026-07-01,\n", "b.csv")
    result = runner.invoke(args=["load-communes", renamed])
    assert "1 renamed" in result.output, result.output
    db.expire_all()
    commune = org(db, "CAX-R-1")
    assert commune.name_on(dt.date(2026, 6, 30)) == "Công an xã Cũ"
    assert commune.name_on(dt.date(2026, 7, 1)) == "Công an phường Mới"
    assert commune.name == "Công an phường Mới"  # the name in force now
    # The same day with another name is a mistake, not a rename: refused, nothing changed.
    wrong = _file(tmp_path, "CAX-R-1,Công an xã Khác,CA-HANOI,2026-07-01,\n", "c.csv")
    refused = runner.invoke(args=["load-communes", wrong])
    assert refused.exit_code == 1 and "line 2: CAX-R-1 bore another name" in refused.output
    db.expire_all()
    assert org(db, "CAX-R-1").name_on(dt.date(2026, 8, 1)) == "Công an phường Mới"


def test_a_commune_moved_to_another_province_is_in_each_scope_on_its_days(runner, db, tmp_path):
    path = _file(tmp_path, "CAX-M-1,Công an xã Giáp Ranh,CA-HANOI,2025-07-01,\n"
                           "CAX-M-1,Công an xã Giáp Ranh,CA-BACNINH,2026-01-01,\n")
    result = runner.invoke(args=["load-communes", path])
    assert result.exit_code == 0, result.output
    commune = org(db, "CAX-M-1")
    hanoi, bacninh = org(db, "CA-HANOI"), org(db, "CA-BACNINH")
    assert management_scope(db, hanoi, dt.date(2025, 12, 31)).covers_commune(commune.id)
    assert not management_scope(db, hanoi, dt.date(2026, 1, 1)).covers_commune(commune.id)
    assert management_scope(db, bacninh, dt.date(2026, 1, 1)).covers_commune(commune.id)
    # Its documents are numbered with its own abbreviation, headed by the province over it now.
    assert (commune.abbreviation, commune.governing_id) == ("CAX-M-1", bacninh.id)
    assert runner.invoke(args=["load-communes", path]).output.endswith("2 unchanged.\n")


def test_the_demo_communes_are_under_their_provinces(db):
    day = dt.date(2026, 11, 24)
    hanoi = management_scope(db, org(db, "CA-HANOI"), day)
    assert org(db, "CAX-HANOI-BADINH").id in hanoi.commune_ids
    assert org(db, "CAX-HOCHIMINH-SAIGON").id not in hanoi.commune_ids
    commune = management_scope(db, org(db, "CAX-HANOI-BADINH"), day)
    assert commune.commune_ids == {org(db, "CAX-HANOI-BADINH").id} and not commune.facility_ids
    assert not commune.empty
    # A commune manages no facility; the camp none of the communes.
    assert not management_scope(db, org(db, "TTG-HANOI"), day).commune_ids
