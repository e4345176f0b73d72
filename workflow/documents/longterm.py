"""Signatures that outlive their certificates (PAdES B-LTA): the development time-stamping
authority, the CA's revocation lists, signing with both embedded, and validation at a later date.

A signature alone dies with its certificate (issue 15, item 5). Here every issued document gets an
RFC 3161 timestamp on its signature, the revocation lists of its chain in the document's security
store, and a document timestamp over it all, so that a validator after the certificate's expiry
can still tell it was valid when it was signed. In production the timestamps come from the
configured TSA (`tsa_url`) and the revocation data from the CA's published addresses; without one,
the development CA's own TSA and lists stand in.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterable
from functools import cache
from io import BytesIO
from typing import TYPE_CHECKING

from asn1crypto import cms, core
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.x509.oid import ExtendedKeyUsageOID
from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.documents import pki
from workflow.models import SigningCredential

# pyHanko loads in half a second: imported where a signature is made or validated.
if TYPE_CHECKING:
    from pyhanko.sign import timestamps
    from pyhanko_certvalidator import ValidationContext

DEV_TSA_NAME = "Custody DB development TSA (not for production use)"
# How long a revocation list is current: a validator wants one issued after the signature.
CRL_LIFETIME = dt.timedelta(days=7)


class _QuietEmbedding(logging.Filter):
    """pyHanko warns on every signature that revocation data is embedded without fetching:
    that is this module's design for the development CA (it hands the lists over itself)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "fetching is not allowed" not in record.getMessage()


logging.getLogger("pyhanko.sign.signers.pdf_signer").addFilter(_QuietEmbedding())


def dev_tsa(session: Session, passphrase: str, now: dt.datetime,
            crl_url: str | None) -> SigningCredential:
    """The development time-stamping authority's certificate, issued by the development CA on
    first use (RSA: pyHanko's local TSA signs RSA only), valid as long as the CA."""
    found = session.scalars(select(SigningCredential).where(
        SigningCredential.purpose == "tsa", SigningCredential.active.is_(True))).first()
    if found is not None:
        return found
    ca = pki.dev_ca(session, passphrase, now)
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem.encode())
    ca_key = pki.load_key(ca.key_pem, passphrase)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    builder = (x509.CertificateBuilder()
               .subject_name(pki.subject_name(DEV_TSA_NAME, "Custody DB development"))
               .issuer_name(ca_cert.subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(days=1))
               .not_valid_after(ca_cert.not_valid_after_utc)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]),
                              critical=True)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   ca_key.public_key()), critical=False))
    for extension in pki.crl_point(crl_url):
        builder = builder.add_extension(extension, critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    return pki.store_credential(session, cert, purpose="tsa", source="dev",
                                key_pem=pki.encrypted_key_pem(key, passphrase),
                                chain_pem=ca.cert_pem)


def revocation_list(session: Session, passphrase: str, at: dt.datetime) -> bytes | None:
    """The development CA's revocation list as published at `at` (DER), or None without one.
    It lists no certificate: nothing here revokes one yet; a retired credential is not
    compromised, and what it signed stays valid."""
    ca = session.scalars(select(SigningCredential).where(
        SigningCredential.purpose == "ca", SigningCredential.active.is_(True))).first()
    if ca is None:
        return None
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem.encode())
    ca_key = _cached_key(ca, passphrase)
    issued = at - dt.timedelta(minutes=1)
    crl = (x509.CertificateRevocationListBuilder().issuer_name(ca_cert.subject)
           .last_update(issued).next_update(issued + CRL_LIFETIME)
           .add_extension(x509.CRLNumber(int(issued.timestamp())), critical=False)
           .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
               ca_key.public_key()), critical=False)
           .sign(ca_key, hashes.SHA256()))
    return crl.public_bytes(serialization.Encoding.DER)


_keys: dict[str, object] = {}
_keys_lock = threading.Lock()
_stampers: dict[str, object] = {}
_stampers_lock = threading.Lock()


def _cached_key(credential: SigningCredential, passphrase: str):
    # Opening an encrypted key costs tens of milliseconds (and RSA's consistency check more):
    # keep each opened key for the process, keyed by certificate.
    with _keys_lock:
        key = _keys.get(credential.fingerprint)
        if key is None:
            key = _keys[credential.fingerprint] = pki.load_key(credential.key_pem, passphrase)
        return key


@cache
def _local_time_stamper() -> type:
    """The in-application authority's class, made on first use (it subclasses pyHanko's)."""
    from pyhanko.sign import general
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    class LocalTimeStamper(DummyTimeStamper):
        """An RFC 3161 authority inside the application, signing with a key opened once."""

        def __init__(self, credential: SigningCredential, key: rsa.RSAPrivateKey,
                     chain: Iterable[asn1_x509.Certificate]):
            super().__init__(tsa_cert=pki.asn1_certificates(credential.cert_pem)[0],
                             tsa_key=None,  # type: ignore[arg-type] - signed by `_sign_tst_info`
                             certs_to_embed=SimpleCertificateStore.from_certs(list(chain)))
            self._key = key

        def _sign_tst_info(self, tst_info_data: bytes, md_algorithm: str,
                           dt: dt.datetime) -> tuple[bytes, cms.CMSAttributes]:
            # pyHanko's own opens the key from DER on every token; the attributes are the same.
            digest = hashes.Hash(general.get_pyca_cryptography_hash(md_algorithm))
            digest.update(tst_info_data)
            attributes = cms.CMSAttributes([
                general.simple_cms_attribute("content_type", "tst_info"),
                general.simple_cms_attribute("signing_time",
                                             cms.Time({"utc_time": core.UTCTime(dt)})),
                general.simple_cms_attribute("signing_certificate",
                                             general.as_signing_certificate(self.tsa_cert)),
                general.simple_cms_attribute("message_digest", digest.finalize())])
            signature = self._key.sign(attributes.dump(), PKCS1v15(),
                                       general.get_pyca_cryptography_hash(md_algorithm.upper()))
            return signature, attributes

    return LocalTimeStamper


def timestamper(session: Session, passphrase: str, now: dt.datetime, *, tsa_url: str | None,
                dev: bool, crl_url: str | None) -> timestamps.TimeStamper | None:
    """Who timestamps signatures: the configured TSA, else the development one (if development
    certificates are on), else nobody (the signature is then PAdES B-B only)."""
    from pyhanko.sign import timestamps

    if tsa_url:
        return timestamps.HTTPTimeStamper(tsa_url)
    if not dev:
        return None
    credential = dev_tsa(session, passphrase, now, crl_url)
    key = _cached_key(credential, passphrase)
    with _stampers_lock:  # one per credential and process: indexing its chain costs ~50 ms
        stamper = _stampers.get(credential.fingerprint)
        if stamper is None:
            stamper = _stampers[credential.fingerprint] = _local_time_stamper()(
                credential, key, pki.asn1_certificates(credential.chain_pem))
        return stamper


def signing_context(session: Session, passphrase: str, *, fetch: bool) -> ValidationContext:
    """What the signer checks its chain against and embeds: the trusted roots and the
    development CA's list as of now (the clock's, as the timestamp's; not the application's
    date); `fetch` lets it ask a real CA's published addresses."""
    from pyhanko_certvalidator import ValidationContext

    crl = revocation_list(session, passphrase, dt.datetime.now(dt.UTC))
    return ValidationContext(trust_roots=pki.trust_roots(session), crls=[crl] if crl else [],
                             allow_fetching=fetch, revocation_mode="soft-fail")


def validate_at(pdf: bytes, roots: list[asn1_x509.Certificate], when: dt.datetime,
                crls: Iterable[bytes] = ()) -> tuple[bool, str | None]:
    """Validate a document's signature as a validator would at `when` (ETSI EN 319 102-1 past
    validation over the document timestamps), with `crls` the lists it would fetch then."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation.ades import ades_lta_validation
    from pyhanko.sign.validation.policy_decl import (
        LocalKnowledge,
        PdfSignatureValidationSpec,
        SignatureValidationSpec,
    )
    from pyhanko_certvalidator.authority import CertTrustAnchor
    from pyhanko_certvalidator.context import CertValidationPolicySpec
    from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
    from pyhanko_certvalidator.policy_decl import (
        REQUIRE_REVINFO,
        CertRevTrustPolicy,
        FreshnessReqType,
    )
    from pyhanko_certvalidator.registry import SimpleTrustManager
    from pyhanko_certvalidator.revinfo.archival import CRLContainer

    reader = PdfFileReader(BytesIO(pdf), strict=False)
    signatures = reader.embedded_regular_signatures
    if len(signatures) != 1:
        return False, f"expected one signature, found {len(signatures)}"
    policy = CertValidationPolicySpec(
        trust_manager=SimpleTrustManager.build([CertTrustAnchor(c) for c in roots]),
        revinfo_policy=CertRevTrustPolicy(
            REQUIRE_REVINFO, freshness=None,
            freshness_req_type=FreshnessReqType.MAX_DIFF_REVOCATION_VALIDATION))
    known = LocalKnowledge(known_crls=[
        CRLContainer(asn1_crl.CertificateList.load(c)) for c in crls])
    spec = PdfSignatureValidationSpec(SignatureValidationSpec(
        cert_validation_policy=policy, local_knowledge=known))
    timing = ValidationTimingInfo(when, when, point_in_time_validation=True)
    result = pki.run_async(lambda: ades_lta_validation(signatures[0], spec, timing))
    status = result.api_status
    if status is not None and status.bottom_line:
        return True, None
    return False, f"{result.ades_subindic}"
