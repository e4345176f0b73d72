"""Verification codes typed by hand (issue 14, defect 7): new codes have no character that reads
as another (Crockford's base32), a typed code is read the way that alphabet is meant to be read,
a blank or malformed entry is told what to type instead of being called a forgery, only a
well-formed code that matches nothing is "not found", and the codes issued before in the old
alphabet (RFC 4648 base32) still verify, typed exactly or with 0 for O and 1 for I or L."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select, text

from tests.worlds import World, arrange, prepare, release, text_of
from workflow.db import make_engine
from workflow.documents import codes, issuing
from workflow.models import AuditEntry, IssuedDocument
from workflow.schema import upgrade

GROUPED = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$")
# A code of the new alphabet with the digits people type as letters.
FIXED = "R0A1-B2C3-D4E5-F6G7"
# What the old generator made (base64.b32encode of 10 random bytes): O, L, I and U among them.
OLD = "OLIU-ZB2C-3D4E-5F6G"
GENUINE = "Văn bản hợp lệ"
NOT_FOUND = "Không tìm thấy văn bản có mã này"
INSTRUCTION = "Nhập mã xác thực in trên văn bản"
CANNOT_BE = "không thể là mã xác thực"
FORMAT_HINT = "chữ O được đọc là số 0, chữ I và chữ L được đọc là số 1"


# --- the codes themselves ------------------------------------------------------------------


def test_new_codes_never_hold_a_character_that_reads_as_another():
    issued = [codes.new_code() for _ in range(3000)]
    assert all(GROUPED.match(code) for code in issued)
    assert not set("".join(issued)) & set("ILOU")
    assert set("".join(issued)) - {"-"} == set(codes.ALPHABET)  # every symbol is used
    assert len(set(issued)) == len(issued)
    assert len(codes.ALPHABET) ** codes.LENGTH >= 2 ** 80
    # A new code is its own key: the page finds it as printed.
    assert all(codes.key_of(code) == code == codes.read(code).key for code in issued[:200])


@pytest.mark.parametrize("typed", [
    FIXED, FIXED.lower(), "ROA1-B2C3-D4E5-F6G7", "roal b2c3 d4e5 f6g7", "RoAI.B2C3.D4E5.F6G7",
    "R0A1B2C3D4E5F6G7", "  r0a1 – b2c3 — d4e5 · f6g7  ", "Ｒ０Ａ１-Ｂ２Ｃ３-Ｄ４Ｅ５-Ｆ６Ｇ７",
])
def test_a_typed_code_is_read_as_crockford_means_it(typed):
    assert codes.read(typed) == codes.Reading(FIXED, length=16)


@pytest.mark.parametrize("typed", [OLD, OLD.lower(), "0LIU ZB2C 3D4E 5F6G", "o11u-zb2c-3d4e-5f6g",
                                   "OIlU.ZB2C.3D4E.5F6G"])
def test_an_old_code_and_its_confusables_reach_its_key(typed):
    assert codes.read(typed).key == codes.key_of(OLD) == "011U-ZB2C-3D4E-5F6G"


@pytest.mark.parametrize(("typed", "problem"), [
    ("", codes.Problem.BLANK), ("   ", codes.Problem.BLANK), (" - . - ", codes.Problem.BLANK),
    (None, codes.Problem.BLANK),
    ("ZZZZ", codes.Problem.LENGTH), (FIXED + "8", codes.Problem.LENGTH),
    (FIXED[:-1], codes.Problem.LENGTH),
    ("R0A1-B2C3-D4E5-F6G!", codes.Problem.CHARACTERS),
    ("Đ0A1-B2C3-D4E5-F6G7", codes.Problem.CHARACTERS),
    ("U0A1-B2C3-D4E5-F6G8", codes.Problem.LETTER_U),  # U is in no new code, 8 in no old one
])
def test_what_cannot_be_a_code_says_why(typed, problem):
    reading = codes.read(typed)
    assert reading.key is None and reading.problem is problem


# --- the public page -----------------------------------------------------------------------


def _verifications(db) -> int:
    return db.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "document.verify_code"))


def _released(world: World, db, monkeypatch=None, code: str | None = None) -> IssuedDocument:
    _person, request = arrange(world, db)
    if monkeypatch is not None:  # the extract's code, and no other document's
        monkeypatch.setattr(issuing, "new_code", iter([code]).__next__)
    return release(world, prepare(world, request.id))


def test_a_genuine_code_verifies_however_it_is_typed(world, db, client, monkeypatch):
    document = _released(world, db, monkeypatch, FIXED)
    assert (document.code, document.code_key) == (FIXED, FIXED)
    world.session.commit()
    for typed in ("ROA1-B2C3-D4E5-F6G7", "r0a1b2c3d4e5f6g7", "roa1 b2c3 d4e5 f6g7",
                  "R0AL-B2C3-D4E5-F6G7", "ROAI.B2C3.D4E5.F6G7"):
        response = client.get("/verify", query_string={"code": typed})
        assert response.status_code == 302, typed
        assert response.location.endswith(f"/verify/{FIXED}")
        page = client.get(f"/verify/{typed.replace(' ', '%20')}")
        assert page.status_code == 200, typed
        assert GENUINE in page.get_data(as_text=True)
    assert GENUINE in client.get(response.location).get_data(as_text=True)


def test_the_pdf_prints_a_new_code_and_its_link(world, db, client, tmp_path):
    document = _released(world, db)
    code, pdf = document.code, document.pdf
    world.session.commit()
    printed = text_of(pdf, tmp_path)
    assert re.search(r"Mã xác thực: (\S+)", printed).group(1) == code
    assert GROUPED.match(code) and not set(code) & set("ILOU")
    # The link may wrap: read without the line breaks.
    assert f"https://csdl.example.vn/verify/{code}" in "".join(printed.split()), printed[-400:]
    assert client.get(f"/verify/{code.lower()}").status_code == 200


def test_a_blank_submit_is_told_what_to_type(client, db):
    before = _verifications(db)
    for blank in ("", "   ", " - - "):
        response = client.get("/verify", query_string={"code": blank})
        html = response.get_data(as_text=True)
        assert response.status_code == 422
        assert INSTRUCTION in html and 'aria-invalid="true"' in html
        assert NOT_FOUND not in html and "hợp lệ</h2>" not in html
    assert _verifications(db) == before  # nothing was looked up
    # The page itself, opened without a code, has no error.
    html = client.get("/verify").get_data(as_text=True)
    assert INSTRUCTION not in html and CANNOT_BE not in html


@pytest.mark.parametrize(("typed", "why"), [
    ("ZZZZ", "chuỗi này có 4 chữ cái và chữ số, mã có 16"),
    ("R0A1-B2C3-D4E5-F6G7-H8", "chuỗi này có 18 chữ cái và chữ số"),
    ("R0A1-B2C3-D4E5-F6G%", "không bao giờ chứa %"),
    ("U0A1-B2C3-D4E5-F6G8", "không dùng chữ U"),
])
def test_a_malformed_code_gets_the_format_hint(client, db, typed, why):
    before = _verifications(db)
    for response in (client.get("/verify", query_string={"code": typed}),
                     client.get("/verify/" + typed.replace("%", "%25"))):
        html = response.get_data(as_text=True)
        assert response.status_code == 422
        assert CANNOT_BE in html and why in html and FORMAT_HINT in html
        assert "không bao giờ có chữ U" in html  # the alphabet's missing U is said
        assert NOT_FOUND not in html
    assert _verifications(db) == before


def test_a_forged_well_formed_code_is_not_found(client, db):
    forged = codes.new_code()
    before = _verifications(db)
    response = client.get("/verify", query_string={"code": forged.lower()})
    assert response.status_code == 302 and response.location.endswith(f"/verify/{forged}")
    page = client.get(response.location)
    html = page.get_data(as_text=True)
    assert page.status_code == 404 and NOT_FOUND in html and forged in html
    assert CANNOT_BE not in html and INSTRUCTION not in html
    assert _verifications(db) == before + 1


def test_codes_of_the_old_alphabet_still_verify(app, world, db, client, database_url):
    """A document issued with an old code, carried through the migration that keys the codes:
    typed exactly as printed, or with its O, I and L typed as digits, it is found."""
    document = _released(world, db)
    document_id = document.id
    world.session.commit()
    world.session.close()
    engine = make_engine(database_url)
    upgrade(engine, "0016")
    with engine.begin() as conn:
        conn.execute(text("UPDATE issued_document SET code = :code WHERE id = :id"),
                     {"code": OLD, "id": document_id})
    upgrade(engine)
    engine.dispose()
    app.extensions["custody_engine"].dispose()
    db.expire_all()
    stored = db.get(IssuedDocument, document_id)
    assert (stored.code, stored.code_key) == (OLD, "011U-ZB2C-3D4E-5F6G")
    for typed in (OLD, OLD.lower(), "0LIU ZB2C 3D4E 5F6G", "01IU-ZB2C-3D4E-5F6G",
                  "O1LU.ZB2C.3D4E.5F6G"):
        response = client.get("/verify", query_string={"code": typed})
        assert response.status_code == 302, typed
        page = client.get(response.location)
        assert page.status_code == 200 and GENUINE in page.get_data(as_text=True), typed
        assert client.get(f"/verify/{typed.replace(' ', '%20')}").status_code == 200, typed
    # The QR code of an old document points at its code as printed.
    assert client.get(f"/verify/{OLD}").status_code == 200
