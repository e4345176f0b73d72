"""Officials' own signing keys on PKCS#11 tokens: enrolment, lookup, and opening one with its PIN.

An official signs a decision with their own certificate, whose key lives on a token (issue 15,
item 4); the organisation's seal signature follows. A server reaches such keys through a PKCS#11
module: a remote-signing HSM in production, SoftHSM2 on development and CI machines. The key
never leaves the token, and the PIN the official types at the decision opens it for that one
act: it is neither stored nor logged.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
import subprocess
import threading
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.context import Actor
from workflow.documents import pki
from workflow.enums import Role
from workflow.errors import InvalidInput
from workflow.i18n import N_
from workflow.models import SigningCredential, User

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
KEY_LABEL = "signing"  # the key and its certificate on each token
PIN_LENGTH = (6, 32)
PERSON_DAYS = 730
# The roles whose decisions issue documents the decider signs: only they are given a token.
SIGNING_ROLES = frozenset({Role.APPROVER, Role.CONSENT_OFFICER})


class PinRefused(InvalidInput):
    """The token refused to open: a wrong, missing or locked PIN. Nothing was signed."""


@dataclass(frozen=True)
class TokenSettings:
    """Where personal keys are reached, and whether every signer must have one."""

    module: str | None = None  # the PKCS#11 module; None: no personal signatures here
    required: bool = False  # refuse a decision whose signer has no token


def default_module() -> str | None:
    """SoftHSM2's module where it is installed (development and CI machines)."""
    return SOFTHSM_MODULE if Path(SOFTHSM_MODULE).is_file() else None


def use_token_directory(directory: Path) -> None:
    """Point SoftHSM2 at a token directory of this installation unless the environment already
    names a configuration (the system's own needs root to write)."""
    if os.environ.get("SOFTHSM2_CONF"):
        return
    tokens = directory / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    conf = directory / "softhsm2.conf"
    if not conf.exists():
        conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\n"
                        "log.level = ERROR\nslots.removable = false\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)


# The module is loaded once per process; every use of it (and re-reading its tokens after
# another process enrolled one) goes through this lock, so no session is open when it reloads.
_lock = threading.Lock()


def _library(module: str):
    import pkcs11  # loaded only where personal signatures are configured

    return pkcs11.lib(module)


def _token(module: str, label: str):
    import pkcs11

    library = _library(module)
    try:
        return library.get_token(token_label=label)
    except pkcs11.NoSuchToken:
        library.reinitialize()  # enrolled by another process since the module was loaded
        try:
            return library.get_token(token_label=label)
        except pkcs11.NoSuchToken as error:
            raise InvalidInput(N_("Your signing token cannot be found; ask the administrator "
                                  "who enrolled it.")) from error


def personal_credential(session: Session, user: User) -> SigningCredential | None:
    """The user's active personal signing credential, if they were given a token."""
    return session.scalars(select(SigningCredential).where(
        SigningCredential.purpose == "person", SigningCredential.user_id == user.id,
        SigningCredential.active.is_(True)).order_by(SigningCredential.id.desc())).first()


def signing_person(session: Session, settings: TokenSettings, actor: Actor,
                   signer: User | None) -> SigningCredential | None:
    """The personal credential a document is signed with before the seal: the signer's own when
    the signer is the one acting now (only they can type its PIN); None for the seal alone.
    Raises when the signer has a token but typed no PIN, or has none and one is required."""
    if signer is None or actor.user is None or signer.id != actor.user.id:
        return None
    credential = personal_credential(session, signer)
    if credential is None:
        if settings.required:
            raise InvalidInput(N_("Decisions are signed with the official's own certificate, "
                                  "and you have no signing token: ask an administrator to "
                                  "enrol one. Nothing was done."))
        return None
    if not settings.module:
        raise InvalidInput(N_("Personal signing tokens are not configured on this server; "
                              "nothing was signed."))
    if credential.not_after <= actor.now:
        raise InvalidInput(N_("Your signing certificate expired on %(day)s: ask an "
                              "administrator to renew it. Nothing was done."),
                           day=f"{credential.not_after:%d/%m/%Y}")
    if not actor.pin:
        raise PinRefused(N_("Type the PIN of your signing token: the decision is signed with "
                            "your own certificate."))
    # Tried now, before anything is rendered or numbered: a wrong PIN costs the server nothing
    # and the token counts it as it counts every wrong PIN.
    with opened(settings, credential, actor.pin):
        pass
    return credential


def normal_pin(pin: str) -> str:
    """The PIN as the token receives it: Unicode NFC, so 'ê' typed on a phone's composing
    keyboard and on a desktop's precomposed one open the same token."""
    return unicodedata.normalize("NFC", pin)


@contextmanager
def opened(settings: TokenSettings, credential: SigningCredential,
           pin: str) -> Iterator[object]:
    """A pyHanko signer on the credential's token, opened with the PIN for one signature."""
    import pkcs11
    from pyhanko.sign.pkcs11 import PKCS11Signer
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    with _lock:
        token = _token(settings.module, credential.token_label)
        try:
            token_session = token.open(user_pin=normal_pin(pin))
        except (pkcs11.PinIncorrect, pkcs11.PinLenRange, pkcs11.ArgumentsBad) as error:
            raise PinRefused(N_("The PIN is wrong; nothing was signed or changed.")) from error
        except pkcs11.PinLocked as error:
            raise PinRefused(N_("Your signing token is locked after too many wrong PINs; ask "
                                "its administrator to unlock it.")) from error
        try:
            chain = pki.asn1_certificates(credential.chain_pem) if credential.chain_pem else []
            # Hashed here, the raw ECDSA mechanism on the token: SoftHSM2 (and many tokens)
            # lack the combined ECDSA-with-SHA-256 one.
            yield PKCS11Signer(token_session, key_label=KEY_LABEL, use_raw_mechanism=True,
                               signing_cert=pki.asn1_certificates(credential.cert_pem)[0],
                               ca_chain=SimpleCertificateStore.from_certs(chain))
        finally:
            token_session.close()


def _check_pin(pin: str) -> None:
    low, high = PIN_LENGTH
    if not (low <= len(pin) <= high and pin.isprintable() and pin.strip() == pin):
        raise InvalidInput(N_("A PIN has %(low)s to %(high)s characters, without spaces at "
                              "either end."), low=low, high=high)


def signing_refusal(user: User) -> str | None:
    """Why this account may not hold a signing token, or None: only an active person's account
    whose role decides (and so signs) what the system issues."""
    if user.system or not user.active:
        return N_("Only an active person's account is given a signing token.")
    if not user.roles & SIGNING_ROLES:
        return N_("Only approvers and consent officers sign decisions; this account is given "
                  "no signing token.")
    return None


def enrol_dev(session: Session, settings: TokenSettings, user: User, pin: str, *,
              passphrase: str, now: dt.datetime, crl_url: str | None,
              image: tuple[bytes, str] | None = None) -> SigningCredential:
    """Give a user a development token (SoftHSM2): a new key made on it, certified by the
    development CA for the user's name, position and body; their earlier tokens stop being
    used (their certificates stay, so what they signed still verifies)."""
    import pkcs11
    from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters
    from pkcs11.util.x509 import decode_x509_certificate

    if not settings.module:
        raise InvalidInput(N_("No PKCS#11 module is configured (install SoftHSM2 for "
                              "development tokens)."))
    refusal = signing_refusal(user)
    if refusal is not None:
        raise InvalidInput(refusal)
    pin = normal_pin(pin)
    _check_pin(pin)
    label = f"custody-{user.id}-{secrets.token_hex(4)}"
    utility = shutil.which("softhsm2-util")
    if utility is None:
        raise InvalidInput(N_("SoftHSM2 is not installed here (softhsm2-util)."))
    # The token is made with a throwaway PIN, changed to the official's once open: their PIN
    # never appears on a command line another process could read.
    first = secrets.token_hex(8)
    done = subprocess.run([utility, "--init-token", "--free", "--label", label,  # noqa: S603
                           "--pin", first, "--so-pin", secrets.token_hex(16)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise InvalidInput(N_("The development token could not be made: %(error)s"),
                           error=(done.stderr or done.stdout).strip()[:200])
    with _lock:
        token = _token(settings.module, label)
        with token.open(user_pin=first, rw=True) as token_session:
            token_session.set_pin(first, pin)
            parameters = token_session.create_domain_parameters(
                pkcs11.KeyType.EC, {pkcs11.Attribute.EC_PARAMS:
                                    encode_named_curve_parameters("secp256r1")}, local=True)
            public, _private = parameters.generate_keypair(store=True, label=KEY_LABEL,
                                                           id=b"\x01")
            cert, chain = _certify(session, user, serialization.load_der_public_key(
                encode_ec_public_key(public)), passphrase=passphrase, now=now, crl_url=crl_url)
            # The certificate goes on the token beside its key, as a CA's token carries it.
            token_session.create_object(decode_x509_certificate(
                cert.public_bytes(serialization.Encoding.DER)) | {
                pkcs11.Attribute.TOKEN: True, pkcs11.Attribute.LABEL: KEY_LABEL,
                pkcs11.Attribute.ID: b"\x01"})
    for old in session.scalars(select(SigningCredential).where(
            SigningCredential.purpose == "person", SigningCredential.user_id == user.id)):
        old.active = False
    credential = pki.store_credential(session, cert, purpose="person", source="dev",
                                      org_id=user.organisation_id, chain_pem=chain)
    credential.user_id, credential.token_label = user.id, label
    if image is not None:
        credential.image, credential.image_type = image
    session.flush()
    return credential


def _certify(session: Session, user: User, public_key, *, passphrase: str, now: dt.datetime,
             crl_url: str | None) -> tuple[x509.Certificate, str]:
    ca = pki.dev_ca(session, passphrase, now)
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem.encode())
    ca_key = pki.load_key(ca.key_pem, passphrase)
    org = user.organisation.name if user.organisation else "Custody DB"
    names = [x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
             x509.NameAttribute(NameOID.ORGANIZATION_NAME, pki.fit(org))]
    if user.position:
        names.append(x509.NameAttribute(NameOID.TITLE, pki.fit(user.position)))
    names.append(x509.NameAttribute(NameOID.COMMON_NAME, pki.fit(user.full_name)))
    builder = (x509.CertificateBuilder().subject_name(x509.Name(names))
               .issuer_name(ca_cert.subject).public_key(public_key)
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(days=1))
               .not_valid_after(min(now + dt.timedelta(days=PERSON_DAYS),
                                    ca_cert.not_valid_after_utc))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True,
                                            key_encipherment=False, data_encipherment=False,
                                            key_agreement=False, key_cert_sign=False,
                                            crl_sign=False, encipher_only=False,
                                            decipher_only=False), critical=True)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   ca_key.public_key()), critical=False))
    for extension in pki.crl_point(crl_url):
        builder = builder.add_extension(extension, critical=False)
    return builder.sign(ca_key, hashes.SHA256()), ca.cert_pem
