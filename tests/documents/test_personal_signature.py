"""The official signs with their own token, then the body seals (issue 15, item 4; Decree
30/2020 Art. 8 and Appendix I): a PKCS#11 key on SoftHSM2 opened by the PIN typed at the
decision, judged by validators the project did not write, shown on the page as Appendix I
prescribes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import select

from tests.helpers import version_of
from tests.worlds import FLOW, SETTINGS, World, arrange, ask, fresh_person, prepare, text_of
from workflow.documents import extracts, pki, tokens, verification
from workflow.documents.enums import IssuedState
from workflow.errors import InvalidInput
from workflow.models import AccessRequest, DocumentRegister, IssuedDocument, SigningCredential
from workflow.records.enums import CaseStage
from workflow.requests.enums import RequestState

HAVE_SOFTHSM = tokens.default_module() is not None and shutil.which("softhsm2-util") is not None
if not HAVE_SOFTHSM and os.environ.get("REQUIRE_SOFTHSM"):
    raise RuntimeError("REQUIRE_SOFTHSM is set and SoftHSM2 is not installed")
pytestmark = pytest.mark.skipif(not HAVE_SOFTHSM, reason="SoftHSM2 is not installed")

PYHANKO = str(Path(sys.executable).parent / "pyhanko")
PIN = "246810"
PERSONAL = dataclasses.replace(SETTINGS, signing_tokens=tokens.TokenSettings(
    module=tokens.SOFTHSM_MODULE))


def _enrol(world, username: str = "approver.hanoi") -> SigningCredential:
    user = world.user(username)
    credential = tokens.enrol_dev(world.session, PERSONAL.signing_tokens, user, PIN,
                                  passphrase=PERSONAL.passphrase,
                                  now=dt.datetime.now(dt.UTC), crl_url=None)
    world.session.commit()
    return credential


def _release(world, document, pin: str | None, settings=PERSONAL):
    world.act(extracts.preview, world.actor("approver.hanoi"), document.id)
    actor = dataclasses.replace(world.actor("approver.hanoi"), pin=pin)
    return world.act(extracts.release_extract, FLOW, settings, actor, document.request_id,
                     document_id=document.id, sha256=document.sha256)


def _ca(db) -> str:
    return db.scalars(select(SigningCredential.cert_pem).where(
        SigningCredential.purpose == "ca")).first()


def test_the_official_signs_with_their_token_and_the_body_seals_after(world, db, tmp_path):
    credential = _enrol(world)
    _person, request = arrange(world, db)
    document = _release(world, prepare(world, request.id), PIN)
    check = verification.check_file(world.session, document.pdf)
    assert check.ok, check.problems
    assert check.signature.person_fingerprint == credential.fingerprint
    assert "Đỗ Quang Huy" in check.signature.person and "Phó Giám đốc" in check.signature.person
    assert check.signature.signer_fingerprint == document.signer_fingerprint
    assert document.contents["person_fingerprint"] == credential.fingerprint
    # Outside validators: poppler's pdfsig lists the official's signature, then the seal.
    (tmp_path / "ca.pem").write_text(_ca(db))
    (tmp_path / "extract.pdf").write_bytes(document.pdf)
    report = subprocess.run(["pdfsig", str(tmp_path / "extract.pdf")], capture_output=True,
                            text=True, check=False).stdout
    first, second = report.split("Signature #2")[0], report.split("Signature #2")[1]
    assert "Field Name: Signature" in first and "Đỗ Quang Huy" in first
    assert "Signature is Valid." in first
    assert "Field Name: Seal" in second.split("Signature #3")[0]
    assert "Signature is Valid." in second.split("Signature #3")[0]
    # The pyHanko CLI judges every signature of the file: both trusted, both long-term.
    result = subprocess.run([PYHANKO, "sign", "adesverify", "--trust", str(tmp_path / "ca.pem"),
                             "--trust-replace", str(tmp_path / "extract.pdf")],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("INTACT:TRUSTED,TIMESTAMP_TOKEN<INTACT:TRUSTED>") == 2, \
        result.stdout
    # The token's key never left it: no private key is kept for the official.
    assert credential.key_pem is None and credential.token_label


def test_a_wrong_or_missing_pin_signs_nothing_and_numbers_nothing(world, db):
    _enrol(world)
    _person, request = arrange(world, db)
    draft = prepare(world, request.id)
    serials = db.scalars(select(DocumentRegister.last_serial)).all()
    for pin, said in (("000000", "PIN is wrong"), (None, "Type the PIN")):
        with pytest.raises(tokens.PinRefused, match=said):
            _release(world, draft, pin)
    db.expire_all()
    kept = db.get(IssuedDocument, draft.id)
    assert kept.state is IssuedState.PREPARED and kept.serial is None
    assert kept.sha256 == draft.sha256
    assert db.scalars(select(DocumentRegister.last_serial)).all() == serials
    # The right PIN then signs the same draft.
    assert _release(world, draft, PIN).state is IssuedState.RELEASED


def test_a_wrong_pin_is_refused_before_anything_is_rendered(world, db, monkeypatch):
    from workflow.documents import issuing

    _enrol(world)
    _person, request = arrange(world, db)
    draft = prepare(world, request.id)
    produced = []
    real = issuing._produce
    monkeypatch.setattr(issuing, "_produce", lambda *a, **k: produced.append(1) or real(*a, **k))
    with pytest.raises(tokens.PinRefused, match="PIN is wrong"):
        _release(world, draft, "000000")
    assert produced == []  # guessing PINs costs the server no rendering
    assert _release(world, draft, PIN).state is IssuedState.RELEASED and produced == [1]


def test_a_pin_typed_composed_or_decomposed_opens_the_same_token(world, db):
    import unicodedata

    typed = "mật-khẩu-ê1"
    user = world.user("approver.hanoi")
    credential = tokens.enrol_dev(world.session, PERSONAL.signing_tokens, user,
                                  unicodedata.normalize("NFD", typed),
                                  passphrase=PERSONAL.passphrase,
                                  now=dt.datetime.now(dt.UTC), crl_url=None)
    world.session.commit()
    with tokens.opened(PERSONAL.signing_tokens, credential,
                       unicodedata.normalize("NFC", typed)) as signer:
        assert signer is not None


def test_only_an_active_deciding_official_is_given_a_token(world, db):
    for username in ("requester.vks", "clerk.hanoi", "inspector"):
        with pytest.raises(InvalidInput, match="Only approvers and consent officers"):
            tokens.enrol_dev(world.session, PERSONAL.signing_tokens, world.user(username), PIN,
                             passphrase=PERSONAL.passphrase, now=dt.datetime.now(dt.UTC),
                             crl_url=None)
    gone = world.user("consent.hanoi")
    gone.active = False
    with pytest.raises(InvalidInput, match="active person"):
        tokens.enrol_dev(world.session, PERSONAL.signing_tokens, gone, PIN,
                         passphrase=PERSONAL.passphrase, now=dt.datetime.now(dt.UTC),
                         crl_url=None)
    assert db.scalars(select(SigningCredential).where(
        SigningCredential.purpose == "person")).all() == []


def test_a_signer_without_a_token_is_refused_where_personal_signatures_are_required(world, db):
    _person, request = arrange(world, db)
    draft = prepare(world, request.id)
    required = dataclasses.replace(PERSONAL, signing_tokens=tokens.TokenSettings(
        module=tokens.SOFTHSM_MODULE, required=True))
    with pytest.raises(InvalidInput, match="no signing token"):
        _release(world, draft, PIN, settings=required)
    # Where they are not required, the seal alone signs (and says so on the page).
    sealed = _release(world, draft, None)
    assert verification.check_file(world.session, sealed.pdf).signature.person is None


def _clusters(page: Image.Image, colour: tuple[int, int, int]) -> tuple[int, int, int, int]:
    """The box around the pixels near `colour` (the seal's red or the signature's blue) below
    the page's head (where a draft's red banner is)."""
    page = page.convert("RGB").crop((0, page.height // 10, page.width, page.height))
    pixels = page.load()
    found = [(x, y) for x in range(page.width) for y in range(page.height)
             if sum(abs(a - b) for a, b in zip(pixels[x, y], colour, strict=True)) < 60]
    assert found, f"no pixel of {colour}"
    xs, ys = [x for x, _ in found], [y for _, y in found]
    return min(xs), min(ys), max(xs), max(ys)


def test_the_page_shows_the_signature_between_title_and_name_and_the_seal_over_its_left_third(
        world, db, tmp_path):
    _enrol(world)
    _person, request = arrange(world, db)
    draft = prepare(world, request.id)
    draft_pdf, draft_pages = draft.pdf, draft.pages  # the row becomes the issued document
    document = _release(world, draft, PIN)
    pages = len(PdfReader(BytesIO(document.pdf)).pages)
    assert pages == draft_pages  # the images take the room the draft kept for them
    (tmp_path / "issued.pdf").write_bytes(document.pdf)
    subprocess.run(["pdftoppm", "-r", "60", "-png", "-f", str(pages), "-l", str(pages),
                    str(tmp_path / "issued.pdf"), str(tmp_path / "page")], check=True)
    page = Image.open(next(tmp_path.glob("page*.png")))
    red = _clusters(page, (0xd4, 0x20, 0x2a))
    blue = _clusters(page, (0x1b, 0x3f, 0x9c))
    # The seal overlaps the signature's left part and not its right.
    assert red[0] < blue[0] < red[2] < blue[2]
    covered = (red[2] - blue[0]) / (blue[2] - blue[0])
    assert 0.15 < covered < 0.5, covered
    # Title above, name below, and no signing time on the document.
    text = text_of(document.pdf, tmp_path, pages)
    assert text.index("PHÓ GIÁM ĐỐC") < text.index("Thượng tá Đỗ Quang Huy")
    assert not re.search(r"\b\d{1,2}:\d{2}\b", text)
    # A draft shows neither: it is not signed.
    (tmp_path / "draft.pdf").write_bytes(draft_pdf)
    subprocess.run(["pdftoppm", "-r", "60", "-png", "-f", str(pages), "-l", str(pages),
                    str(tmp_path / "draft.pdf"), str(tmp_path / "draft")], check=True)
    with pytest.raises(AssertionError, match="no pixel"):
        _clusters(Image.open(next(tmp_path.glob("draft*.png"))), (0xd4, 0x20, 0x2a))


def test_a_signature_added_after_the_seal_or_a_recorded_official_missing_fails(world, db):
    credential = _enrol(world)
    _person, request = arrange(world, db)
    document = _release(world, prepare(world, request.id), PIN)
    roots = pki.trust_roots(world.session)
    # Someone signs the issued file again (with a certificate the CA gave another official).
    other = _enrol(world, "consent.hanoi")
    assert other.fingerprint != credential.fingerprint
    with tokens.opened(PERSONAL.signing_tokens, other, PIN) as signer:
        resigned = pki.sign_pdf(document.pdf, signer, reason="x", location="x", name="x",
                                field_name="Extra")
    check = pki.check_signature(resigned, roots)
    assert not check.ok and "found 3" in check.problem
    # The register knows who signed: a record naming another official fails the file.
    row = db.get(IssuedDocument, document.id)
    row.contents_json = row.contents_json.replace(credential.fingerprint, other.fingerprint)
    db.commit()
    world.session.expire_all()
    assert verification.check_file(world.session, document.pdf).problems == (
        "register: the official's signature is not the one recorded",)


def test_a_pin_is_checked_at_enrolment_and_never_kept(world, db):
    user = world.user("approver.hanoi")
    for bad in ("12", " 123456", "x" * 40):
        with pytest.raises(InvalidInput, match="PIN has"):
            tokens.enrol_dev(world.session, PERSONAL.signing_tokens, user, bad,
                             passphrase=PERSONAL.passphrase, now=dt.datetime.now(dt.UTC),
                             crl_url=None)
    credential = _enrol(world)
    row = db.get(SigningCredential, credential.id)
    assert PIN not in repr(dataclasses.replace(world.actor("approver.hanoi"), pin=PIN))
    assert all(PIN not in str(getattr(row, c.key) or "")
               for c in SigningCredential.__table__.columns if c.key != "image")
    # A second enrolment retires the first (its certificate stays for what it signed).
    again = _enrol(world)
    db.expire_all()
    assert not db.get(SigningCredential, credential.id).active
    assert tokens.personal_credential(world.session, world.user("approver.hanoi")).id == again.id


def test_the_check_page_asks_the_pin_and_a_wrong_one_is_typed_again_there(app, client, auth,
                                                                          db):
    app.config["RATELIMIT_PIN"] = "3 per minute"
    settings = app.extensions["custody_documents"]
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        credential = tokens.enrol_dev(session, settings.signing_tokens,
                                      world.user("approver.hanoi"), PIN,
                                      passphrase=settings.passphrase,
                                      now=dt.datetime.now(dt.UTC), crl_url=None)
        _person, request = arrange(world, db)
        session.commit()
        request_id, fingerprint = request.id, credential.fingerprint
    url = f"/requests/{request_id}"
    auth.login("approver.hanoi")
    client.post(url, data={"action": "prepare", "version": version_of(db, request_id)})
    draft = db.scalars(select(IssuedDocument).where(
        IssuedDocument.request_id == request_id)).one()
    client.get(f"/documents/{draft.id}/preview.pdf")
    release = {"action": "release", "release-document_id": str(draft.id),
               "release-sha256": draft.sha256, "release-valid_days": "7",
               "release-download_limit": "1", "version": version_of(db, request_id)}
    page = client.post(url, data=release).get_data(as_text=True)
    assert "Kiểm tra trước khi quyết định" in page, page[-3000:]
    assert 'type="password" id="pin" name="pin"' in page and "Mã PIN" in page
    wrong = client.post(url, data=release | {"confirmed": "yes", "pin": "135790"})
    text = wrong.get_data(as_text=True)
    assert wrong.status_code == 422 and "Mã PIN không đúng" in text
    assert "135790" not in text and 'name="pin"' in text  # asked again, never echoed
    db.expire_all()
    assert db.get(AccessRequest, request_id).state is RequestState.APPROVED
    done = client.post(url, data=release | {"confirmed": "yes", "pin": PIN})
    assert done.status_code == 302 and done.location.endswith("/done/release")
    db.expire_all()
    issued = db.get(IssuedDocument, draft.id)
    assert issued.contents["person_fingerprint"] == fingerprint
    assert verification.check_file(db, issued.pdf).ok
    # Guessing is stopped by the pages (SoftHSM2 never locks): only refused PINs count.
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        other_id = ask(world, "requester.vks", fresh_person(world, db, CaseStage.CLOSED)).id
    refusal = {"action": "refuse", "refuse-reason_code": "purpose", "refuse-text": "Chung chung",
               "confirmed": "yes"}
    answers = [client.post(f"/requests/{other_id}", data=refusal | {
        "pin": f"99999{i}", "version": version_of(db, other_id)}).status_code for i in range(4)]
    assert answers == [422, 422, 429, 429]


def test_the_cli_enrols_a_token_and_verify_names_the_official(app, runner, world, db, tmp_path):
    result = runner.invoke(args=["pki", "enrol-token", "approver.hanoi"],
                           input=f"{PIN}\n{PIN}\n")
    assert result.exit_code == 0 and "Enrolled a token for approver.hanoi" in result.output
    assert PIN not in result.output.replace(f"{PIN}\n", "")
    for refused, said in ((["pki", "enrol-token", "nobody", "--pin", PIN], "No person"),
                          (["pki", "enrol-token", "approver.hanoi", "--pin", "12"], "PIN has")):
        outcome = runner.invoke(args=refused)
        assert outcome.exit_code != 0 and said in outcome.output
    _person, request = arrange(world, db)
    document = _release(world, prepare(world, request.id), PIN,
                        settings=app.extensions["custody_documents"])
    (tmp_path / "x.pdf").write_bytes(document.pdf)
    result = runner.invoke(args=["extract", "verify", str(tmp_path / "x.pdf")])
    assert result.exit_code == 0, result.output
    assert "signed by Common Name: Thượng tá Đỗ Quang Huy" in result.output
    assert "then sealed by the organisation" in result.output


def test_no_page_writes_a_typed_pin_back_into_its_html(app):
    from web.forms_support import posted_fields

    # The check page and the re-authentication page of a stale sign-in carry what was typed.
    with app.test_request_context("/requests/1", method="POST",
                                  data={"pin": PIN, "refuse-text": "lý do", "action": "refuse",
                                        "reauth-password": "mật khẩu", "reauth-code": "123456"}):
        assert posted_fields(lambda name: False) == [("refuse-text", "lý do"),
                                                     ("action", "refuse")]


def _png(mode: str, kind: str = "PNG") -> bytes:
    image = Image.new(mode, (200, 80), (20, 60, 160, 0) if mode == "RGBA" else (20, 60, 160))
    out = BytesIO()
    image.save(out, kind)
    return out.getvalue()


def test_a_signature_image_is_a_transparent_png_and_shows_on_the_page(runner, world, db,
                                                                      tmp_path, app):
    from workflow.documents import seals

    for data, said in ((_png("RGB"), "transparent"), (_png("RGB", "JPEG"), "PNG file"),
                       (b"not an image", "readable image"),
                       (b"\x89PNG" + b"0" * (600 * 1024), "larger than")):
        with pytest.raises(InvalidInput, match=said):
            seals.checked_png(data)
    (tmp_path / "sig.png").write_bytes(_png("RGBA"))
    (tmp_path / "sig.jpg").write_bytes(_png("RGB", "JPEG"))
    refused = runner.invoke(args=["pki", "enrol-token", "approver.hanoi", "--pin", PIN,
                                  "--signature-image", str(tmp_path / "sig.jpg")])
    assert refused.exit_code != 0 and "PNG" in refused.output
    result = runner.invoke(args=["pki", "enrol-token", "approver.hanoi", "--pin", PIN,
                                 "--signature-image", str(tmp_path / "sig.png")])
    assert result.exit_code == 0, result.output
    _person, request = arrange(world, db)
    document = _release(world, prepare(world, request.id), PIN,
                        settings=app.extensions["custody_documents"])
    (tmp_path / "x.pdf").write_bytes(document.pdf)
    listing = subprocess.run(["pdfimages", "-list", str(tmp_path / "x.pdf")],
                             capture_output=True, text=True, check=True).stdout
    sizes = {tuple(line.split()[3:5]) for line in listing.splitlines()[2:]}
    assert ("200", "80") in sizes  # the registered image, as uploaded
    assert ("400", "400") in sizes  # the development seal beside it


def test_a_paper_consent_goes_straight_to_its_decision_and_a_blank_number_asks_the_pin(
        app, client, auth, db):
    import io

    from tests.worlds import person_with_stage

    settings = app.extensions["custody_documents"]
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        tokens.enrol_dev(session, settings.signing_tokens, world.user("consent.hanoi"), PIN,
                         passphrase=settings.passphrase, now=dt.datetime.now(dt.UTC),
                         crl_url=None)
        request_id = ask(world, "requester.vks",
                         person_with_stage(world, CaseStage.INVESTIGATION)).id
        session.commit()
    auth.login("consent.hanoi")
    url = f"/requests/{request_id}"

    def consent(**fields):
        return client.post(url, content_type="multipart/form-data", data={
            "action": "grant_consent", "version": version_of(db, request_id),
            "consent-categories": ["a_orders"], **fields})

    # A scan without its number is told at once, not lost on a check page that cannot carry it.
    scan_only = consent(**{"consent-letter_scan": (io.BytesIO(b"%PDF-1.4 x"), "letter.pdf")})
    text = scan_only.get_data(as_text=True)
    assert scan_only.status_code == 422 and "Kiểm tra trước khi quyết định" not in text
    # A number of blanks is no paper letter: the system's letter is signed, so the PIN is asked.
    blank = consent(**{"consent-letter_ref": "   "}).get_data(as_text=True)
    assert "Kiểm tra trước khi quyết định" in blank and 'name="pin"' in blank
    on_paper = consent(**{"consent-letter_ref": "CV 7/ĐY",
                          "consent-letter_scan": (io.BytesIO(b"%PDF-1.4 x"), "letter.pdf")})
    assert on_paper.status_code == 302
    db.expire_all()
    step = next(s for s in db.get(AccessRequest, request_id).steps if s.letter_ref)
    assert step.letter_scan.endswith(".pdf")
