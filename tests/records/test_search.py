"""Person search: diacritic-insensitive names, identity numbers, scope, audit."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.helpers import last_audit, org
from workflow.models import AuditEntry
from workflow.names import search_key


@pytest.fixture
def an(client, auth, db):
    """Nguyễn Văn An, registered at the Hà Nội camp through the form."""
    auth.login("clerk.hanoi")
    response = client.post("/persons/new", data={
        "full_name": "Nguyễn Văn An", "birth_date": "1985-03-02", "sex": "male",
        "nationality": "Việt Nam", "id_kind": "cccd", "id_value": "001085999111",
        "facility_id": org(db, "TTG-HANOI").id, "measure": "detention",
        "start_date": "2026-11-02", "legal_basis": "Lệnh tạm giam số 1/LTG"})
    assert response.status_code == 302
    return int(response.location.rsplit("/", 1)[1])


def test_search_key_folds_vietnamese_diacritics():
    assert search_key("Nguyễn Văn An") == "nguyen van an"
    assert search_key("  ĐẶNG   thị  Hường ") == "dang thi huong"
    assert search_key("Lê-Ngọc Ánh") == "le ngoc anh"


@pytest.mark.parametrize("query", ["Nguyen Van An", "nguyễn văn an", "NGUYEN VAN", "An",
                                   "001085999111", "0010 8599 9111"])
def test_search_finds_the_person_without_diacritics_or_by_number(client, an, query):
    response = client.post("/search", data={"q": query}, follow_redirects=True)
    assert response.status_code == 200
    assert f"/persons/{an}".encode() in response.data


def test_search_narrows_by_birth_date(client, an):
    assert f"/persons/{an}".encode() in client.post(
        "/search", data={"q": "Nguyen Van An", "birth_date": "1985-03-02"},
        follow_redirects=True).data
    assert f"/persons/{an}".encode() not in client.post(
        "/search", data={"q": "Nguyen Van An", "birth_date": "03/03/1985"},
        follow_redirects=True).data


def test_search_is_audited_with_the_query(client, an, db):
    client.post("/search", data={"q": "Nguyen Van An"}, follow_redirects=True)
    entry = last_audit(db, "record.search")
    assert entry.actor_name == "clerk.hanoi" and "Nguyen Van An" in entry.details


def test_out_of_scope_clerk_does_not_find_the_person(client, auth, an):
    auth.logout()
    auth.login("clerk.hcm")
    response = client.post("/search", data={"q": "Nguyen Van An"}, follow_redirects=True)
    assert f"/persons/{an}".encode() not in response.data


@pytest.mark.parametrize("query", ["", "   ", "x" * 101, "!!!"])
def test_bad_search_input_gets_a_message(client, auth, query):
    auth.login("clerk.hanoi")
    response = client.post("/search", data={"q": query}, follow_redirects=True)
    assert response.status_code == 422


def test_results_are_a_page_of_their_own_with_no_name_in_its_address(client, an, db):
    posted = client.post("/search", data={"q": "Nguyen Van An", "birth_date": "02/03/1985"})
    assert posted.status_code == 303
    address = posted.location
    assert "Nguyen" not in address and "1985" not in address and "/search?s=" in address
    before = db.scalar(select(func.count()).select_from(AuditEntry))
    # Back and reload come to the results again (a GET: no "Confirm Form Resubmission")...
    for _ in range(2):
        page = client.get(address)
        assert page.status_code == 200 and f"/persons/{an}".encode() in page.data
        assert 'value="Nguyen Van An"' in page.get_data(as_text=True)
        assert f'name="next" value="{address[address.index("/search"):]}"' in page.get_data(
            as_text=True)
    # ...each showing of names audited as a search, one entry each
    assert db.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "record.search")) >= 2
    assert db.scalar(select(func.count()).select_from(AuditEntry)) > before
    # the language switch comes back to the same results
    path = address[address.index("/search"):]
    switched = client.post("/language", data={"lang": "en", "next": path})
    assert switched.location.endswith(path)
    assert f"/persons/{an}".encode() in client.get(switched.location).data


def test_a_search_id_from_another_session_or_forged_shows_nothing(client, auth, an):
    address = client.post("/search", data={"q": "Nguyen Van An"}).location
    auth.logout()
    auth.login("clerk.hanoi")
    page = client.get(address).get_data(as_text=True)
    assert f"/persons/{an}" not in page and "Nguyen Van An" not in page
    assert "Hãy tìm lại" in page
    assert f"/persons/{an}" not in client.get("/search?s=forged").get_data(as_text=True)
