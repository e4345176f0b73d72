"""The detainee kiosk (máy tra cứu, Decree 121/2017 Art. 12 §2(c)): a facility's clerk registers
a device and puts it in kiosk mode, and issues a PIN to a person the facility holds; the person
then signs in on that device only, with their record or identity number and the PIN, for a short
session scoped to their own record and requests."""

from __future__ import annotations

import hashlib
import re
import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from workflow.audit import chain as audit
from workflow.audit.chain import Outcome
from workflow.context import Actor
from workflow.enums import Role
from workflow.errors import Forbidden, InvalidInput, NotFound
from workflow.i18n import N_
from workflow.models import (
    CustodyEpisode,
    KioskDevice,
    KioskPin,
    Person,
    User,
    UserRole,
    UserSession,
)
from workflow.records.search import person_with_number
from workflow.security import passwords as hashing
from workflow.security import sessions
from workflow.security.accounts import strike
from workflow.security.permissions import is_live

PIN = re.compile(r"\d{6}")
MAX_NAME = 100


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def can_manage_kiosks(user: User | None, facility_id: int) -> bool:
    """A clerk of the facility registers its devices, starts and ends kiosk mode, issues PINs."""
    return (is_live(user) and user.has_role(Role.CLERK) and user.organisation_id == facility_id
            and user.organisation.kind.is_facility)


def _require_clerk(actor: Actor, facility_id: int) -> User:
    if not can_manage_kiosks(actor.user, facility_id):
        raise Forbidden(N_("Only a clerk of the facility manages its kiosk."))
    return actor.user


def held_at(session: Session, person_id: int, facility_id: int) -> bool:
    """Whether the person is held at the facility now (an open episode there)."""
    return session.execute(select(CustodyEpisode.id).where(
        CustodyEpisode.person_id == person_id, CustodyEpisode.facility_id == facility_id,
        CustodyEpisode.end_date.is_(None)).limit(1)).first() is not None


# --- devices -------------------------------------------------------------------------------


def register_device(session: Session, actor: Actor, name: str) -> tuple[KioskDevice, str]:
    """Register the clerk's browser as a kiosk of their facility; returns the device and the
    secret its cookie holds (only its hash is kept)."""
    user = actor.user
    if user is None or not can_manage_kiosks(user, user.organisation_id):
        raise Forbidden(N_("Only a clerk of the facility manages its kiosk."))
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(N_("Name the device in 1 to %(n)s characters."), n=MAX_NAME)
    secret = secrets.token_urlsafe(32)
    device = KioskDevice(facility_id=user.organisation_id, name=name, secret_hash=_hash(secret),
                         registered_at=actor.now, registered_by_id=user.id)
    session.add(device)
    session.flush()
    audit.record(session, actor, "kiosk.device_register", object_type="kiosk_device",
                 object_id=device.id, details={"name": name, "facility_id": device.facility_id})
    return device, secret


def device_by_secret(session: Session, secret: str | None) -> KioskDevice | None:
    """The device whose cookie holds this secret, if any."""
    if not secret:
        return None
    return session.execute(select(KioskDevice).where(
        KioskDevice.secret_hash == _hash(secret))).scalar_one_or_none()


def facility_devices(session: Session, actor: Actor) -> list[KioskDevice]:
    """The devices of the clerk's facility."""
    user = _require_clerk(actor, actor.user.organisation_id if actor.user else 0)
    return list(session.scalars(select(KioskDevice).where(
        KioskDevice.facility_id == user.organisation_id).order_by(KioskDevice.id)))


def _managed_device(session: Session, actor: Actor, device_id: int) -> KioskDevice:
    device = session.execute(select(KioskDevice).where(KioskDevice.id == device_id)
                             .with_for_update(of=KioskDevice)).scalar_one_or_none()
    if device is None or not can_manage_kiosks(actor.user, device.facility_id):
        raise NotFound(N_("No such kiosk device."))
    return device


def start_kiosk_mode(session: Session, actor: Actor, device_id: int) -> KioskDevice:
    """Put the device in kiosk mode: it shows only the kiosk until a clerk ends it."""
    device = _managed_device(session, actor, device_id)
    if device.kiosk_since is None:
        device.kiosk_since, device.kiosk_by_id = actor.now, actor.user.id
    audit.record(session, actor, "kiosk.mode_start", object_type="kiosk_device",
                 object_id=device.id)
    return device


def end_kiosk_mode(session: Session, actor: Actor, device_id: int) -> KioskDevice:
    """End kiosk mode on the device, and every kiosk session open on it."""
    device = _managed_device(session, actor, device_id)
    device.kiosk_since, device.kiosk_by_id = None, None
    ended = session.execute(update(UserSession).where(
        UserSession.kiosk_device_id == device.id, UserSession.ended_at.is_(None))
        .values(ended_at=actor.now, end_reason="kiosk_end")).rowcount
    audit.record(session, actor, "kiosk.mode_end", object_type="kiosk_device",
                 object_id=device.id, details={"sessions": ended})
    return device


# --- PINs ----------------------------------------------------------------------------------


def _kiosk_account(session: Session, actor: Actor, person: Person, facility_id: int) -> User:
    """The person's kiosk account (made the first time): it has no password anyone knows and
    signs in only at a kiosk, with its PIN."""
    user = session.execute(select(User).join(UserRole).where(
        User.person_id == person.id, UserRole.role == Role.DETAINEE)).unique().scalars().first()
    if user is None:
        user = User(username=f"kiosk.{person.id}", full_name=person.full_name,
                    organisation_id=facility_id,
                    password_hash=hashing.hash_password(secrets.token_urlsafe(32)),
                    person_id=person.id, role_rows=[UserRole(role=Role.DETAINEE)])
        session.add(user)
        session.flush()
        audit.record(session, actor, "kiosk.account_create", object_type="user",
                     object_id=user.id, person_id=person.id)
    user.organisation_id = facility_id  # where the person is held now
    return user


def issue_pin(session: Session, actor: Actor, person_id: int, pin: str | None = None) -> str:
    """A new 6-digit PIN for the person held at the clerk's facility (any earlier PIN stops
    working, a lock is lifted); returns it to be shown once. `pin` is for the demo loader."""
    person = session.get(Person, person_id)
    facility_id = actor.user.organisation_id if actor.user else None
    if actor.user is not None:
        _require_clerk(actor, facility_id)
    elif person is not None:  # the command line (demo): the person's current facility
        facility_id = next((e.facility_id for e in person.episodes if e.end_date is None), None)
    if person is None or facility_id is None or not held_at(session, person.id, facility_id):
        raise NotFound(N_("No such person is held at your facility."))
    if pin is None or actor.user is not None:
        pin = f"{secrets.randbelow(10**6):06d}"
    user = _kiosk_account(session, actor, person, facility_id)
    row = session.get(KioskPin, user.id, with_for_update=True) or KioskPin(user_id=user.id)
    row.pin_hash, row.issued_at = hashing.hash_password(pin), actor.now
    row.issued_by_id = actor.user.id if actor.user else None
    row.failed_tries, row.failed_since, row.locked_at = 0, None, None
    session.add(row)
    audit.record(session, actor, "kiosk.pin_issue", object_type="person", object_id=person.id,
                 person_id=person.id)
    return pin


# --- signing in ----------------------------------------------------------------------------


def _person_by_number(session: Session, number: str) -> Person | None:
    number = (number or "").strip()
    person = person_with_number(session, number)
    if person is not None:
        return person
    if number.isdigit() and len(number) <= 9:
        return session.get(Person, int(number))
    return None


def _kiosk_user(session: Session, person: Person | None) -> tuple[User | None, KioskPin | None]:
    if person is None:
        return None, None
    found = session.execute(select(User, KioskPin).join(KioskPin, KioskPin.user_id == User.id)
                            .where(User.person_id == person.id)
                            .with_for_update(of=KioskPin)).first()
    return (found[0], found[1]) if found else (None, None)


def sign_in(session: Session, actor: Actor, device: KioskDevice | None, number: str,
            pin: str) -> User | None:
    """The person's kiosk account if the device is a kiosk in kiosk mode, the PIN is right and
    not locked, and the person is held at the device's facility; audited either way. Five wrong
    PINs within 15 minutes lock the PIN until a clerk issues a new one."""
    where = Actor(actor.user, actor.ip, actor.now, device.id if device else None)
    person = _person_by_number(session, number)
    user, row = _kiosk_user(session, person)
    well_formed = bool(PIN.fullmatch(pin or ""))
    # Always one hash check, so that an unknown number costs as long as a wrong PIN.
    matches = hashing.verify(row.pin_hash if row else hashing.DUMMY_HASH,
                             pin if well_formed else "") and row is not None and well_formed
    reason = ("no device" if device is None or not device.in_kiosk_mode
              else "unknown" if row is None
              else "locked" if row.locked_at is not None
              else "wrong pin" if not matches
              else "inactive" if not is_live(user)
              else "elsewhere" if not held_at(session, person.id, device.facility_id)
              else None)
    if reason is None:
        row.failed_tries, row.failed_since = 0, None
        user.organisation_id = device.facility_id
        audit.record(session, Actor(user, actor.ip, actor.now, device.id), "kiosk.sign_in",
                     person_id=person.id)
        return user
    audit.record(session, where, "kiosk.sign_in", outcome=Outcome.FAILURE,
                 actor_name=(number or "")[:64], person_id=person.id if row else None,
                 details={"reason": reason})
    if reason == "wrong pin":
        _count_failure(session, where, row, person.id)
    return None


def _count_failure(session: Session, actor: Actor, row: KioskPin, person_id: int) -> None:
    if strike(row, "failed_tries", actor.now):
        audit.record(session, actor, "kiosk.pin_lockout", outcome=Outcome.DENIED,
                     object_type="person", object_id=person_id, person_id=person_id,
                     details={"failures": row.failed_tries})


def check_session(session: Session, actor: Actor, user: User, token: str | None,
                  secret: str | None) -> str | None:
    """None if a kiosk session may go on: this browser is its device, still in kiosk mode, and
    the person is still held at the device's facility; otherwise the session ends, and why."""
    device_id = sessions.kiosk_device_of(session, token)
    device = device_by_secret(session, secret)
    reason = ("other device" if device is None or device.id != device_id
              else "kiosk_end" if not device.in_kiosk_mode
              else "moved" if user.person_id is None
              or not held_at(session, user.person_id, device.facility_id)
              else None)
    if reason is not None:
        sessions.end(session, actor, token, reason)
        audit.record(session, actor, "auth.session_end", object_type="user", object_id=user.id,
                     details={"reason": reason})
    return reason
