"""The conflict queue's pages: Hà Nội camp's records officer finds the conflict in the menu and
the list, compares the two records field by field, and merges them with a reason and a tick;
another province's officer neither lists nor opens it; every opening and decision is audited."""

from __future__ import annotations

from sqlalchemy import select

from tests.helpers import last_audit, person_at
from tests.worlds import exchange_conflict
from workflow.models import AuditEntry, ExchangeConflict, Person


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
