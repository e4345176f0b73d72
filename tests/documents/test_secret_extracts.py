"""Extracts holding state secrets: the mark of the highest level they hold (read back from the
PDF, and where it stands on the page), the register of secret documents sent out, and the
handling rules: one named recipient, numbered copies, downloads limited alike on the page and
over the API; on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import subprocess

import pytest
from sqlalchemy import select

from tests.helpers import last_audit, system_token
from tests.worlds import World, ask, fresh_person, prepare, release, text_of
from workflow.documents import extracts, secrets
from workflow.enums import Role, Secrecy
from workflow.errors import InvalidInput, NotFound
from workflow.models import IssuedDocument, Person, RecordDocument, SecretRegisterEntry
from workflow.records.enums import CaseStage, DocumentCategory
from workflow.requests import decisions

LEVELS = (Secrecy.CONFIDENTIAL, Secrecy.SECRET)


def secret_request(world: World, db, filer: str = "requester.vks",
                   levels: tuple[Secrecy, ...] = LEVELS):
    """A person whose orders include documents of `levels`, asked for by `filer` and approved
    by the police (whose approver's clearance covers Tối mật); no case stage needs consent."""
    person = fresh_person(world, db, CaseStage.CLOSED, unclassified=True)
    db.expire_all()
    person = db.get(Person, person.id)
    episode = person.episodes[-1]
    db.add_all([RecordDocument(person_id=person.id, episode_id=episode.id,
                               category=DocumentCategory.ORDERS, title=f"Lệnh mức {level.value}",
                               number=f"{index}/LM", issued_on=episode.start_date,
                               issuer="Cơ quan điều tra", secrecy=level,
                               summary=f"Tóm tắt nội dung {level.value}")
                for index, level in enumerate(levels, 1)])
    db.flush()
    request = ask(world, filer, person, categories=["a_orders", "episodes"])
    world.act(decisions.approve, world.actor("approver.hanoi"), request.id)
    return request


def words(pdf: bytes, tmp_path) -> list[tuple[str, float, float]]:
    """The first page's words with their position (points from the left and from the top)."""
    path = tmp_path / "words.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-bbox", str(path), "-"],
                         check=True, capture_output=True, text=True).stdout
    return [(html.unescape(text), float(x), float(y)) for x, y, text in re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)"[^>]*>([^<]*)</word>', out)]


def where(runs: list[tuple[str, float, float]], *needle: str) -> tuple[float, float]:
    """Where the words appear in a row on the page (the first of them)."""
    texts = [text for text, _x, _y in runs]
    for index in range(len(runs)):
        if texts[index:index + len(needle)] == list(needle):
            return runs[index][1], runs[index][2]
    raise AssertionError(needle)


def test_an_extract_holding_a_toi_mat_document_carries_that_mark_under_its_number(
        world, db, tmp_path):
    request = secret_request(world, db)
    document = release(world, prepare(world, request.id))
    assert document.secrecy is Secrecy.SECRET
    first = text_of(document.pdf, tmp_path, 1)
    # The highest level it holds, once, and no lower mark beside it.
    assert first.count("TỐI MẬT") == 1 and "TUYỆT MẬT" not in first
    assert not re.search(r"\bMẬT\b", first.replace("TỐI MẬT", ""))
    # Both documents are listed with their titles and summaries: what makes the mark due.
    whole = text_of(document.pdf, tmp_path)
    assert "Lệnh mức toi_mat" in whole and "Tóm tắt nội dung toi_mat" in whole
    # The handling rules printed on it: the copies, the one recipient, the law of its date.
    assert "phát hành 02 bản điện tử, chỉ cấp cho người có tên: Kiểm sát viên Vũ Thị Mai" \
        in whole
    assert "Luật Bảo vệ bí mật nhà nước số 117/2025/QH15" in whole
    # Decree 30/2020 box 10a: under the number, in the issuer's (left) column, above the title.
    runs = words(document.pdf, tmp_path)
    mark_x, mark_y = where(runs, "TỐI", "MẬT")
    number_x, number_y = where(runs, "Số:")
    nation_x, _ = where(runs, "CỘNG", "HÒA")
    _, title_y = where(runs, "PHIẾU", "CUNG", "CẤP")
    assert number_y + 10 < mark_y < title_y
    assert mark_x < nation_x and abs(mark_x - number_x) < 60
    assert json.loads(last_audit(db, "document.issue").details)["secrecy"] == "toi_mat"


def test_an_unclassified_extract_carries_no_mark(world, db, tmp_path):
    request = secret_request(world, db, levels=(Secrecy.NONE,))
    # Classified after the approval: withheld, counted, not named, and no mark for it.
    held_id = world.reload(request.id).subject_person_id
    world.session.commit()
    held = db.get(Person, held_id)
    db.add(RecordDocument(person_id=held.id, episode_id=held.episodes[-1].id,
                          category=DocumentCategory.ORDERS, title="Lệnh TỐI-MẬT-SAU",
                          number="9/LM", issued_on=held.episodes[-1].start_date,
                          issuer="Cơ quan điều tra", secrecy=Secrecy.SECRET))
    db.flush()
    document = prepare(world, request.id)
    assert document.secrecy is Secrecy.NONE
    text = text_of(document.pdf, tmp_path)
    assert "Lệnh mức none" in text and "TỐI-MẬT-SAU" not in text
    assert not re.search(r"\bMẬT\b", text)
    assert "phát hành 02 bản" not in text and "1 tài liệu mật" in text
    release(world, document)
    assert db.scalars(select(SecretRegisterEntry)).all() == []


def test_the_state_secrets_law_cited_is_the_one_in_force_on_the_day():
    assert secrets.secrets_law(dt.date(2026, 2, 28)).endswith("số 29/2018/QH14")
    assert secrets.secrets_law(dt.date(2026, 3, 1)).endswith("số 117/2025/QH15")
    assert secrets.highest([Secrecy.CONFIDENTIAL, Secrecy.TOP_SECRET, Secrecy.SECRET]) \
        is Secrecy.TOP_SECRET
    assert secrets.mark_of(Secrecy.TOP_SECRET) == "TUYỆT MẬT"
    assert secrets.mark_of(Secrecy.NONE) == ""


def test_a_secret_extract_goes_to_its_named_recipient_alone_in_the_printed_copies(world, db):
    request = secret_request(world, db)
    document = prepare(world, request.id)
    with pytest.raises(InvalidInput):
        release(world, document, named=["consent.hanoi"])
    with pytest.raises(InvalidInput):
        release(world, document, download_limit=3)
    released = release(world, document)
    assert released.download_limit == 2 and released.named == []
    [entry] = db.scalars(select(SecretRegisterEntry).where(
        SecretRegisterEntry.document_id == document.id)).all()
    assert (entry.serial, entry.year, entry.secrecy, entry.copies) == (1, 2026, Secrecy.SECRET, 2)
    assert entry.recipient_user_id == world.user("requester.vks").id
    assert json.loads(last_audit(db, "document.secret_register").details)["serial"] == 1
    # The next secret document of the body takes the next number of its secret register.
    following = release(world, prepare(world, secret_request(world, db).id))
    assert db.scalars(select(SecretRegisterEntry.serial).where(
        SecretRegisterEntry.document_id == following.id)).one() == 2


def test_the_page_hands_out_numbered_copies_to_the_named_recipient_only(app, client, auth, db,
                                                                       tmp_path):
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        world.make_user("kiemsat.khac", "VKS-HANOI", Role.REQUESTER)
        request = secret_request(world, db)
        document = release(world, prepare(world, request.id))
        document_id, request_id, number = document.id, request.id, document.number
        # The same body, not the named recipient: as if there were no such document.
        with pytest.raises(NotFound):
            world.act(extracts.download, world.actor("kiemsat.khac"), document_id)
    url = f"/documents/{document_id}/download"
    auth.login("requester.vks")
    page = client.get(f"/requests/{request_id}").get_data(as_text=True)
    assert "Tối mật" in page and url in page
    for copy in (1, 2):
        got = client.get(url)
        assert got.status_code == 200, copy
        assert f"-ban-{copy}-2.pdf" in got.headers["Content-Disposition"]
        assert json.loads(last_audit(db, "extract.download").details)["copy"] == f"{copy}/2"
    assert "TỐI MẬT" in text_of(got.data, tmp_path, 1)
    third = client.get(url)
    assert third.status_code == 410
    assert "Đã cấp đủ 2 bản được đánh số của tài liệu mật này" in third.get_data(as_text=True)
    auth.logout()
    # The register lists it, with its copies issued; only approvers read it.
    auth.login("approver.hanoi")
    register = client.get("/documents/secret-register")
    assert register.status_code == 200
    listed = register.get_data(as_text=True)
    assert "Sổ đăng ký văn bản mật đi" in listed and number in listed
    assert "01/2026" in listed and "Tối mật" in listed and "2 / 2" in listed
    assert "Kiểm sát viên Vũ Thị Mai" in listed and "Tóm tắt nội dung" not in listed
    assert client.get("/documents/secret-register?year=99999").status_code == 422
    auth.logout()
    auth.login("requester.vks")
    assert client.get("/documents/secret-register").status_code == 403
    db.expire_all()
    assert db.get(IssuedDocument, document_id).downloads == 2


def test_the_api_applies_the_same_gate_and_limit(app, db):
    filer = system_token(app, "system.vks", "VKS-HANOI", "requester")
    colleague = system_token(app, "system.vks.2", "VKS-HANOI", "requester")
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        request = secret_request(world, db, filer="system.vks")
        document = release(world, prepare(world, request.id))
        document_id, request_id = document.id, request.id
    client = app.test_client()
    url = f"/api/v1/documents/{document_id}/download"
    # Another account of the same body: it is not the named recipient.
    assert client.get(url, headers=colleague).status_code == 404
    listed = client.get(f"/api/v1/requests/{request_id}/documents", headers=filer).get_json()
    assert [d["access"] for d in listed if d["id"] == document_id] == ["download"]
    assert [client.get(url, headers=filer).status_code for _ in range(2)] == [200, 200]
    refused = client.get(url, headers=filer)
    assert refused.status_code == 410
    assert "Đã cấp đủ 2 bản" in json.dumps(refused.get_json(), ensure_ascii=False)
    db.expire_all()
    assert db.get(IssuedDocument, document_id).downloads == 2
