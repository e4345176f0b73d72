"""The conflict queue's pages: Hà Nội camp's records officer finds the conflict in the menu and
the list, compares the two records field by field, and merges them with a reason and a tick;
another province's officer neither lists nor opens it; every opening and decision is audited."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from tests.helpers import last_audit, person_at
from tests.worlds import exchange_conflict
from workflow.context import Actor
from workflow.models import AuditEntry, ExchangeConflict, Person, User
from workflow.records import corrections


def test_a_records_officer_merges_a_conflict_from_its_page(app, client, auth, db):
    person = person_at(db, "TTG-HANOI")
    before = (person.place_of_origin, person.nationality, person.version)
    conflict_id = exchange_conflict(app, db, person)
    url = f"/exchange/conflicts/{conflict_id}"

    for other in ("clerk.hcm", "clerk.ntg"):
        auth.login(other)
        assert url not in client.get("/").get_data(as_text=True)
        assert url not in client.get("/exchange/conflicts/").get_data(as_text=True)
        assert client.get(url).status_code == 404
        assert client.post(url, data={"decision": "theirs", "reason": "Lấy theo bên gửi",
                                      "confirm": "y"}).status_code == 404
        auth.logout()

    auth.login("clerk.hanoi")
    home = client.get("/").get_data(as_text=True)
    assert "Xung đột dữ liệu trao đổi" in home and "/exchange/conflicts/" in home
    assert url in client.get("/exchange/conflicts/").get_data(as_text=True)
    page = client.get(url).get_data(as_text=True)
    assert "Quê quán theo bên gửi" in page and person.place_of_origin in page
    assert "hồ sơ tại đây đã thay đổi kể từ gói trước" in page
    assert last_audit(db, "exchange.conflict_read").person_id == person.id
    # Merging needs a field, a reason and the tick: without them nothing changes.
    for data in ({"decision": "merge", "reason": "Quê quán theo bên gửi", "confirm": "y"},
                 {"decision": "merge", "take": "place_of_origin", "reason": "Quê"},
                 {"decision": "merge", "take": "place_of_origin", "confirm": "y"}):
        refused = client.post(url, data=data)
        assert refused.status_code == 422, data
    db.expire_all()
    assert db.get(ExchangeConflict, conflict_id).status == "open"
    done = client.post(url, data={"decision": "merge", "take": "place_of_origin",
                                  "reason": "Quê quán theo giấy khai sinh", "confirm": "y"})
    assert done.status_code == 302
    db.expire_all()
    person = db.get(Person, person.id)
    assert (person.place_of_origin, person.nationality, person.version) == (
        "Quê quán theo bên gửi", before[1], before[2] + 1)
    conflict = db.get(ExchangeConflict, conflict_id)
    assert (conflict.status, conflict.taken) == ("merged", ["place_of_origin"])
    settled = client.get(url).get_data(as_text=True)
    assert "Đã hợp nhất" in settled and "Ghi quyết định" not in settled
    assert db.scalars(select(AuditEntry.action).where(
        AuditEntry.object_type == "conflict", AuditEntry.action == "exchange.conflict")).all() \
        == ["exchange.conflict"]
    # Settled: the menu no longer offers it.
    assert "/exchange/conflicts/" not in client.get("/").get_data(as_text=True)


def test_the_command_line_lists_and_settles_under_the_same_gate(app, runner, db):
    person = person_at(db, "TTG-HANOI")
    conflict_id = exchange_conflict(app, db, person)
    listed = runner.invoke(args=["exchange", "conflicts", "--account", "clerk.hanoi"])
    assert listed.exit_code == 0 and f"{conflict_id:>5}  TTG-HANOI#2  person 7001" in listed.output
    outsider = runner.invoke(args=["exchange", "conflicts", "--account", "clerk.hcm"])
    assert outsider.exit_code == 0 and "No conflict is waiting." in outsider.output
    refused = runner.invoke(args=["exchange", "conflict", str(conflict_id), "--account",
                                  "clerk.hcm", "--keep", "theirs", "--reason", "Lấy bên gửi"])
    assert refused.exit_code != 0
    assert last_audit(db, "access.refused").actor_name == "clerk.hcm"
    done = runner.invoke(args=["exchange", "conflict", str(conflict_id), "--account",
                               "clerk.hanoi", "--keep", "merge", "--take", "place_of_origin",
                               "--reason", "Quê quán theo giấy khai sinh"])
    assert done.exit_code == 0, done.output
    db.expire_all()
    assert db.get(Person, person.id).place_of_origin == "Quê quán theo bên gửi"
    again = runner.invoke(args=["exchange", "conflict", str(conflict_id), "--account",
                                "clerk.hanoi", "--keep", "ours", "--reason", "Đổi ý"])
    assert again.exit_code != 0 and db.get(ExchangeConflict, conflict_id).status == "merged"


def _settle(client, url: str, **data):
    return client.post(url, data={"reason": "Theo giấy tờ gốc", "confirm": "y"} | data)


def _shown_version(page: str) -> str:
    return re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)


def test_a_page_left_open_cannot_decide_again_or_decide_on_a_record_corrected_since(
        app, client, auth, db):
    person = person_at(db, "TTG-HANOI")
    conflict_id = exchange_conflict(app, db, person)
    url = f"/exchange/conflicts/{conflict_id}"
    auth.login("clerk.hanoi")
    before = person.version
    compared = _shown_version(client.get(url).get_data(as_text=True))
    assert compared == str(before)
    # Meanwhile another officer corrects the record: the decision made on the page is refused.
    with app.extensions["custody_sessions"]() as other:
        officer = other.scalar(select(User).where(User.username == "clerk.hanoi"))
        corrections.correct(other, Actor(officer), "person", person.id,
                            {"nationality": "Lào"}, reason="Sửa quốc tịch",
                            expected_version=before)
        other.commit()
    stale = _settle(client, url, decision="theirs", version=compared)
    assert stale.status_code == 422
    page = stale.get_data(as_text=True)
    assert "Hồ sơ tại đây đã được sửa sau khi bạn so sánh" in page
    db.expire_all()
    assert db.get(Person, person.id).nationality == "Lào"
    assert db.get(ExchangeConflict, conflict_id).status == "open"
    # The page shown again compares the record as it is now; deciding on it goes through.
    assert _shown_version(page) == str(before + 1)
    assert _settle(client, url, decision="ours", version=_shown_version(page)).status_code == 302
    # A second decision from a page opened before the first is refused, clearly.
    again = _settle(client, url, decision="theirs", version=_shown_version(page))
    assert again.status_code == 422
    assert "Xung đột này đã được xử lý." in again.get_data(as_text=True)
    db.expire_all()
    assert db.get(ExchangeConflict, conflict_id).status == "ours"
    assert db.get(Person, person.id).nationality == "Lào"


def test_the_page_takes_no_field_it_did_not_offer_and_shows_the_senders_text_as_text(
        app, client, auth, db):
    person = person_at(db, "TTG-HANOI")
    conflict_id = exchange_conflict(app, db, person)
    conflict = db.get(ExchangeConflict, conflict_id)
    data = conflict.data
    data["data"]["full_name"] = "<script>alert(1)</script>"
    conflict.data_json = json.dumps(data)
    db.commit()
    url = f"/exchange/conflicts/{conflict_id}"
    auth.login("clerk.hanoi")
    for page in (client.get(url), client.get("/exchange/conflicts/")):
        html = page.get_data(as_text=True)
        assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)" in html
    for forged in (conflict_id + 1000, 2**31, 10**20):
        assert client.get(f"/exchange/conflicts/{forged}").status_code == 404
        assert _settle(client, f"/exchange/conflicts/{forged}", decision="ours").status_code \
            == 404
    for crafted in ("id", "person_id", "version", "name_key"):
        refused = _settle(client, url, decision="merge", take=crafted)
        assert refused.status_code == 422, crafted
    db.expire_all()
    assert db.get(ExchangeConflict, conflict_id).status == "open"
    assert db.get(Person, person.id).full_name == person.full_name


def test_the_problem_names_the_field_in_vietnamese(app, client, auth, db):
    person = person_at(db, "TTG-HANOI")
    conflict_id = exchange_conflict(app, db, person)
    db.get(ExchangeConflict, conflict_id).problem = json.dumps({
        "message": "%(column)s: %(value)s is not valid",
        "params": {"column": "sex", "value": "'X'"}})
    db.commit()
    auth.login("clerk.hanoi")
    for url in (f"/exchange/conflicts/{conflict_id}", "/exchange/conflicts/"):
        html = client.get(url).get_data(as_text=True)
        assert "Giới tính: giá trị &#39;X&#39; không hợp lệ" in html and "sex:" not in html
