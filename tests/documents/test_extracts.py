"""Extracts: what they hold and withhold, their numbers, signatures, release, download and
verification, read back from the PDFs themselves; on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.helpers import last_audit, org
from tests.worlds import (
    FLOW,
    HOSTILE,
    NOW,
    SETTINGS,
    World,
    arrange,
    ask,
    fresh_person,
    page_count,
    prepare,
    release,
    state_of,
    text_of,
)
from workflow.documents import extracts, verification
from workflow.documents import letters as documents_letters
from workflow.documents import rendering as documents
from workflow.documents.enums import IssuedKind, IssuedState
from workflow.enums import Secrecy
from workflow.errors import Conflict, DocumentFailed, Gone, InvalidInput, NotFound
from workflow.models import (
    DocumentRegister,
    DocumentTemplate,
    IssuedDocument,
    Person,
    RecordDocument,
)
from workflow.records.enums import CaseStage, DocumentCategory
from workflow.requests import decisions
from workflow.requests.enums import RequestState
from workflow.requests.kernel import Workflow


def test_extract_holds_the_grant_and_shows_what_is_withheld(world, db, tmp_path):
    person, request = arrange(world, db)
    draft = prepare(world, request.id)
    # The draft its releaser reads has no number, code or signature yet (Decree 30/2020: the
    # number is given at issue), and says so.
    assert (draft.serial, draft.number, draft.code, draft.signer_fingerprint) == (None,) * 4
    draft_text = text_of(draft.pdf, tmp_path)
    assert "DỰ THẢO ĐỂ DUYỆT" in draft_text and "Mã xác thực (cấp khi phát hành)" in draft_text
    assert "(Chưa ký)" in draft_text and "(Đã ký số)" not in draft_text
    assert not verification.check_file(world.session, draft.pdf).ok
    document = release(world, draft)
    text = text_of(document.pdf, tmp_path)
    assert "DỰ THẢO" not in text and "(Chưa ký)" not in text  # the seal's image instead
    assert text.replace(f"Số: {document.number}", "") .count("PCCTT") == draft_text.count(
        "PCCTT") - 1
    for expected in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "PHIẾU CUNG CẤP THÔNG TIN",
                     f"Số: {document.number}", person.full_name, "Lệnh tạm giam bổ sung",
                     "77/LTG", person.episodes[-1].legal_basis, person.identifiers[-1].value,
                     "Văn bản đồng ý số CV 12/ĐY-CSĐT", "Kính gửi: Viện kiểm sát nhân dân",
                     f"Mã xác thực: {document.code}", "Điều 18 Nghị định số 121/2017/NĐ-CP",
                     f"- Lưu: VT, hồ sơ {request.number}."):
        assert expected in text, expected
    # Asked for but not approved: a visible line with its legal ground, and no content.
    assert ("KHÔNG CUNG CẤP – Các sự kiện trong thời gian giam giữ: không được Công an thành "
            "phố Hà Nội phê duyệt") in text
    assert "Art. 12 §3a" not in text and "điểm a khoản 3 Điều 12" in text
    assert "KHÔNG-ĐƯỢC-LỘ" not in text
    # Classified above what the approval covered: counted, never named.
    assert "TUYỆT-MẬT-XYZ" not in text
    assert "1 tài liệu mật" in text and "Luật Bảo vệ bí mật nhà nước số 117/2025/QH15" in text
    # Markup in a record field prints as text.
    assert HOSTILE in text
    assert sorted(document.contents["granted"]) == ["a_orders", "c_identity", "episodes"]
    # The case part was not granted: its number is printed nowhere (not in the episodes table,
    # not beside the consent it was given under).
    case_number = person.episodes[-1].case.number
    assert case_number not in text and "vụ án" not in text


def test_a_granted_case_part_names_the_case_in_the_episodes_and_the_basis(world, db, tmp_path):
    person, request = arrange(world, db, case=True)
    text = text_of(prepare(world, request.id).pdf, tmp_path)
    case_number = person.episodes[-1].case.number
    assert "Văn bản đồng ý số CV 12/ĐY-CSĐT của" in text
    assert f"(vụ án {case_number})" in text
    assert text.count(case_number) >= 3  # the basis, the episodes table, the case section


def first_line(pdf: bytes, tmp_path: Path, page: int) -> str:
    path = tmp_path / "layout.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-layout", "-f", str(page), "-l", str(page), str(path),
                          "-"], check=True, capture_output=True, text=True).stdout
    return next(line.strip() for line in out.splitlines() if line.strip())


@pytest.mark.parametrize("part_lines", [extracts.PART_LINES, 45])
def test_every_page_names_the_recipient_and_carries_the_confidentiality_line(
        world, db, tmp_path, monkeypatch, part_lines):
    # With 45 lines a part, the long table is rendered in parts and joined: the page numbers
    # must run on, the heading come once at the start and the signature once at the end.
    monkeypatch.setattr(extracts, "PART_LINES", part_lines)
    person, request = arrange(world, db, extra_events=0)
    episode = person.episodes[-1]
    db.add_all([RecordDocument(person_id=episode.person_id, episode_id=episode.id,
                               category=DocumentCategory.ORDERS, title=f"Quyết định số {i}",
                               number=f"{i}/QĐ", issued_on=episode.start_date,
                               issuer="Cơ quan điều tra") for i in range(120)])
    db.flush()
    draft = prepare(world, request.id)
    draft_pages = draft.pages
    document = release(world, draft)
    pages = page_count(document.pdf, tmp_path)
    # The draft was read page for page as the document issued from it.
    assert pages >= 4 and document.pages == pages == draft_pages
    texts = [text_of(document.pdf, tmp_path, number) for number in range(1, pages + 1)]
    for number, text in enumerate(texts, 1):
        assert "Cấp cho: Kiểm sát viên Vũ Thị Mai – Viện kiểm sát nhân dân thành phố Hà Nội" \
            in text, number
        assert f"Phiếu đề nghị {request.number} · Mã xác thực {document.code}" in text
        assert "để lộ; phát hiện sai sót phải báo ngay (Điều 18 Nghị định 121/2017/NĐ-CP)" in text
        if number > 1:  # Decree 30/2020: page numbers from the second page, top centre
            assert first_line(document.pdf, tmp_path, number) == str(number)
    assert ["PHIẾU CUNG CẤP THÔNG TIN" in t for t in texts] == [True] + [False] * (pages - 1)
    assert ["Nơi nhận" in t for t in texts] == [False] * (pages - 1) + [True]
    whole = " ".join(texts)
    assert all(f"Quyết định số {i} {i}/QĐ" in whole for i in range(120))
    assert ("(tiếp theo)" in whole) == (part_lines < 120)
    # The file's title is the document's name and number, however it was rendered.
    info = subprocess.run(["pdfinfo", "-"], input=document.pdf, capture_output=True,
                          check=True).stdout.decode()
    assert f"Title:           Phiếu cung cấp thông tin {document.number}" in info
    assert verification.check_file(world.session, document.pdf).problems == ()
    world.session.commit()


def test_markup_in_record_fields_fetches_nothing(world, db, monkeypatch):
    fetchers: list[documents.AssetsOnly] = []
    original = documents.AssetsOnly.__init__

    def spy(self):
        original(self)
        fetchers.append(self)

    monkeypatch.setattr(documents.AssetsOnly, "__init__", spy)
    _person, request = arrange(world, db)
    prepare(world, request.id)
    assert fetchers and all(f.refused == [] for f in fetchers)


def test_numbers_are_given_at_issue_so_superseded_drafts_leave_no_hole(world, db, monkeypatch):
    _person, request = arrange(world, db, paper=False)
    first = prepare(world, request.id)
    second = prepare(world, request.id)  # a new preparation supersedes the first
    assert (first.serial, second.serial) == (None, None)
    # A render that fails at release numbers nothing and leaves the request as it was.
    world.act(extracts.preview, world.actor("approver.hanoi"), second.id)
    monkeypatch.setattr(documents.Renderer, "render_pages",
                        lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(DocumentFailed) as failed:
        release(world, second)
    assert "disk full" in failed.value.params["error"]
    monkeypatch.undo()
    assert state_of(world, request.id) is RequestState.APPROVED
    assert db.get(DocumentRegister, (org(db, "CA-HANOI").id, NOW.year)) is None
    issued = release(world, second)
    assert (issued.serial, issued.number) == (1, "01/PCCTT-CAHN")
    states = {d.id: (d.state, d.serial) for d in db.scalars(select(IssuedDocument))}
    assert states == {first.id: (IssuedState.SUPERSEDED, None),
                      second.id: (IssuedState.RELEASED, 1)}
    # What the releaser read is what went out: the same text but for what issuing gives.
    details = json.loads(last_audit(db, "extract.release").details)
    assert details["previewed_sha256"] == issued.contents["draft_sha256"] != issued.sha256
    # The register of another organisation, and of another year, start at 1.
    refused = ask(world, "requester.vks", fresh_person(world, db, CaseStage.CLOSED))
    world.act(decisions.refuse, FLOW, world.actor("approver.hanoi"),
              refused.id, reason_code="purpose")
    letters = world.act(documents_letters.issue_letters, SETTINGS, world.actor("approver.hanoi"),
                        refused.id)
    assert [(d.kind, d.serial) for d in letters] == [(IssuedKind.REFUSAL, 2)]
    consent = world.act(documents_letters.issue_letters, SETTINGS, world.actor("consent.hanoi"),
                        request.id)
    assert [(d.kind, d.org_id, d.serial) for d in consent] == [
        (IssuedKind.CONSENT, org(db, "CSDT-HANOI").id, 1)]
    _person, again = arrange(world, db, paper=False)
    next_year = world.actor("approver.hanoi", NOW.replace(year=2027))
    draft = world.act(extracts.prepare_extract, SETTINGS, next_year, again.id)
    world.act(extracts.preview, next_year, draft.id)
    later = world.act(extracts.release_extract, FLOW, SETTINGS, next_year, again.id,
                      document_id=draft.id, sha256=draft.sha256)
    assert (later.year, later.serial) == (2027, 1)


def test_concurrent_issuers_get_distinct_consecutive_numbers(app, world, db):
    drafts = []
    for _ in range(6):
        _person, request = arrange(world, db)
        drafts.append(prepare(world, request.id))
        world.act(extracts.preview, world.actor("approver.hanoi"), drafts[-1].id)
    requests = [(d.request_id, d.id, d.sha256) for d in drafts]
    world.session.rollback()  # reading them began a transaction, which holds SQLite's lock
    results: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(requests))

    def issue(request_id: int, document_id: int, sha256: str) -> None:
        with app.extensions["custody_sessions"]() as session:
            mine = World(session)
            barrier.wait()
            try:
                results.append(mine.act(
                    extracts.release_extract, FLOW, SETTINGS, mine.actor("approver.hanoi"),
                    request_id, document_id=document_id, sha256=sha256).serial)
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)

    threads = [threading.Thread(target=issue, args=args) for args in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(results) == list(range(1, len(requests) + 1))
    register = db.get(DocumentRegister, (org(db, "CA-HANOI").id, NOW.year))
    assert register.last_serial == len(requests)


def test_signature_validates_and_one_changed_byte_fails_verify(world, db, runner, tmp_path):
    _person, request = arrange(world, db)
    document = release(world, prepare(world, request.id))
    path = tmp_path / "ok.pdf"
    path.write_bytes(document.pdf)
    result = runner.invoke(args=["extract", "verify", str(path)])
    assert result.exit_code == 0, result.output
    assert "VALID" in result.output and document.number in result.output
    assert "(PAdES B-LTA)" in result.output
    for position in (200, len(document.pdf) // 2, len(document.pdf) - 40):
        tampered = bytearray(document.pdf)
        tampered[position] ^= 0x01
        bad = tmp_path / f"bad{position}.pdf"
        bad.write_bytes(bytes(tampered))
        result = runner.invoke(args=["extract", "verify", str(bad)])
        assert result.exit_code == 1, position
        assert "FAILED" in result.output
    check = verification.check_file(world.session, document.pdf)
    assert check.ok and check.signature.signer and "Công an thành phố Hà Nội" in \
        check.signature.signer
    template = db.get(DocumentTemplate, document.template_version)
    assert template is not None and "PHIẾU CUNG CẤP THÔNG TIN" in template.source.upper()


def test_release_is_bound_to_the_previewed_hash(world, db):
    _person, request = arrange(world, db)
    first = prepare(world, request.id)
    world.act(extracts.preview, world.actor("approver.hanoi"), first.id)
    with pytest.raises(Conflict):
        world.act(extracts.release_extract, FLOW, SETTINGS, world.actor("approver.hanoi"),
                  request.id, document_id=first.id, sha256="0" * 64)
    second = prepare(world, request.id)
    with pytest.raises(Conflict):  # the preview the approver saw was superseded
        release(world, first)
    assert state_of(world, request.id) is RequestState.APPROVED
    released = release(world, second, valid_days=10, download_limit=2)
    assert released.state is IssuedState.RELEASED
    assert state_of(world, request.id) is RequestState.RELEASED
    assert released.valid_until == NOW.date() + dt.timedelta(days=10)


def test_download_only_by_recipients_within_window_and_limit(world, db):
    _person, request = arrange(world, db)
    document = release(world, prepare(world, request.id), download_limit=2,
                       named=["clerk.hanoi"])
    got = world.act(extracts.download, world.actor("requester.vks"), document.id)
    assert got.pdf == document.pdf
    assert json.loads(last_audit(db, "extract.download").details)["sha256"] == document.sha256
    world.act(extracts.download, world.actor("clerk.hanoi"), document.id)
    with pytest.raises(Gone):  # the limit of two is used up
        world.act(extracts.download, world.actor("requester.vks"), document.id)
    for other in ("consent.hanoi", "approver.hanoi", "inspector", "clerk.hcm"):
        with pytest.raises(NotFound):
            world.act(extracts.download, world.actor(other), document.id)
    later = world.actor("requester.vks", NOW + dt.timedelta(days=40))
    with pytest.raises(Gone):
        world.act(extracts.download, later, document.id)


def test_revoked_extract_cannot_be_downloaded_and_verifies_as_revoked(world, db, client):
    person, request = arrange(world, db)
    document = release(world, prepare(world, request.id))
    code, number, pdf, document_id = document.code, document.number, document.pdf, document.id
    world.session.commit()
    page = client.get(f"/verify/{code.lower().replace('-', ' ')}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Kiểm sát viên Vũ Thị Mai" in html and number in html
    assert person.full_name not in html and "Lệnh tạm giam" not in html
    world.act(extracts.revoke, world.actor("approver.hanoi"), request.id, document_id,
              reason="Cấp nhầm người nhận, thu hồi")
    with pytest.raises(Gone):
        world.act(extracts.download, world.actor("requester.vks"), document_id)
    html = client.get(f"/verify/{code}").get_data(as_text=True)
    assert "ĐÃ BỊ THU HỒI" in html
    assert not verification.check_file(world.session, pdf).ok
    world.session.commit()
    missing = client.get("/verify/AAAA-BBBB-CCCC-DDDD")
    assert missing.status_code == 404


def test_issued_originals_are_kept_and_only_the_download_right_expires(world, db, client,
                                                                          auth):
    _person, request = arrange(world, db)
    document = release(world, prepare(world, request.id))
    code, sha256, document_id = document.code, document.sha256, document.id
    auth.login("requester.vks")
    link = f"/documents/{document_id}/download"
    assert link in client.get(f"/requests/{request.id}").get_data(as_text=True)
    # Years later the retention has long passed: the original is a record and stays.
    later = world.actor("approver.hanoi", NOW + dt.timedelta(days=4000))
    assert world.act(extracts.purge, later, 365) == 0
    db.expire_all()
    kept = db.get(IssuedDocument, document_id)
    assert kept.pdf is not None and kept.purged_at is None
    assert verification.check_file(world.session, kept.pdf).ok
    world.session.commit()
    # What expired is the recipient's right to download it.
    with pytest.raises(Gone, match="could be downloaded until"):
        world.act(extracts.download, world.actor("requester.vks", NOW + dt.timedelta(days=400)),
                  document_id)
    assert client.get(f"/verify/{code}").status_code == 200
    assert db.get(IssuedDocument, document_id).sha256 == sha256


def test_purge_drops_only_drafts_never_issued_after_the_retention(world, db, client, auth):
    _person, request = arrange(world, db)
    draft = prepare(world, request.id)  # superseded by the next preparation, never issued
    draft_id, draft_sha = draft.id, draft.sha256
    issued = release(world, prepare(world, request.id))
    issued_id = issued.id
    assert world.act(extracts.purge, world.actor("approver.hanoi"), 365) == 0
    later = world.actor("approver.hanoi", NOW + dt.timedelta(days=400))
    assert world.act(extracts.purge, later, 365) == 1
    db.expire_all()
    purged = db.get(IssuedDocument, draft_id)
    assert purged.pdf is None and purged.sha256 == draft_sha
    assert purged.state is IssuedState.SUPERSEDED
    assert db.get(IssuedDocument, issued_id).pdf is not None
    entry = last_audit(db, "document.purge")
    assert entry.object_id == str(draft_id) and json.loads(entry.details)["state"] == "superseded"
    auth.login("approver.hanoi")
    page = client.get(f"/requests/{request.id}").get_data(as_text=True)
    assert "tệp đã xóa" in page and f"/documents/{issued_id}/" in page


def test_statistical_and_unapproved_requests_get_no_extract(world, db):
    waiting = ask(world, "requester.vks", fresh_person(world, db, CaseStage.INVESTIGATION))
    with pytest.raises(Conflict):
        prepare(world, waiting.id)
    with pytest.raises(NotFound):
        prepare(world, waiting.id, "clerk.hcm")
    assert world.session.scalar(select(IssuedDocument.id)) is None


def _certificate(subject: str, issuer_key, issuer_name, public_key, *, ca: bool):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    return (x509.CertificateBuilder().subject_name(name)
            .issuer_name(issuer_name or name).public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - dt.timedelta(days=2))
            .not_valid_after(NOW + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=not ca, content_commitment=not ca, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                encipher_only=False, decipher_only=False), critical=True)
            .sign(issuer_key, hashes.SHA256()))


def test_an_imported_certificate_signs_and_its_root_is_trusted(world, db, runner, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = _certificate("Ban Cơ yếu Chính phủ (thử)", root_key, None, root_key.public_key(),
                        ca=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = _certificate("Công an thành phố Hà Nội", root_key, root.subject, key.public_key(),
                        ca=False)
    pem = serialization.Encoding.PEM
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(pem))
    (tmp_path / "chain.pem").write_bytes(root.public_bytes(pem))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"key file password")))
    args = ["pki", "import", "--org", "CA-HANOI", "--cert", str(tmp_path / "cert.pem"),
            "--key", str(tmp_path / "key.pem"), "--chain", str(tmp_path / "chain.pem")]
    refused = runner.invoke(args=[*args, "--key-password", "wrong"])
    assert refused.exit_code != 0
    result = runner.invoke(args=[*args, "--key-password", "key file password"])
    assert result.exit_code == 0, result.output
    _person, request = arrange(world, db)
    document = release(world, prepare(world, request.id))
    check = verification.check_file(world.session, document.pdf)
    assert check.ok, check.problems
    assert "Công an thành phố Hà Nội" in check.signature.signer
    world.session.commit()
    listing = runner.invoke(args=["pki", "list"]).output
    assert "imported" in listing and "root" in listing


def test_init_creates_a_development_ca_and_certificates(runner):
    result = runner.invoke(args=["init"])
    assert result.exit_code == 0, result.output
    assert "Development signing certificates" in result.output
    listing = runner.invoke(args=["pki", "list"]).output.splitlines()
    assert sum(line.startswith("ca ") for line in listing) == 1
    assert any(" CA-HANOI " in line and line.startswith("org ") for line in listing)
    again = runner.invoke(args=["init"])
    assert "Development signing certificates" not in again.output


def test_classified_documents_appear_up_to_the_level_the_approval_covered(world, db, tmp_path):
    person = fresh_person(world, db, CaseStage.CLOSED)
    episode = person.episodes[-1]
    db.add_all([RecordDocument(person_id=person.id, episode_id=episode.id,
                               category=DocumentCategory.ORDERS, title=f"Tài liệu {level.name}",
                               number=f"{i}/M", issued_on=episode.start_date,
                               issuer="Bộ Công an", secrecy=level)
                for i, level in enumerate((Secrecy.CONFIDENTIAL, Secrecy.SECRET))])
    db.flush()
    request = ask(world, "requester.vks", person, categories=["a_orders"])
    assert request.route["secrecy"] == Secrecy.SECRET.value
    world.act(decisions.approve, world.actor("approver.hanoi"), request.id)  # cleared Tối mật
    text = text_of(prepare(world, request.id).pdf, tmp_path)
    assert "Tài liệu CONFIDENTIAL (Mật)" in text and "Tài liệu SECRET (Tối mật)" in text
    assert "tài liệu mật" not in text


def test_release_needs_the_releaser_to_have_opened_the_preview(world, db):
    _person, request = arrange(world, db)
    document = prepare(world, request.id)
    act = (extracts.release_extract, FLOW, SETTINGS)
    with pytest.raises(Conflict, match="preview"):  # nobody has opened it
        world.act(*act, world.actor("approver.hanoi"), request.id, document_id=document.id,
                  sha256=document.sha256)
    # having read an earlier preparation does not count for the one that replaced it
    world.act(extracts.preview, world.actor("approver.hanoi"), document.id)
    again = prepare(world, request.id)
    with pytest.raises(Conflict, match="preview"):
        world.act(*act, world.actor("approver.hanoi"), request.id, document_id=again.id,
                  sha256=again.sha256)
    released = release(world, again)  # opened, then released
    assert released.state is IssuedState.RELEASED


def test_a_detained_persons_own_extract_is_addressed_to_them_through_the_facility(world, db,
                                                                                   tmp_path):
    person = world.session.get(Person, world.user("detainee.demo").person_id)
    request = ask(world, "detainee.demo", person, categories=["episodes"],
                  purpose="Tôi muốn biết hồ sơ tạm giam của mình")
    world.act(decisions.approve, world.actor("approver.hanoi"), request.id)
    if state_of(world, request.id) is RequestState.AWAITING_CONSENT:
        world.act(decisions.grant_consent, FLOW, world.actor("consent.hanoi"), request.id,
                  letter_ref="CV 31/ĐY-CSĐT")
    assert state_of(world, request.id) is RequestState.APPROVED
    document = prepare(world, request.id)
    text = text_of(document.pdf, tmp_path)
    camp = "Trại tạm giam Công an thành phố Hà Nội"
    assert (f"cung cấp cho {person.full_name}, sinh ngày {person.birth_date:%d/%m/%Y} "
            f"(qua {camp}), thông tin của chính mình") in text
    assert f"Kính gửi: {person.full_name} (qua {camp})" in text
    assert f"của {person.full_name} (nộp qua {camp})" in text
    assert f"Kính gửi: {camp}" not in text and f"cung cấp cho {camp}" not in text
    assert (document.recipient_name, document.recipient_org) == (person.full_name,
                                                                 f"qua {camp}")
    # A refusal of their next request is written to them too, not to the camp.
    refused = ask(world, "detainee.demo", person, categories=["episodes"],
                  purpose="Tôi muốn biết thêm về hồ sơ của mình")
    world.act(decisions.refuse, FLOW, world.actor("approver.hanoi"), refused.id,
              reason_code="purpose")
    [letter] = world.act(documents_letters.issue_letters, SETTINGS,
                         world.actor("approver.hanoi"), refused.id)
    letter_text = text_of(letter.pdf, tmp_path)
    assert f"Kính gửi: {person.full_name} (qua {camp})" in letter_text
    assert f"của {person.full_name} (nộp qua {camp})" in letter_text
    world.session.commit()


def test_headers_name_the_governing_body_and_numbers_the_issuer(world, db, tmp_path):
    """Decree 30/2020: the body that governs the issuer heads it (the Ministry above a provincial
    police, not the custody department), and each number's symbol ends with the issuer's
    abbreviation; a notice is TB, a công văn has no type."""
    person, request = arrange(world, db, paper=False)
    extract = release(world, prepare(world, request.id))
    text = text_of(extract.pdf, tmp_path)
    assert "BỘ CÔNG AN CÔNG AN THÀNH PHỐ HÀ NỘI" in text
    assert "CỤC CẢNH SÁT QUẢN LÝ" not in text
    assert re.fullmatch(r"\d\d/PCCTT-CAHN", extract.number)
    # The signing authority and the signer's position, as the account records them.
    assert "KT. GIÁM ĐỐC PHÓ GIÁM ĐỐC Thượng tá Đỗ Quang Huy" in text
    assert extract.signed_as == "KT. GIÁM ĐỐC\nPHÓ GIÁM ĐỐC\nThượng tá Đỗ Quang Huy"
    assert "TL. THỦ TRƯỞNG CƠ QUAN" not in text
    consent = world.act(documents_letters.issue_letters, SETTINGS, world.actor("consent.hanoi"),
                        request.id)
    [letter] = [d for d in consent if d.kind is IssuedKind.CONSENT]
    assert re.fullmatch(r"\d\d/CSĐT-CAHN", letter.number)
    letter_text = text_of(letter.pdf, tmp_path)
    assert "CÔNG AN THÀNH PHỐ HÀ NỘI CƠ QUAN CẢNH SÁT ĐIỀU TRA" in letter_text
    assert "KT. THỦ TRƯỞNG PHÓ THỦ TRƯỞNG Thượng tá Bùi Đức Anh" in letter_text
    # A công văn: no name heading, what it is about under its number.
    assert f"Số: {letter.number} V/v đồng ý cung cấp thông tin" in letter_text
    assert "VĂN BẢN ĐỒNG Ý" not in letter_text.upper().split("V/V")[0]
    refused = ask(world, "requester.vks", fresh_person(world, db, CaseStage.CLOSED))
    world.act(decisions.refuse, FLOW, world.actor("approver.hanoi"), refused.id,
              reason_code="purpose")
    [notice] = world.act(documents_letters.issue_letters, SETTINGS,
                         world.actor("approver.hanoi"), refused.id)
    assert re.fullmatch(r"\d\d/TB-CAHN", notice.number)
    world.session.commit()


def test_one_consent_one_number(world, db, tmp_path):
    """Given in the system, the consent is the công văn issued in the handling body's register,
    and the extract cites it; signed on paper, its letter is the act: no second letter."""
    flow = Workflow(notices=documents_letters.notices(SETTINGS))
    person = fresh_person(world, db, CaseStage.INVESTIGATION)
    request = ask(world, "requester.vks", person, categories=["episodes"])
    world.act(decisions.approve, world.actor("approver.hanoi"), request.id)
    with pytest.raises(InvalidInput):  # a scan of a paper letter needs that letter's number
        world.act(decisions.grant_consent, flow, world.actor("consent.hanoi"), request.id,
                  letter_scan="consent-scan.pdf")
    world.act(decisions.grant_consent, flow, world.actor("consent.hanoi"), request.id)
    [letter] = [d for d in extracts.documents_of(world.session, request.id)
                if d.kind is IssuedKind.CONSENT]
    assert re.fullmatch(r"\d\d/CSĐT-CAHN", letter.number)
    text = text_of(prepare(world, request.id).pdf, tmp_path)
    assert (f"Căn cứ Văn bản số {letter.number} ngày 24/11/2026 của Cơ quan Cảnh sát điều tra "
            "Công an thành phố Hà Nội.") in text
    # On paper: recorded by its number, and the system writes no letter of its own.
    other = ask(world, "requester.vks", fresh_person(world, db, CaseStage.INVESTIGATION),
                categories=["episodes"])
    world.act(decisions.approve, world.actor("approver.hanoi"), other.id)
    world.act(decisions.grant_consent, flow, world.actor("consent.hanoi"), other.id,
              letter_ref="CV 40/ĐY-CSĐT", letter_scan="consent-scan.pdf")
    assert [d.kind for d in extracts.documents_of(world.session, other.id)] == []
    assert "Căn cứ Văn bản đồng ý số CV 40/ĐY-CSĐT của" in text_of(
        prepare(world, other.id).pdf, tmp_path)
    world.session.commit()


def test_a_withheld_case_part_is_not_named_in_withheld_lines_or_letters(world, db, tmp_path):
    """The case part is not asked for: neither the line saying what the handling body did not
    consent to, nor the letters the requester can open, name the case."""
    person = db.get(Person, fresh_person(world, db, CaseStage.INVESTIGATION).id)
    case_number = person.episodes[-1].case.number
    flow = Workflow(notices=documents_letters.notices(SETTINGS))
    request = ask(world, "requester.vks", person, categories=["episodes", "events", "c_identity"])
    world.act(decisions.approve, world.actor("approver.hanoi"), request.id)
    world.act(decisions.grant_consent, flow, world.actor("consent.hanoi"), request.id,
              categories=["episodes", "c_identity"])
    text = text_of(prepare(world, request.id).pdf, tmp_path)
    assert "không đồng ý cung cấp" in text and case_number not in text
    refused = ask(world, "requester.vks", person, categories=["episodes"],
                  purpose="Phục vụ kiểm sát việc tạm giam lần hai theo quy định")
    world.act(decisions.approve, world.actor("approver.hanoi"), refused.id)
    world.act(decisions.refuse_consent, flow, world.actor("consent.hanoi"), refused.id,
              reason_code="harms_case")
    letters = [d for r in (request, refused)
               for d in extracts.documents_of(world.session, r.id) if d.kind is not
               IssuedKind.EXTRACT]
    assert {d.kind for d in letters} == {IssuedKind.CONSENT, IssuedKind.REFUSAL}
    for letter in letters:
        assert case_number not in text_of(letter.pdf, tmp_path), letter.kind
    world.session.commit()


def test_a_long_word_with_slashes_stays_on_the_page(world, db, tmp_path):
    """Short numbers ('77/LTG') are kept whole in table cells; a long URL still wraps."""
    person, request = arrange(world, db)
    long = ("https://congbao.chinhphu.vn/van-ban/nghi-dinh-121-2017-nd-cp-xay-dung-quan-ly-"
            "su-dung-co-so-du-lieu-ve-thi-hanh-tam-giu-tam-giam-CUOI")
    for document in db.scalars(select(RecordDocument).where(
            RecordDocument.person_id == person.id)):
        document.summary = long
    db.commit()
    text = text_of(prepare(world, request.id).pdf, tmp_path)
    assert "CUOI" in text and "77/LTG" in text
