"""Queries tests use to find demo objects."""

from __future__ import annotations

import pytest
from sqlalchemy import Integer, func, inspect, select, text

from workflow.documents.enums import Authority
from workflow.models import (
    ApiToken,
    AuditEntry,
    CustodyEpisode,
    Organisation,
    Person,
    RecordVersion,
    User,
)


def org(db, code: str) -> Organisation:
    """An organisation by code."""
    return db.execute(select(Organisation).where(Organisation.code == code)).scalar_one()


def person_at(db, code: str, *, only_there: bool = True, skip_kiosk: bool = False) -> Person:
    """A person with an episode at the facility (and, by default, at no other facility);
    `skip_kiosk` passes over persons who have a detainee account."""
    facility = org(db, code)
    kiosk = set(db.execute(select(User.person_id).where(User.person_id.is_not(None))).scalars())
    for person in db.execute(
        select(Person).join(CustodyEpisode).where(CustodyEpisode.facility_id == facility.id)
        .order_by(Person.id)
    ).scalars():
        if skip_kiosk and person.id in kiosk:
            continue
        if not only_there or {e.facility_id for e in person.episodes} == {facility.id}:
            return person
    raise LookupError(code)


def count(db, model) -> int:
    """Rows in a table."""
    return db.scalar(select(func.count()).select_from(model))


def last_audit(db, action: str | None = None) -> AuditEntry:
    """The newest audit entry (of an action)."""
    stmt = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    return db.execute(stmt).scalar_one()


def versions_of(db, record_type: str, record_id: int) -> list[RecordVersion]:
    """All kept versions of a record, oldest first."""
    return list(db.execute(
        select(RecordVersion).where(RecordVersion.record_type == record_type,
                                    RecordVersion.record_id == record_id)
        .order_by(RecordVersion.version)).scalars())


def demo_secret(username: str) -> str:
    """The TOTP secret the test databases give each demo account (tests only)."""
    import base64
    import hashlib

    return base64.b32encode(hashlib.sha256(f"totp:{username}".encode()).digest()[:20]).decode()


def record_signing(user: User, position: str = "Trưởng phòng",
                   authority: Authority = Authority.BY_ORDER) -> User:
    """Record the account's position and signing authority, as an administrator does for every
    official who decides (policy.signing_refusal)."""
    user.position, user.signs_as = position, authority
    return user


def enrol_everyone(session, key_material: str) -> None:
    """Give every account its test TOTP secret, as if each had enrolled."""
    from workflow.context import SYSTEM
    from workflow.security import mfa

    fernet = mfa.cipher(key_material)
    for user in session.execute(select(User)).unique().scalars():
        mfa.install(session, user, demo_secret(user.username), fernet, SYSTEM.now)


def code_for(session, username: str) -> str:
    """A code of the account's authenticator that the server has not accepted yet: the current
    step, or the next when the current one was used (the server accepts one step either side
    of its clock). A third sign-in within one step would have to wait up to 30 s for the next
    one; the account's last used step is moved back instead, which is what that wait does (the
    refusal of a used code is tested in tests/security/test_mfa.py)."""
    import time

    import pyotp

    from workflow.security.mfa import STEP

    user = session.execute(select(User).where(User.username == username)).scalar_one()
    now = int(time.time()) // STEP
    last = user.totp_last_step or 0
    if last > now:
        user.totp_last_step = now - 1
        session.commit()
        last = now - 1
    return pyotp.TOTP(demo_secret(username)).at(max(now, last + 1) * STEP)


def version_of(db, request_id: int) -> int:
    """The version of a request as a page or the API shows it now (decisions send it back)."""
    from workflow.models import AccessRequest

    db.expire_all()
    return db.get(AccessRequest, request_id).version


def system_token(app, username: str = "system.vks", org_code: str = "VKS-HANOI",
                 role: str = "requester", days: int = 90) -> dict[str, str]:
    """The bearer header of a new token of a system account (created the first time): API
    tokens act as system accounts only, e.g. an outside body's software filing requests."""
    from workflow.context import SYSTEM
    from workflow.enums import Role
    from workflow.security import accounts, tokens

    with app.extensions["custody_sessions"]() as session:
        user = session.scalars(select(User).where(User.username == username)).one_or_none()
        if user is None:
            user = accounts.create_user(
                session, SYSTEM, username=username, full_name=f"Hệ thống {org_code}",
                organisation_id=org(session, org_code).id, roles={Role(role)},
                password="hệ thống không đăng nhập", system=True)
        _row, token = tokens.issue(session, SYSTEM, user, "test", days)
        session.commit()
    return {"Authorization": f"Bearer {token}"}


def db_state(db) -> dict[str, tuple]:
    """Every table's row count and, where rows have versions, their sum, and every account's
    status and lock and every token's expiry and revocation: what an attack must not change.
    Audit entries, sessions and notifications are the refusal's own traces."""
    db.expire_all()
    skip = {"audit_entry", "audit_head", "audit_checkpoint", "user_session", "alembic_version",
            "notification"}
    state = {}
    for table in inspect(db.get_bind()).get_table_names():
        if table in skip:
            continue
        numbers = {c["name"] for c in inspect(db.get_bind()).get_columns(table)
                   if isinstance(c["type"], Integer)}
        sums = ", ".join(f"coalesce(sum({c}), 0)" for c in ("version", "downloads")
                         if c in numbers)
        row = db.execute(text(f"SELECT count(*){', ' + sums if sums else ''} FROM {table}"))
        state[table] = tuple(row.one())
    users = db.execute(select(User.username, User.clearance, User.active, User.locked_at)
                       .order_by(User.id)).all()
    state["user_rows"] = tuple(tuple(map(str, u)) for u in users)
    tokens = db.execute(select(ApiToken.id, ApiToken.expires_at, ApiToken.revoked_at)
                        .order_by(ApiToken.id)).all()
    state["token_rows"] = tuple(tuple(map(str, t)) for t in tokens)
    return state


def register_kiosk(app, clerk: str = "clerk.hanoi", *, start: bool = True) -> tuple[int, str]:
    """A kiosk device of the clerk's facility (in kiosk mode unless `start` is False): its id
    and the secret its browser's cookie holds."""
    from workflow.context import Actor
    from workflow.security import kiosk

    with app.extensions["custody_sessions"]() as session:
        user = session.execute(select(User).where(User.username == clerk)).unique().scalar_one()
        device, secret = kiosk.register_device(session, Actor(user), "Máy tra cứu thử")
        if start:
            kiosk.start_kiosk_mode(session, Actor(user), device.id)
        session.commit()
        return device.id, secret


def kiosk_person(db, username: str = "detainee.demo") -> int:
    """The person a kiosk account belongs to."""
    return db.execute(select(User.person_id).where(User.username == username)).scalar_one()


# What a browser test checks is what people see and click; the back-ends differ below that, and
# the request flow and the extract download run on both (the suite's time: tests/browser).
SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
