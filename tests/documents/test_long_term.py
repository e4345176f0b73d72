"""Signatures that outlive their certificates (issue 15, item 5): every issued document is
PAdES B-LTA, judged by validators the project did not write (the pyHanko CLI, poppler's pdfsig
over NSS), and still valid at a date after its signing certificate has expired."""

from __future__ import annotations

import dataclasses
import datetime as dt
import http.server
import shutil
import subprocess
import sys
import threading
from io import BytesIO
from pathlib import Path

import pytest
import weasyprint
from cryptography import x509
from pypdf import PdfReader
from sqlalchemy import select

from tests.worlds import FLOW, SETTINGS, arrange, prepare, release
from workflow.documents import extracts, longterm, pki, verification
from workflow.models import SigningCredential

PYHANKO = str(Path(sys.executable).parent / "pyhanko")
LTA = "INTACT:TRUSTED,TIMESTAMP_TOKEN<INTACT:TRUSTED>,EXTENDED_WITH_LTA_UPDATES"


def _active(db, purpose: str, org_id: int | None = None) -> SigningCredential:
    query = select(SigningCredential).where(SigningCredential.purpose == purpose,
                                            SigningCredential.active.is_(True))
    if org_id is not None:
        query = query.where(SigningCredential.org_id == org_id)
    return db.scalars(query.order_by(SigningCredential.id.desc())).first()


def _pyhanko(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PYHANKO, "sign", *args], capture_output=True, text=True,
                          timeout=120, check=False)


def test_an_extract_is_signed_for_the_long_term_and_the_pyhanko_cli_agrees(world, db,
                                                                            tmp_path):
    _person, request = arrange(world, db)
    document = release(world, prepare(world, request.id))
    check = verification.check_file(world.session, document.pdf)
    assert check.ok, check.problems
    assert check.signature.long_term
    stamped = check.signature.timestamped_at
    assert stamped is not None and abs(stamped - dt.datetime.now(dt.UTC)) < dt.timedelta(hours=1)
    store = PdfReader(BytesIO(document.pdf)).trailer["/Root"]["/DSS"]
    assert len(store["/CRLs"]) >= 1 and len(store["/Certs"]) >= 2
    (tmp_path / "ca.pem").write_text(_active(db, "ca").cert_pem)
    (tmp_path / "extract.pdf").write_bytes(document.pdf)
    result = _pyhanko("adesverify", "--trust", str(tmp_path / "ca.pem"), "--trust-replace",
                      str(tmp_path / "extract.pdf"))
    assert result.returncode == 0 and LTA in result.stdout, result.stdout + result.stderr
    tampered = bytearray(document.pdf)
    tampered[len(tampered) // 3] ^= 0x01
    (tmp_path / "bad.pdf").write_bytes(bytes(tampered))
    result = _pyhanko("adesverify", "--trust", str(tmp_path / "ca.pem"), "--trust-replace",
                      str(tmp_path / "bad.pdf"))
    assert result.returncode != 0 and LTA not in result.stdout
    assert not verification.check_file(world.session, bytes(tampered)).ok


def test_a_long_term_signature_validates_after_its_certificate_expired(world, db):
    _person, request = arrange(world, db)
    document = release(world, prepare(world, request.id))
    roots = pki.trust_roots(world.session)
    credential = _active(db, "org", document.org_id)
    later = credential.not_after + dt.timedelta(days=90)
    # What a validator then fetches from the CA's address: the list it publishes that day.
    crl = longterm.revocation_list(world.session, SETTINGS.passphrase, later)
    assert longterm.validate_at(document.pdf, roots, later, [crl]) == (True, None)
    # A bare signature (no timestamps, no revocation data) does not survive the expiry.
    bare = pki.sign_pdf(weasyprint.HTML(string="<p>Phiếu</p>").write_pdf(),
                        pki.signer_for(credential, SETTINGS.passphrase),
                        reason="thử", location="Hà Nội", name="thử")
    assert pki.check_signature(bare, roots).ok
    ok, problem = longterm.validate_at(bare, roots, later, [crl])
    assert not ok and problem


def test_the_published_revocation_list_is_the_cas_own(client, app):
    with app.extensions["custody_sessions"]() as session:
        ca = pki.dev_ca(session, "test-secret", dt.datetime.now(dt.UTC))
        session.commit()
        ca_cert = x509.load_pem_x509_certificate(ca.cert_pem.encode())
    response = client.get("/pki/ca.crl")
    assert response.status_code == 200
    assert response.mimetype == "application/pkix-crl"
    crl = x509.load_der_x509_crl(response.data)
    assert crl.issuer == ca_cert.subject and crl.is_signature_valid(ca_cert.public_key())
    assert crl.next_update_utc > dt.datetime.now(dt.UTC) > crl.last_update_utc


@pytest.fixture
def published():
    """An HTTP server on loopback publishing a revocation list, as a CA does."""
    lists: dict[str, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the standard library's name
            body = lists.get(self.path)
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "application/pkix-crl")
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", lists
    server.shutdown()


@pytest.mark.skipif(not shutil.which("pdfsig") or not shutil.which("certutil"),
                    reason="poppler-utils and libnss3-tools are needed (CI installs them)")
def test_validators_that_fetch_revocation_data_find_it_published(world, db, tmp_path,
                                                                  published):
    base, lists = published
    settings = dataclasses.replace(SETTINGS, base_url=base)
    for credential in world.session.scalars(select(SigningCredential)):
        credential.active = False  # a new development PKI naming this server's address
    _person, request = arrange(world, db)
    approver = world.actor("approver.hanoi")
    document = world.act(extracts.prepare_extract, settings, approver, request.id)
    world.act(extracts.preview, approver, document.id)
    document = world.act(extracts.release_extract, FLOW, settings, approver,
                         document.request_id, document_id=document.id, sha256=document.sha256)
    lists["/pki/ca.crl"] = longterm.revocation_list(world.session, SETTINGS.passphrase,
                                                    dt.datetime.now(dt.UTC))
    (tmp_path / "ca.pem").write_text(_active(db, "ca").cert_pem)
    (tmp_path / "extract.pdf").write_bytes(document.pdf)
    result = _pyhanko("validate", "--force-revinfo", "--trust", str(tmp_path / "ca.pem"),
                      "--trust-replace", str(tmp_path / "extract.pdf"))
    assert result.returncode == 0 and LTA in result.stdout, result.stdout + result.stderr
    nss = tmp_path / "nss"
    nss.mkdir()
    subprocess.run(["certutil", "-N", "-d", f"sql:{nss}", "--empty-password"], check=True)
    subprocess.run(["certutil", "-A", "-d", f"sql:{nss}", "-n", "ca", "-t", "CT,CT,CT",
                    "-i", str(tmp_path / "ca.pem")], check=True)
    report = subprocess.run(["pdfsig", "-nssdir", f"sql:{nss}", str(tmp_path / "extract.pdf")],
                            capture_output=True, text=True, check=False).stdout
    signature = report.split("Signature #2")[0]
    assert "Signature is Valid." in signature and "Certificate is Trusted." in signature, report
    assert "Signature #2" in report  # the document timestamp (pdfsig cannot judge RFC 3161)
