"""The inspector's trail about a person: asked by a name (diacritics optional), an identity number
or a record number, it shows every entry about that person, lists namesakes to choose from, and
stays within the inspector's scope; the inspector's own views are folded away unless asked."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, select

from tests.helpers import enrol_everyone, last_audit, org
from tests.worlds import ask
from workflow.enums import Role
from workflow.models import AuditEntry, Person
from workflow.organisations.scope import subtree_ids

HANOI, SAIGON = "TTG-HANOI", "TTG-HOCHIMINH"
TIEN = ("Khổng Minh Tiến", "001085777001")  # a family name the demo data never gives
LUA_HANOI = ("Khổng Thị Lụa", "001190777002")
LUA_SAIGON = ("Khổng Thị Lụa", "079190777003")


def register(client, auth, db, clerk: str, facility: str, person: tuple[str, str]) -> int:
    """A person received at a facility through the clerk's form; the record's number."""
    name, number = person
    auth.login(clerk)
    response = client.post("/persons/new", data={
        "full_name": name, "birth_date": "1985-03-02", "sex": "male", "nationality": "Việt Nam",
        "id_kind": "cccd", "id_value": number, "facility_id": org(db, facility).id,
        "measure": "detention", "start_date": "2026-11-02", "legal_basis": "Lệnh 1/LTG"})
    assert response.status_code == 302, response.data
    auth.logout()
    return int(response.location.rsplit("/", 1)[1])


def viewed_by(client, auth, db, clerk: str, person_id: int) -> AuditEntry:
    """The clerk opens the record; its record.view entry."""
    auth.login(clerk)
    auth.purpose(person_id)
    assert client.get(f"/persons/{person_id}").status_code == 200
    auth.logout()
    return last_audit(db, "record.view")


def trail(client, subject: str = "", **filters) -> str:
    """The inspector's filter, posted; the page it leads to. What was typed stays out of the
    address (and so out of logs and the browser's history)."""
    response = client.post("/audit/", data={"subject": subject, **filters})
    assert response.status_code == 303, response.data
    assert not subject or subject not in response.location
    page = client.get(response.location)
    assert page.status_code == 200
    return page.data.decode()


def seqs(html: str) -> list[int]:
    """The entries on the page, by number."""
    return [int(s) for s in re.findall(r'<tr class="outcome-\w+">\s*<td class="mono">(\d+)</td>',
                                       html)]


def test_searching_by_citizen_number_finds_the_views_of_that_persons_record(client, auth, db):
    tien = register(client, auth, db, "clerk.hanoi", HANOI, TIEN)
    viewed = viewed_by(client, auth, db, "clerk.hanoi", tien)
    auth.login("inspector")
    html = trail(client, "0010 8577 7001")
    assert "Nhật ký về Khổng Minh Tiến" in html
    shown = seqs(html)
    assert viewed.seq in shown
    assert all(db.get(AuditEntry, seq).person_id == tien for seq in shown)


def test_searching_by_name_without_diacritics_finds_the_views_and_the_searches_naming_them(
        client, auth, db):
    tien = register(client, auth, db, "clerk.hanoi", HANOI, TIEN)
    viewed = viewed_by(client, auth, db, "clerk.hanoi", tien)
    auth.login("clerk.ntg")  # a custody house of Hà Nội: searches, finds nobody, still asked
    searches = []
    for query in ("KHỔNG minh tiến", "001085777001", "khong"):
        client.post("/search", data={"q": query}, follow_redirects=True)
        searches.append(last_audit(db, "record.search").seq)
    auth.logout()
    auth.login("inspector")
    html = trail(client, "khong minh tien")
    assert "Nhật ký về Khổng Minh Tiến" in html
    shown = seqs(html)
    assert viewed.seq in shown
    # Searching for the full name or the number is about the person; a family name alone is not.
    assert searches[0] in shown and searches[1] in shown and searches[2] not in shown
    assert trail(client, str(tien)).count("Nhật ký về Khổng Minh Tiến") == 1  # the record number


def test_requests_about_the_person_are_in_their_trail(client, auth, db, world):
    tien = register(client, auth, db, "clerk.hanoi", HANOI, TIEN)
    request = ask(world, "requester.vks", world.session.get(Person, tien))
    filed = db.scalars(select(AuditEntry.seq).where(AuditEntry.object_type == "request",
                                                    AuditEntry.object_id == str(request.id)))
    auth.login("inspector")
    shown = seqs(trail(client, TIEN[1]))
    assert set(filed) <= set(shown)


def test_a_name_two_persons_bear_lists_both_to_choose_from(client, auth, db):
    hanoi = register(client, auth, db, "clerk.hanoi", HANOI, LUA_HANOI)
    saigon = register(client, auth, db, "clerk.hcm", SAIGON, LUA_SAIGON)
    viewed = viewed_by(client, auth, db, "clerk.hcm", saigon)
    auth.login("inspector")
    html = trail(client, "Khong Thi Lua", actor="clerk.hcm")
    assert "Có 2 người khớp: hãy chọn một người" in html
    assert LUA_HANOI[1] in html and LUA_SAIGON[1] in html
    assert seqs(html) == []  # no entry until one is chosen: no false "nobody"
    choose = re.findall(r'href="(/audit/\?[^"]*person_id=(\d+)[^"]*)"', html)
    assert {int(p) for _, p in choose} == {hanoi, saigon}
    chosen = next(url for url, p in choose if int(p) == saigon).replace("&amp;", "&")
    assert "actor=clerk.hcm" in chosen  # the rest of the filter is kept
    html = client.get(chosen).data.decode()
    assert "Nhật ký về Khổng Thị Lụa" in html and LUA_SAIGON[1] in html
    assert viewed.seq in seqs(html)


def test_nobody_matching_says_so_instead_of_an_empty_trail(client, auth):
    auth.login("inspector")
    html = trail(client, "Khong Khong Ai")
    assert "Không có người nào khớp" in html and "Không có bản ghi phù hợp" not in html
    assert seqs(html) == []


def test_an_inspector_of_one_province_sees_no_other_provinces_entries_through_the_search(
        client, auth, db, world):
    hanoi = register(client, auth, db, "clerk.hanoi", HANOI, LUA_HANOI)
    saigon = register(client, auth, db, "clerk.hcm", SAIGON, LUA_SAIGON)
    seen_in_hanoi = viewed_by(client, auth, db, "clerk.hanoi", hanoi)
    seen_in_saigon = viewed_by(client, auth, db, "clerk.hcm", saigon)
    world.make_user("inspector.hcm", "CA-HOCHIMINH", Role.INSPECTOR)
    enrol_everyone(world.session, "test-secret")
    world.session.commit()
    auth.login("inspector.hcm", "a test passphrase")
    # The name matches the namesake in Hồ Chí Minh City only: the one in Hà Nội is not listed.
    html = trail(client, "khong thi lua")
    assert "Nhật ký về Khổng Thị Lụa" in html and LUA_HANOI[1] not in html
    shown = seqs(html)
    assert seen_in_saigon.seq in shown and seen_in_hanoi.seq not in shown
    province = subtree_ids(db, org(db, "CA-HOCHIMINH").id, dt.date.today())
    assert all(db.get(AuditEntry, seq).organisation_id in province for seq in shown)
    # The Hà Nội person by number, by record number, or by the link of a chosen person: nobody.
    for subject in (LUA_HANOI[1], str(hanoi)):
        html = trail(client, subject)
        assert "Không có người nào khớp" in html and seqs(html) == []
    html = client.get(f"/audit/?person_id={hanoi}").data.decode()
    assert "Không có người nào khớp" in html and LUA_HANOI[0] not in html
    # The inspector of the centre sees both.
    auth.logout()
    auth.login("inspector")
    assert "Có 2 người khớp" in trail(client, "khong thi lua")


def test_the_inspectors_own_views_are_folded_by_default_and_shown_when_asked(client, auth, db):
    auth.login("inspector")
    client.get("/audit/")
    client.get("/audit/?actor=clerk.hanoi")
    own = list(db.scalars(select(AuditEntry.seq).where(AuditEntry.action == "audit.view",
                                                       AuditEntry.actor_name == "inspector")))
    assert len(own) == 2
    html = client.get("/audit/").data.decode()
    assert not set(own) & set(seqs(html))
    assert "Đã ẩn 2 lần xem nhật ký của chính đồng chí." in html
    assert 'name="own_views"' in html and "Hiện cả các lần xem nhật ký của chính tôi" in html
    assert "checked" not in re.search(r'<input[^>]*name="own_views"[^>]*>', html).group(0)
    html = trail(client, own_views="y")
    assert set(own) <= set(seqs(html)) and "Đã ẩn" not in html
    # Folded, not unrecorded: each view above wrote its entry.
    assert db.scalar(select(func.count()).where(AuditEntry.action == "audit.view",
                                                AuditEntry.actor_name == "inspector")) == 4


def test_the_trail_audits_whom_the_inspector_asked_about(client, auth, db):
    tien = register(client, auth, db, "clerk.hanoi", HANOI, TIEN)
    auth.login("inspector")
    trail(client, "khong minh tien")
    entry = last_audit(db, "audit.view")
    assert entry.person_id == tien and '"subject": "khong minh tien"' in entry.details


def test_extreme_filter_values_answer_without_a_server_error(client, auth):
    auth.login("inspector")
    for query in ("date_from=01/01/0001&date_to=31/12/9999", "person_id=2147483647",
                  "before=9223372036854775807&action=record.", "person_id=99999999999",
                  "action=no.such", "s=forgotten"):
        assert client.get(f"/audit/?{query}").status_code in (200, 422), query
    for subject in ("0", "123456789", "1234567890123", "B1234567", "ĐĐĐ"):
        assert client.get(trail_address(client, subject)).status_code == 200, subject
    page = client.get(trail_address(client, "%_%"))  # no letter, no digit: nothing to look for
    assert page.status_code == 422 and "Hãy nhập họ tên hoặc số giấy tờ" in page.data.decode()


def trail_address(client, subject: str) -> str:
    response = client.post("/audit/", data={"subject": subject})
    assert response.status_code == 303
    return response.location
