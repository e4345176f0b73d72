"""Person search: diacritic-insensitive names, identity numbers, scope, audit."""

from __future__ import annotations

import pytest

from tests.helpers import last_audit, org
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
    response = client.post("/search", data={"q": query})
    assert response.status_code == 200
    assert f"/persons/{an}".encode() in response.data


def test_search_narrows_by_birth_date(client, an):
    assert f"/persons/{an}".encode() in client.post(
        "/search", data={"q": "Nguyen Van An", "birth_date": "1985-03-02"}).data
    assert f"/persons/{an}".encode() not in client.post(
        "/search", data={"q": "Nguyen Van An", "birth_date": "1985-03-03"}).data


def test_search_is_audited_with_the_query(client, an, db):
    client.post("/search", data={"q": "Nguyen Van An"})
    entry = last_audit(db, "record.search")
    assert entry.actor_name == "clerk.hanoi" and "Nguyen Van An" in entry.details


def test_out_of_scope_clerk_does_not_find_the_person(client, auth, an):
    auth.logout()
    auth.login("clerk.hcm")
    response = client.post("/search", data={"q": "Nguyen Van An"})
    assert f"/persons/{an}".encode() not in response.data


@pytest.mark.parametrize("query", ["", "   ", "x" * 101, "!!!"])
def test_bad_search_input_gets_a_message(client, auth, query):
    auth.login("clerk.hanoi")
    response = client.post("/search", data={"q": query})
    assert response.status_code == 422
