"""What the attack on issue 15's second session found and what held: secret extracts, drafts,
long-term signatures, rule-set overrides, error reports."""

from __future__ import annotations

import pytest

from tests.documents.test_secret_extracts import secret_request
from tests.worlds import SETTINGS, World, prepare, release
from workflow.documents import extracts, pki, verification
from workflow.enums import Role, Secrecy
from workflow.errors import Forbidden
from workflow.models import IssuedDocument


def test_a_secret_extract_is_opened_only_by_the_cleared_and_once_issued_only_by_its_recipient(
        app, client, auth, db, tmp_path):
    """Found by the attack on this change: every approver of the issuing body, whatever their
    clearance, read the released, signed, numbered secret extract through the preview as often
    as they liked, and no copy was counted. Now: an approver above whose clearance it is can
    neither prepare, open nor release it; once issued, nobody opens it but through a counted
    copy of its named recipient (the issuer sees it listed)."""
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        other = world.make_user("approver.khac", "CA-HANOI", Role.APPROVER)
        assert other.clearance is Secrecy.NONE  # cleared for nothing secret
        request = secret_request(world, db)
        with pytest.raises(Forbidden):
            world.act(extracts.prepare_extract, SETTINGS, world.actor("approver.khac"),
                      request.id)
        draft = prepare(world, request.id)
        with pytest.raises(Forbidden):
            world.act(extracts.preview, world.actor("approver.khac"), draft.id)
        document = release(world, draft)
        assert document.secrecy is Secrecy.SECRET and document.state.value == "released"
        document_id, request_id = document.id, request.id
        with pytest.raises(Forbidden):
            world.act(extracts.preview, world.actor("approver.hanoi"), document_id)
    auth.login("approver.hanoi")
    assert client.get(f"/documents/{document_id}/preview.pdf").status_code == 403
    page = client.get(f"/requests/{request_id}").get_data(as_text=True)
    assert f"/documents/{document_id}/preview.pdf" not in page  # listed, not opened
    db.expire_all()
    assert db.get(IssuedDocument, document_id).downloads == 0


# --- long-term signatures: files forged after the last document timestamp -------------------


def _released_plain(app, db):
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        request = secret_request(world, db, levels=(Secrecy.NONE,))
        document = release(world, prepare(world, request.id))
        return document.pdf


def _own_tsa():
    import datetime as dt

    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                         "Custody DB development TSA (not for production use)")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=9))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]),
                           critical=True)
            .sign(key, hashes.SHA256()))
    der_key = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
        tsa_key=asn1_keys.PrivateKeyInfo.load(der_key))


def _changed_page(pdf: bytes) -> bytes:
    from io import BytesIO

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    page_ref = writer.root["/Pages"]["/Kids"][0]
    page = page_ref.get_object()
    stream = generic.StreamObject(stream_data=b"1 1 1 rg 0 0 600 900 re f")
    page["/Contents"] = writer.add_object(stream)
    writer.update_container(page)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def _annotated(pdf: bytes) -> bytes:
    from io import BytesIO

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    annot = generic.DictionaryObject({
        generic.NameObject("/Type"): generic.NameObject("/Annot"),
        generic.NameObject("/Subtype"): generic.NameObject("/FreeText"),
        generic.NameObject("/Rect"): generic.ArrayObject(
            [generic.FloatObject(v) for v in (50, 50, 400, 120)]),
        generic.NameObject("/Contents"): generic.pdf_string("HỦY BỎ - đã thu hồi"),
        generic.NameObject("/DA"): generic.pdf_string("/Helv 24 Tf 1 0 0 rg"),
    })
    annots = page.get("/Annots")
    arr = generic.ArrayObject(list(annots.get_object()) if annots is not None else [])
    arr.append(writer.add_object(annot))
    page["/Annots"] = arr
    writer.update_container(page)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def _retitled(pdf: bytes) -> bytes:
    from io import BytesIO

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.misc import PdfWriteError  # noqa: F401

    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    info = writer.trailer["/Info"].get_object() if "/Info" in writer.trailer else None
    if info is None:
        info = generic.DictionaryObject()
        writer.trailer["/Info"] = writer.add_object(info)
    info["/Title"] = generic.pdf_string("Phiếu cung cấp số 99/PCCTT - GIẢ")
    if "/Info" in writer.trailer:
        writer.update_container(info)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def _own_doc_timestamp(pdf: bytes) -> bytes:
    from io import BytesIO

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign.signers.pdf_signer import PdfTimeStamper

    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    out = pki.run_async(lambda: PdfTimeStamper(_own_tsa()).async_timestamp_pdf(
        writer, "sha256", validation_context=None))
    return out.getvalue()


def _first_revision(pdf: bytes) -> bytes:
    """The file as it was when signed: no DSS, no document timestamp."""
    from io import BytesIO

    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(BytesIO(pdf), strict=False)
    [signature] = reader.embedded_regular_signatures
    start, length = int(signature.byte_range[2]), int(signature.byte_range[3])
    return pdf[:start + length]


@pytest.mark.parametrize("forge", [_changed_page, _annotated, _own_doc_timestamp,
                                   lambda p: _changed_page(_own_doc_timestamp(p))],
                         ids=["page", "annot", "own_tsa", "own_tsa_then_page"])
def test_a_change_after_the_last_document_timestamp_fails_the_signature(app, db, forge):
    pdf = _released_plain(app, db)
    with app.extensions["custody_sessions"]() as session:
        roots = pki.trust_roots(session)
        assert pki.check_signature(pdf, roots).ok
        forged = forge(pdf)
        check = pki.check_signature(forged, roots)
        print(forge, check)
        assert not check.ok, check
        assert not verification.check_file(session, forged).ok


def test_stripping_the_long_term_data_leaves_a_valid_signature_but_not_the_register(app, db):
    pdf = _released_plain(app, db)
    with app.extensions["custody_sessions"]() as session:
        stripped = _first_revision(pdf)
        check = pki.check_signature(stripped, pki.trust_roots(session))
        print(check)
        file_check = verification.check_file(session, stripped)
        print(file_check.problems)
        assert not file_check.ok


def test_a_metadata_change_after_the_last_document_timestamp_fails_check_signature(app, db):
    """Found by the attack: pyHanko's default diff policy ranks /Info and XMP updates as
    LTA_UPDATES, so a retitled file ("Phiếu cung cấp số 99/PCCTT - GIẢ") passed check_signature
    (check_file refused it by the register's hash). Now the signature check refuses it too."""
    pdf = _released_plain(app, db)
    with app.extensions["custody_sessions"]() as session:
        forged = _retitled(pdf)
        assert not verification.check_file(session, forged).ok  # holds: hash register
        check = pki.check_signature(forged, pki.trust_roots(session))
        assert not check.ok and "title or metadata" in check.problem
        roots = pki.trust_roots(session)
        # The XMP packet too; only its modification date may move (pyHanko's writer stamps it
        # on every revision, to the second: a legitimate file's last update may be a second on).
        assert not pki.check_signature(_rexmp(pdf, b'pdf:Producer="Forged"'), roots).ok
        assert pki.check_signature(_rexmp(pdf, None), roots).ok


def _rexmp(pdf: bytes, producer: bytes | None) -> bytes:
    """The file with an update of its XMP packet: its producer changed, or only its date."""
    import re
    from io import BytesIO

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    writer._update_meta = lambda: None  # pyHanko would write its own packet over the forgery
    stream = writer.root["/Metadata"].get_object()
    data = re.sub(rb'ModifyDate="[^"]*"', b'ModifyDate="2031-01-01T00:00:00+00:00"', stream.data)
    if producer is not None:
        data = re.sub(rb'pdf:Producer="[^"]*"', producer, data)
    stream._data, stream._encoded_data = data, None
    writer.update_container(stream)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


# --- rule-set overrides from CUSTODY_RULE_OVERRIDES (JSON: no dates, only strings) ------------


@pytest.mark.parametrize("overrides", [
    {"L128-2025.1": {"effective_from": "2026-08-01"}},   # JSON has no dates
    {"L128-2025.1": {"approval_days": "7"}},
    {"L94-2015.1": {"effective_to": None}},               # overlaps Law 128 forever
], ids=["date_as_string", "days_as_string", "overlap"])
def test_a_malformed_override_is_refused_at_start_up(overrides):
    """Found by the attack: these passed start-up and then raised TypeError on every rules.on()
    (500s on filing, the request page, every issue) or, for the overlap, kept citing Law 94 in
    documents dated after 01/07/2026. Now each is read as its type or refused at start-up."""
    import datetime as dt

    from workflow.requests.rules import Rulebook

    try:
        book = Rulebook.from_overrides(overrides)
    except (ValueError, TypeError):
        return  # refused at start-up: the secure behaviour
    in_force = book.on(dt.date(2026, 11, 24))
    assert in_force.version == "L128-2025.1", in_force.version
    # approval_days "7": the deadline arithmetic
    from workflow.requests import deadlines  # noqa: F401
    from workflow.requests import rules as _r  # noqa: F401
    assert isinstance(in_force.approval_days, int), type(in_force.approval_days)
