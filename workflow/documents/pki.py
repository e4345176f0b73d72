"""Signing keys and certificates: a development CA, per-organisation certificates, imports, and
PAdES signing and validation of PDFs with pyHanko.

Private keys are kept encrypted (PKCS#8) with a passphrase the application supplies; without
configured credentials a development CA issues each organisation a certificate on first use.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import re
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from io import BytesIO
from typing import TYPE_CHECKING, TypeVar

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.errors import InvalidInput
from workflow.i18n import N_
from workflow.models import Organisation, SigningCredential

# pyHanko loads in half a second: imported where a document is signed or checked, so that a
# command or a worker that does neither starts without it.
if TYPE_CHECKING:
    from pyhanko.sign import signers, timestamps
    from pyhanko_certvalidator import ValidationContext

T = TypeVar("T")
DEV_CA_NAME = "Custody DB development CA (not for production use)"


def _fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def encrypted_key_pem(key, passphrase: str) -> str:
    """A private key as PKCS#8 PEM, encrypted with the installation's passphrase."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase.encode())).decode()


def fit(value: str) -> str:
    """A value cut to what an X.509 name attribute holds (64 bytes of UTF-8)."""
    # X.509 caps these attributes at 64; cryptography counts the common name in UTF-8 bytes.
    while len(value.encode()) > 64:
        value = value[:-1]
    return value.strip()


def subject_name(common: str, org: str) -> x509.Name:
    """A certificate's subject: country VN, the organisation and the common name."""
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, fit(org)),
                      x509.NameAttribute(NameOID.COMMON_NAME, fit(common))])


def store_credential(session: Session, cert: x509.Certificate, *, purpose: str, source: str,
           org_id: int | None = None, key_pem: str | None = None,
           chain_pem: str = "") -> SigningCredential:
    """Keep a certificate (and its encrypted key) as a credential of the given purpose."""
    credential = SigningCredential(
        org_id=org_id, purpose=purpose, subject=cert.subject.rfc4514_string()[:255],
        fingerprint=_fingerprint(cert), cert_pem=_pem(cert), key_pem=key_pem,
        chain_pem=chain_pem, source=source, active=True,
        not_after=cert.not_valid_after_utc)
    session.add(credential)
    session.flush()
    return credential


def dev_ca(session: Session, passphrase: str, now: dt.datetime) -> SigningCredential:
    """The development CA, created on first use."""
    found = session.scalars(select(SigningCredential).where(
        SigningCredential.purpose == "ca", SigningCredential.active.is_(True))).first()
    if found is not None:
        return found
    key = ec.generate_private_key(ec.SECP256R1())
    name = subject_name(DEV_CA_NAME, "Custody DB development")
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return store_credential(session, cert, purpose="ca", source="dev",
                            key_pem=encrypted_key_pem(key, passphrase))


def crl_point(url: str | None) -> list[x509.CRLDistributionPoints]:
    """The extension telling validators where the issuing CA publishes its revocation list."""
    if not url:
        return []
    return [x509.CRLDistributionPoints([x509.DistributionPoint(
        [x509.UniformResourceIdentifier(url)], None, None, None)])]


def org_credential(session: Session, org: Organisation, passphrase: str, now: dt.datetime,
                   *, issue_dev: bool = True, crl_url: str | None = None) -> SigningCredential:
    """The organisation's active signing credential; the development CA issues one if none is
    configured (and `issue_dev` allows it), naming `crl_url` as where its status is published."""
    found = session.scalars(select(SigningCredential).where(
        SigningCredential.purpose == "org", SigningCredential.org_id == org.id,
        SigningCredential.active.is_(True)).order_by(SigningCredential.id.desc())).first()
    if found is not None:
        return found
    if not issue_dev:
        raise InvalidInput(N_("%(org)s has no signing certificate; an administrator must "
                              "import one."), org=org.name)
    ca = dev_ca(session, passphrase, now)
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem.encode())
    ca_key = load_key(ca.key_pem, passphrase)
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (x509.CertificateBuilder().subject_name(subject_name(org.name, org.name))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=730))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False))
    for extension in crl_point(crl_url):
        builder = builder.add_extension(extension, critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    return store_credential(session, cert, purpose="org", source="dev", org_id=org.id,
                            key_pem=encrypted_key_pem(key, passphrase), chain_pem=ca.cert_pem)


def load_key(pem: str | None, passphrase: str):
    """The private key of a stored credential, opened with the installation's passphrase."""
    if pem is None:
        raise InvalidInput(N_("This certificate has no private key."))
    try:
        return serialization.load_pem_private_key(pem.encode(), passphrase.encode())
    except (ValueError, TypeError) as error:
        raise InvalidInput(N_("The signing key cannot be opened: check the configured key "
                              "passphrase.")) from error


def import_credential(session: Session, org: Organisation, *, cert_pem: bytes,
                      key_pem: bytes, key_password: str | None, chain_pem: bytes,
                      passphrase: str) -> SigningCredential:
    """Import a real certificate, its key and its chain for an organisation; the chain's
    self-signed certificates become trusted roots, and the organisation's earlier credentials
    stop being used (they stay, so documents they signed still verify)."""
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
        key = serialization.load_pem_private_key(
            key_pem, key_password.encode() if key_password else None)
        chain = x509.load_pem_x509_certificates(chain_pem) if chain_pem.strip() else []
    except (ValueError, TypeError) as error:
        raise InvalidInput(N_("The certificate, key or chain could not be read: %(error)s"),
                           error=str(error)) from error
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if (key.public_key().public_bytes(serialization.Encoding.DER, public)
            != cert.public_key().public_bytes(serialization.Encoding.DER, public)):
        raise InvalidInput(N_("The private key does not belong to the certificate."))
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        signs = usage.content_commitment
    except x509.ExtensionNotFound:
        signs = False
    if not signs:
        raise InvalidInput(N_("The certificate is not for signing documents: its key usage "
                              "must include non-repudiation."))
    if session.scalars(select(SigningCredential).where(
            SigningCredential.fingerprint == _fingerprint(cert))).first():
        raise InvalidInput(N_("This certificate is already imported."))
    for old in session.scalars(select(SigningCredential).where(
            SigningCredential.purpose == "org", SigningCredential.org_id == org.id)):
        old.active = False
    for link in chain:
        if link.issuer == link.subject and not session.scalars(select(SigningCredential).where(
                SigningCredential.fingerprint == _fingerprint(link))).first():
            store_credential(session, link, purpose="root", source="imported")
    return store_credential(session, cert, purpose="org", source="imported", org_id=org.id,
                            key_pem=encrypted_key_pem(key, passphrase),
                            chain_pem="".join(_pem(c) for c in chain))


def asn1_certificates(cert_pem: str) -> list[asn1_x509.Certificate]:
    """The certificates of a PEM text, as pyHanko reads them."""
    return [asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER))
            for c in x509.load_pem_x509_certificates(cert_pem.encode())]


_signers: dict[tuple[str, str], object] = {}
_signers_lock = threading.Lock()


def signer_for(credential: SigningCredential, passphrase: str) -> signers.SimpleSigner:
    """A pyHanko signer holding the credential's key, certificate and chain; made once per
    process and credential (opening the key and indexing the chain cost tens of milliseconds,
    every document paid them again)."""
    cached = (credential.fingerprint, hashlib.sha256(passphrase.encode()).hexdigest())
    with _signers_lock:
        signer = _signers.get(cached)
        if signer is None:
            signer = _signers[cached] = _new_signer(credential, passphrase)
        return signer


def _new_signer(credential: SigningCredential, passphrase: str) -> signers.SimpleSigner:
    from pyhanko.sign import signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    key = load_key(credential.key_pem, passphrase)
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    chain = asn1_certificates(credential.chain_pem) if credential.chain_pem else []
    return signers.SimpleSigner(
        signing_cert=asn1_certificates(credential.cert_pem)[0],
        signing_key=asn1_keys.PrivateKeyInfo.load(der),
        cert_registry=SimpleCertificateStore.from_certs(chain))


def sign_pdf(pdf: bytes, signer: signers.Signer, *, reason: str, location: str,
             name: str, timestamper: timestamps.TimeStamper | None = None,
             context: ValidationContext | None = None, field_name: str = "Signature",
             archive: bool = True) -> bytes:
    """The PDF with a PAdES signature over the whole file in `field_name`: baseline B-B alone;
    with a timestamper and a validation context B-LT (a timestamp on the signature and the
    chain's revocation data in the document security store), and with `archive` B-LTA (a
    document timestamp over it all)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    longterm = timestamper is not None and context is not None
    meta = signers.PdfSignatureMetadata(
        field_name=field_name, reason=reason, location=location, name=name,
        subfilter=fields.SigSeedSubFilter.PADES, md_algorithm="sha256",
        embed_validation_info=longterm, use_pades_lta=longterm and archive,
        validation_context=context if longterm else None)
    out = run_async(lambda: signers.async_sign_pdf(writer, meta, signer=signer,
                                                   timestamper=timestamper))
    return out.getvalue()


def run_async(make: Callable[[], Awaitable[T]]) -> T:
    """Run pyHanko's coroutine to completion, also from a thread whose event loop is already
    running (pyHanko's own synchronous wrappers fail there)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def trust_roots(session: Session) -> list[asn1_x509.Certificate]:
    """Every CA this installation trusts: its development CA and imported roots."""
    rows = session.scalars(select(SigningCredential).where(
        SigningCredential.purpose.in_(("ca", "root")))).all()
    return [cert for row in rows for cert in asn1_certificates(row.cert_pem)]


@dataclass(frozen=True)
class SignatureCheck:
    """What the validation of a PDF's signatures found: the seal's (the organisation's), and the
    signing official's own before it when the document carries one."""

    ok: bool
    problem: str | None
    signer: str | None = None
    signer_fingerprint: str | None = None
    signed_at: dt.datetime | None = None
    timestamped_at: dt.datetime | None = None  # by a trusted time-stamping authority
    long_term: bool = False  # revocation data and a document timestamp are embedded
    person: str | None = None  # the official's certificate subject
    person_fingerprint: str | None = None


def check_signature(pdf: bytes, roots: list[asn1_x509.Certificate]) -> SignatureCheck:
    """Validate the signatures of an issued PDF: the seal's alone, or an official's followed by
    the seal's; each intact and trusted, nothing added after the official's but the seal, and
    nothing after the seal but its long-term validation data under a trusted document timestamp
    over the whole file."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import async_validate_pdf_signature, async_validate_pdf_timestamp
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        signatures = reader.embedded_regular_signatures
        stamps = reader.embedded_timestamp_signatures
    except Exception as error:  # noqa: BLE001 - any parse failure means "not our document"
        return SignatureCheck(False, f"the file is not a readable PDF ({error})")
    if len(signatures) not in (1, 2):
        return SignatureCheck(False, "expected one signature (or an official's and the seal), "
                                     f"found {len(signatures)}")
    context = ValidationContext(trust_roots=roots, allow_fetching=False,
                                revocation_mode="soft-fail")
    try:
        statuses = [run_async(lambda s=s: async_validate_pdf_signature(s, context))
                    for s in signatures]
        stamp_statuses = [run_async(lambda s=s: async_validate_pdf_timestamp(s, context))
                          for s in stamps]
    except Exception as error:  # noqa: BLE001 - malformed signature data
        return SignatureCheck(False, f"the signature cannot be validated ({error})")
    status = statuses[-1]
    person = statuses[0] if len(statuses) == 2 else None
    problem = (_signature_problem(status) or _person_problem(person)
               or _stamp_problem(stamps, stamp_statuses) or _retitled(reader, signatures, stamps))
    for each in statuses:
        token = each.timestamp_validity
        if problem is None and token is not None and not (token.intact and token.valid
                                                           and token.trusted):
            problem = "a signature's timestamp is not from a trusted authority"
    token = status.timestamp_validity
    subject, fingerprint = _who(status)
    person_subject, person_fingerprint = _who(person) if person else (None, None)
    return SignatureCheck(problem is None, problem, subject, fingerprint,
                          status.signer_reported_dt,
                          token.timestamp if token is not None else None, bool(stamps),
                          person_subject, person_fingerprint)


def _who(status) -> tuple[str | None, str | None]:
    cert = status.signing_cert
    if cert is None:
        return None, None
    return cert.subject.human_friendly, hashlib.sha256(cert.dump()).hexdigest()


def _signature_problem(status) -> str | None:
    if not status.intact:
        return "the signed content was changed"
    if not status.valid:
        return "the signature value is wrong"
    if not status.trusted:
        return "the signer's certificate does not chain to a trusted root"
    return None if _nothing_added_but_validation_data(status) else \
        "the file was changed after it was signed"


def _person_problem(status) -> str | None:
    # After the official signs, the seal's signature is added (a new signature field: form
    # filling in pyHanko's terms), then validation data; nothing else.
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    if status is None:
        return None
    if not (status.intact and status.valid):
        return "the official's signature does not match the content"
    if not status.trusted:
        return "the official's certificate does not chain to a trusted root"
    if status.coverage is not SignatureCoverageLevel.ENTIRE_REVISION \
            or status.modification_level is None \
            or status.modification_level > ModificationLevel.FORM_FILLING:
        return "the file was changed after the official signed it"
    return None


def _nothing_added_but_validation_data(status) -> bool:
    # A long-term signature is followed by its revocation data and document timestamps, the
    # last timestamp by its own authority's data: anything else added after is a change.
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    return status.coverage is SignatureCoverageLevel.ENTIRE_FILE or (
        status.coverage is SignatureCoverageLevel.ENTIRE_REVISION
        and status.modification_level is not None
        and status.modification_level <= ModificationLevel.LTA_UPDATES)


# pyHanko's writer stamps the XMP packet's modification date on every revision it writes, to
# the second: a validation-data update a second after the timestamp changes it and nothing else.
REWRITTEN_DATES = re.compile(
    rb'xmp:(?:ModifyDate|MetadataDate)(?:="[^"]*"|>[^<]*</xmp:(?:ModifyDate|MetadataDate)>)')


def _described(resolver) -> tuple:
    """What a revision says about the document: its /Info and its XMP metadata, each read as
    that revision had it (an indirect object resolved through the reader would be the last)."""
    from pyhanko.pdf_utils import generic

    def read(value):
        return resolver.get_object(value.reference) if isinstance(
            value, generic.IndirectObject) else value

    trailer = resolver.trailer_view
    info = read(trailer.raw_get("/Info")) if "/Info" in trailer else {}
    root = read(trailer.raw_get("/Root"))
    metadata = read(root.raw_get("/Metadata")) if "/Metadata" in root else None
    xmp = REWRITTEN_DATES.sub(b"", metadata.data) if metadata is not None else None
    return sorted((str(key), str(read(info.raw_get(key)))) for key in info), xmp


def _retitled(reader, signatures, stamps) -> str | None:
    # pyHanko's diff policy counts /Info and XMP updates as validation data: a file retitled
    # after its last timestamp would pass. What the document says of itself must be what it
    # said when last signed or stamped.
    last = max(s.signed_revision for s in [*signatures, *stamps])
    if _described(reader.get_historical_resolver(last)) != _described(reader):
        return "the file's title or metadata was changed after it was signed"
    return None


def _stamp_problem(stamps, statuses) -> str | None:
    for status in statuses:
        if not (status.intact and status.valid and status.trusted):
            return "a document timestamp is not intact or not from a trusted authority"
    if stamps and not _nothing_added_but_validation_data(statuses[-1]):
        return "the file was changed after its last timestamp"
    return None
