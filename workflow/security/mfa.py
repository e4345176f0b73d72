"""Second factor: TOTP (RFC 6238, pyotp) enrolled at the first sign-in, each code accepted once,
and single-use recovery codes. Secrets are kept encrypted with a key derived from the
application's secret."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import secrets

import pyotp
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.audit import chain as audit
from workflow.audit.chain import Outcome
from workflow.context import Actor
from workflow.errors import Conflict, InvalidInput
from workflow.i18n import N_
from workflow.models import RecoveryCode, User
from workflow.security import accounts

STEP = 30
ISSUER = "CSDL tam giu, tam giam"
RECOVERY_CODES = 10
_RECOVERY = re.compile(r"^[A-Z2-7]{4}-?[A-Z2-7]{4}$")


def cipher(key_material: str) -> Fernet:
    """The cipher of the secrets, from the application's secret key (or a configured one)."""
    digest = hashlib.sha256(b"custody-mfa-v1:" + key_material.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def new_secret() -> str:
    """A fresh 160-bit TOTP secret in base32."""
    return pyotp.random_base32(32)


def normalise_secret(text: str) -> str | None:
    """A key however it was typed or pasted: the enrolment page shows it in groups of four, and
    spaces, dashes, trailing `=` and case do not matter. None when it is not a base32 key long
    enough for an authenticator."""
    key = re.sub(r"[\s\-=]", "", text or "").upper()
    if not re.fullmatch(r"[A-Z2-7]+", key):
        return None
    try:
        pyotp.TOTP(key)  # decodes the key: too short, or a length base32 never has, is refused
    except ValueError:
        return None
    return key


def current_code(secret: str, now: dt.datetime) -> str:
    """The six digits an authenticator app holding this key shows at `now`."""
    return pyotp.TOTP(secret).at(now)


def provisioning_uri(secret: str, user: User) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)


def _secret(user: User, fernet: Fernet) -> str:
    try:
        return fernet.decrypt(user.totp_secret.encode()).decode()
    except (InvalidToken, AttributeError) as error:
        raise Conflict(N_("The second factor of this account cannot be read; ask an "
                          "administrator to reset it.")) from error


def _matching_step(secret: str, code: str, now: dt.datetime, after: int) -> int | None:
    """The time step (now, or one either side for clock drift) whose code this is, if it is
    later than the last accepted one: a code is accepted once only."""
    code = re.sub(r"\s", "", code or "")
    if not re.fullmatch(r"\d{6}", code):
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // STEP
    for step in (current - 1, current, current + 1):
        if step > after and secrets.compare_digest(totp.at(step * STEP), code):
            return step
    return None


def already_used(user: User, code: str, now: dt.datetime, fernet: Fernet) -> bool:
    """Whether a refused code is one of this account's current codes that was accepted
    before: the person typed the right code twice, and needs only wait for the next one."""
    code = re.sub(r"\s", "", code or "")
    if user.totp_secret is None or not re.fullmatch(r"\d{6}", code):
        return False
    totp = pyotp.TOTP(_secret(user, fernet))
    current = int(now.timestamp()) // STEP
    return any(step <= user.totp_last_step and secrets.compare_digest(totp.at(step * STEP), code)
               for step in (current - 1, current, current + 1))


def install(session: Session, user: User, secret: str, fernet: Fernet,
            now: dt.datetime) -> None:
    """Store a confirmed secret (enrolment, or a hardware token provisioned with its seed)."""
    user.totp_secret = fernet.encrypt(secret.encode()).decode()
    user.totp_enrolled_at = now
    user.totp_last_step = 0


def enrol(session: Session, actor: Actor, user: User, secret: str, code: str,
          fernet: Fernet) -> list[str]:
    """Confirm the authenticator with a code from it; returns the recovery codes, shown once."""
    if user.totp_enrolled_at is not None:
        raise Conflict(N_("This account already has a second factor."))
    step = _matching_step(secret, code, actor.now, 0)
    if step is None:
        audit.record(session, actor, "auth.mfa_enrol", outcome=Outcome.FAILURE,
                     actor_name=user.username, object_type="user", object_id=user.id)
        raise InvalidInput(N_("The code is not right: check the time on the phone and type "
                              "the current six digits."))
    install(session, user, secret, fernet, actor.now)
    user.totp_last_step = step
    accounts.clear_failures(user)
    codes = _new_recovery_codes(session, user, actor.now)
    audit.record(session, Actor(user, actor.ip, actor.now), "auth.mfa_enrol",
                 object_type="user", object_id=user.id)
    return codes


def _new_recovery_codes(session: Session, user: User, now: dt.datetime) -> list[str]:
    for old in session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id,
                                                          RecoveryCode.used_at.is_(None))):
        old.used_at = now  # replaced: the old ones no longer work
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = base64.b32encode(secrets.token_bytes(5)).decode()
        codes.append(f"{raw[:4]}-{raw[4:]}")
        session.add(RecoveryCode(user_id=user.id, code_hash=_hash(raw), created_at=now))
    return codes


def _hash(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").upper().encode()).hexdigest()


def verify(session: Session, actor: Actor, user: User, code: str, fernet: Fernet) -> bool:
    """Check a TOTP code (or a recovery code) of an enrolled user; audited either way."""
    code = (code or "").strip().upper()
    if _RECOVERY.fullmatch(code):
        row = session.scalars(select(RecoveryCode).where(
            RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _hash(code),
            RecoveryCode.used_at.is_(None)).with_for_update(key_share=True)).first()
        if row is not None:
            row.used_at = actor.now
            accounts.clear_failures(user)
            left = session.scalars(select(RecoveryCode.id).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))).all()
            audit.record(session, Actor(user, actor.ip, actor.now), "auth.mfa",
                         details={"method": "recovery", "left": len(left)})
            return True
    else:
        step = _matching_step(_secret(user, fernet), code, actor.now, user.totp_last_step)
        if step is not None:
            user.totp_last_step = step
            accounts.clear_failures(user)
            audit.record(session, Actor(user, actor.ip, actor.now), "auth.mfa",
                         details={"method": "totp"})
            return True
    audit.record(session, actor, "auth.mfa", outcome=Outcome.FAILURE,
                 actor_name=user.username, object_type="user", object_id=user.id)
    accounts.count_failure(session, actor, user)
    return False


def reset(session: Session, actor: Actor, user_id: int) -> User:
    """An administrator removes a lost second factor; the user enrols again at next sign-in."""
    user = accounts.managed_user(session, actor, user_id)
    user.totp_secret, user.totp_enrolled_at, user.totp_last_step = None, None, 0
    for row in session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id,
                                                          RecoveryCode.used_at.is_(None))):
        row.used_at = actor.now
    audit.record(session, actor, "admin.mfa_reset", object_type="user", object_id=user.id)
    return user
