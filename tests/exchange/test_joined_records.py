"""A person received and confirmed to be one already here: the received record's page says so
and leads to the one kept, for whoever may open the one kept (searches and figures:
tests/exchange/test_exchange.py)."""

from __future__ import annotations

from sqlalchemy import select

from tests.helpers import org, person_at
from tests.worlds import NOW
from workflow.context import SYSTEM, Actor
from workflow.enums import Role
from workflow.exchange import matches
from workflow.models import CustodyEpisode, PersonMatch
from workflow.security.accounts import create_user


def test_a_joined_records_page_leads_to_the_one_kept(client, auth, db):
    kept = person_at(db, "TTG-HANOI", skip_kiosk=True)
    received = db.get(type(kept), db.scalars(select(CustodyEpisode.person_id).where(
        CustodyEpisode.facility_id == org(db, "TTG-HANOI").id,
        CustodyEpisode.person_id != kept.id).limit(1)).one())
    match = PersonMatch(source="QP-QL", source_id=1, person_id=received.id,
                        candidate_id=kept.id, found_at=NOW)
    db.add(match)
    db.flush()
    officer = create_user(db, SYSTEM, username="clerk.centre", full_name="Cán bộ TT",
                          organisation_id=org(db, "TTCSDL").id, roles={Role.CLERK},
                          password="một câu đủ dài")
    matches.decide_match(db, Actor(officer), match.id, same=True,
                         reason="Đối chiếu ảnh và vân tay: cùng một người")
    db.commit()

    auth.login("clerk.hanoi")
    client.post(f"/persons/{received.id}/purpose", data={
        "purpose": "answer", "note": "Đơn khiếu nại số 7/KN", "next": f"/persons/{received.id}"})
    page = client.get(f"/persons/{received.id}")
    assert page.status_code == 200
    html = page.data.decode()
    assert "Hồ sơ này đã được hợp nhất vào hồ sơ của cùng một người" in html
    assert f'href="/persons/{kept.id}"' in html and f"Mở hồ sơ mã {kept.id}" in html
    assert f"/persons/{received.id}/correct" not in html  # kept as it was, written to there
