"""The signature block (Decree 30/2020 Art. 13): the authority an official signs with, above
their position, as an administrator records it on the account."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.helpers import org
from workflow.documents.authority import signature_lines
from workflow.documents.enums import Authority
from workflow.models import User


@pytest.mark.parametrize(("authority", "position", "org_code", "lines"), [
    (Authority.HEAD, "Giám đốc", "CA-HANOI", ["GIÁM ĐỐC"]),
    (Authority.HEAD, None, "TA-HANOI", ["CHÁNH ÁN"]),
    (Authority.DEPUTY, "Phó Viện trưởng", "VKS-HANOI", ["KT. VIỆN TRƯỞNG", "PHÓ VIỆN TRƯỞNG"]),
    (Authority.BY_ORDER, "Trưởng phòng PV01", "CA-HANOI", ["TL. GIÁM ĐỐC", "TRƯỞNG PHÒNG PV01"]),
    (Authority.DELEGATED, "Chánh Văn phòng", "CA-HANOI",
     ["TUQ. GIÁM ĐỐC", "CHÁNH VĂN PHÒNG"]),
    (Authority.COLLECTIVE, "Chủ tịch", "TTG-HANOI",
     ["TM. TRẠI TẠM GIAM CÔNG AN THÀNH PHỐ HÀ NỘI", "CHỦ TỊCH"]),
    (None, "Cán bộ", "TTG-HANOI", ["TL. GIÁM THỊ", "CÁN BỘ"]),
])
def test_the_block_names_the_authority_above_the_position(db, authority, position, org_code,
                                                         lines):
    body = org(db, org_code)
    signer = User(full_name="Nguyễn Văn A", position=position, signs_as=authority)
    assert signature_lines(signer, body) == lines


def test_an_administrator_records_how_an_account_signs(client, auth, db):
    user = db.scalars(select(User).where(User.username == "clerk.hanoi")).one()
    auth.login("admin")
    page = client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "Chức vụ" in page and "Thẩm quyền ký văn bản" in page
    response = client.post(f"/admin/users/{user.id}", data={
        "roles": ["clerk"], "clearance": "mat", "active": "y",
        "position": "Phó Giám thị", "signs_as": "kt"})
    assert response.status_code == 302
    db.expire_all()
    user = db.get(User, user.id)
    assert (user.position, user.signs_as) == ("Phó Giám thị", Authority.DEPUTY)
    bad = client.post(f"/admin/users/{user.id}", data={
        "roles": ["clerk"], "clearance": "mat", "active": "y",
        "position": "x" * 121, "signs_as": "boss"})
    assert bad.status_code == 422
    db.expire_all()
    assert db.get(User, user.id).position == "Phó Giám thị"
