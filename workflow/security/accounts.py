"""Accounts: argon2id password hashes, sign-in, password change, and user administration."""

from __future__ import annotations

import datetime as dt
import gzip
import re
from functools import cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.audit import chain as audit
from workflow.audit.chain import Outcome
from workflow.context import Actor
from workflow.documents.enums import Authority
from workflow.enums import Role, Secrecy
from workflow.errors import Conflict, Forbidden, InvalidInput, NotFound
from workflow.i18n import N_
from workflow.models import Organisation, Person, User, UserRole
from workflow.notifications.outbox import clean_address
from workflow.security import passwords as hashing
from workflow.security import sessions
from workflow.security.permissions import Permission, can

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,63}")
MIN_PASSWORD, MAX_PASSWORD = 8, 128
LOCKOUT_FAILURES, LOCKOUT_WINDOW = 5, dt.timedelta(minutes=15)
COMMON_PASSWORDS = Path(__file__).resolve().parent / "data" / "common-passwords.txt.gz"
# What a system account (another body's software, over the API) may hold: it files and follows
# requests, or sends and receives packages; never a role that decides, keeps records or
# manages accounts, since those acts need a person who signed in with two factors.
SYSTEM_ROLES = frozenset({Role.REQUESTER, Role.EXCHANGE})


@cache
def common_passwords() -> frozenset[str]:
    """The 20,000 most common passwords from breach corpora (workflow/data, see its NOTICE)."""
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as listing:
        return frozenset(line.strip() for line in listing if line.strip())


def check_password_policy(password: str) -> None:
    """Raise InvalidInput when a new password is too short, too long, or a common one."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(N_("The password must have at least %(n)s characters."), n=MIN_PASSWORD)
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(N_("The password must have at most %(n)s characters."), n=MAX_PASSWORD)
    if password.strip().lower() in common_passwords():
        raise InvalidInput(N_("This password is on the list of the most common and breached "
                              "passwords; choose another, for example a phrase of several "
                              "words."))


def _password_matches(user: User | None, password: str) -> bool:
    stored = user.password_hash if user else hashing.DUMMY_HASH
    return hashing.verify(stored, password) and bool(user)


def authenticate(session: Session, actor: Actor, username: str, password: str) -> User | None:
    """The user if the credentials are right and the account active and not locked; audited
    either way. Five failures within 15 minutes lock the account until an administrator
    unlocks it; the caller answers every failure the same way."""
    user = session.execute(
        select(User).where(User.username == username.strip().lower())
        .with_for_update(of=User, key_share=True)
    ).scalar_one_or_none()
    matches = _password_matches(user, password)  # always, so every case costs the same
    # A detained person's account signs in only at their facility's kiosk, with a PIN.
    kiosk = user is not None and user.has_role(Role.DETAINEE)
    if (user is None or not matches or not user.active or user.locked_at is not None
            or user.system or kiosk):
        reason = ("locked" if user is not None and user.locked_at is not None
                  else "inactive" if user is not None and not user.active
                  else "system account" if user is not None and user.system and matches
                  else "kiosk account" if kiosk and matches
                  else "bad credentials")
        audit.record(session, actor, "auth.login", outcome=Outcome.FAILURE,
                     actor_name=username[:64], details={"reason": reason})
        if user is not None and user.locked_at is None and not matches:
            count_failure(session, actor, user)
        return None
    # The failures are not cleared here: the second factor is still to come, and a right
    # password must not wipe the wrong codes (clear_failures, once every factor is proven).
    if hashing.needs_rehash(user.password_hash):
        user.password_hash = hashing.hash_password(password)
    # Signing in needs the system-use notice acknowledged (the form checks it): recorded here.
    audit.record(session, Actor(user, actor.ip, actor.now), "auth.login",
                 details={"notice": "acknowledged"})
    return user


def confirm_password(session: Session, actor: Actor, password: str) -> bool:
    """The signed-in user re-enters the password (before a sensitive act); audited. Failures
    count towards the lockout like those at sign-in."""
    user = actor.user
    assert user is not None
    if _password_matches(user, password):
        return True
    audit.record(session, actor, "auth.reauthenticate", outcome=Outcome.FAILURE)
    count_failure(session, actor, user)
    return False


def strike(row, counter: str, now: dt.datetime) -> bool:
    """One more failed proof on `row` (an account, a kiosk PIN) in the lockout window; whether
    this one locks it (`locked_at` set)."""
    if row.failed_since is None or now - row.failed_since > LOCKOUT_WINDOW:
        row.failed_since = now
        setattr(row, counter, 0)
    setattr(row, counter, getattr(row, counter) + 1)
    if getattr(row, counter) >= LOCKOUT_FAILURES:
        row.locked_at = now
        return True
    return False


def count_failure(session: Session, actor: Actor, user: User) -> None:
    """One more failed proof of identity (password or code) towards the lockout: five of any
    kind within 15 minutes lock the account."""
    if strike(user, "failed_logins", actor.now):
        audit.record(session, actor, "auth.lockout", outcome=Outcome.DENIED,
                     actor_name=user.username, object_type="user", object_id=user.id,
                     details={"failures": user.failed_logins})
        sessions.end_all(session, actor, user.id, "locked")  # a signed-in guesser too


def clear_failures(user: User) -> None:
    """Every factor proven (password and code): the failed attempts are forgotten."""
    user.failed_logins, user.failed_since = 0, None


def can_manage_account(actor: User | None, target: User) -> bool:
    """Whether the actor may change the target account (roles, clearance, status, second
    factor, tokens): an administrator, never on its own account; None is the command line."""
    if actor is None:
        return True
    return can(actor, Permission.MANAGE_USERS) and actor.id != target.id


def check_roles(roles: set[Role], *, system: bool) -> None:
    """Raise InvalidInput unless the roles may be held together by one account (least
    privilege: an administrator is nothing else, a detainee nothing else, a system account
    only SYSTEM_ROLES, and only a system account exchanges data)."""
    if not roles:
        raise InvalidInput(N_("Give the account at least one role."))
    if Role.ADMIN in roles and roles != {Role.ADMIN}:
        raise InvalidInput(N_("An administrator account holds no other role: administrators "
                              "manage accounts and do not work with records."))
    if Role.DETAINEE in roles and roles != {Role.DETAINEE}:
        raise InvalidInput(N_("A detainee account holds no other role."))
    if system and not roles <= SYSTEM_ROLES:
        raise InvalidInput(N_("A system account may only file requests or exchange data."))
    if not system and Role.EXCHANGE in roles:
        raise InvalidInput(N_("Only a system account exchanges data."))


def check_outside_account(org: Organisation, roles: set[Role], clearance: Secrecy,
                          system: bool) -> None:
    """An account of an organisation or person outside the state (Art. 12 §3b) only files
    requests, as a person, and holds no clearance: state secrets are not provided to them."""
    if not org.kind.is_non_state:
        return
    if roles != {Role.REQUESTER} or system:
        raise InvalidInput(N_("An organisation or person outside the state only files "
                              "requests."))
    if clearance is not Secrecy.NONE:
        raise InvalidInput(N_("An organisation or person outside the state holds no "
                              "clearance for state secrets."))


def _account(session: Session, actor: Actor, user_id: int) -> User:
    if not can(actor.user, Permission.MANAGE_USERS):
        raise Forbidden(N_("You may not manage accounts."))
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(N_("No such account."))
    return user


def view_user(session: Session, actor: Actor, user_id: int) -> User:
    """An account as an administrator reads it (audited; 403 for others, 404 if none)."""
    user = _account(session, actor, user_id)
    audit.record(session, actor, "admin.user_view", object_type="user", object_id=user.id)
    return user


def managed_user(session: Session, actor: Actor, user_id: int) -> User:
    """An account the acting administrator is about to change (403 for others and for one's
    own account, 404 if none)."""
    user = _account(session, actor, user_id)
    if not can_manage_account(actor.user, user):
        raise Forbidden(N_("No account may change its own roles, clearance, status or second "
                           "factor: ask another administrator."))
    return user


def unlock(session: Session, actor: Actor, user_id: int) -> User:
    """An administrator lets a locked account sign in again."""
    user = managed_user(session, actor, user_id)
    if user.locked_at is None:
        raise Conflict(N_("The account is not locked."))
    audit.record(session, actor, "admin.unlock", object_type="user", object_id=user.id,
                 details={"locked_at": user.locked_at.isoformat()})
    user.locked_at, user.failed_logins, user.failed_since = None, 0, None
    return user


def change_password(session: Session, actor: Actor, current: str, new: str) -> None:
    """Change the acting user's own password after checking the current one."""
    user = actor.user
    assert user is not None
    if not _password_matches(user, current):
        raise InvalidInput(N_("The current password is wrong."))
    check_password_policy(new)
    user.password_hash = hashing.hash_password(new)
    user.password_changed_at = actor.now
    audit.record(session, actor, "auth.password_change", object_type="user", object_id=user.id)


def create_user(
    session: Session,
    actor: Actor,
    *,
    username: str,
    full_name: str,
    organisation_id: int,
    roles: set[Role],
    password: str,
    clearance: Secrecy = Secrecy.NONE,
    person_id: int | None = None,
    system: bool = False,
    email: str | None = None,
) -> User:
    """Create an account (with the address its mail goes to); only administrators (or the
    command line, with no user) may."""
    if actor.user is not None and not can(actor.user, Permission.MANAGE_USERS):
        raise Forbidden(N_("You may not manage accounts."))
    return add_account(session, actor, username=username, full_name=full_name,
                       organisation_id=organisation_id, roles=roles, password=password,
                       clearance=clearance, person_id=person_id, system=system, email=email)


def add_account(
    session: Session,
    actor: Actor,
    *,
    username: str,
    full_name: str,
    organisation_id: int,
    roles: set[Role],
    password: str,
    clearance: Secrecy = Secrecy.NONE,
    person_id: int | None = None,
    system: bool = False,
    email: str | None = None,
) -> User:
    """Create an account once the caller has decided the actor may (`create_user`, or a clerk
    registering a requester outside the state); checked and audited like any other."""
    username = username.strip().lower()
    if not USERNAME.fullmatch(username):
        raise InvalidInput(
            N_("A username has 3 to 64 lower-case letters, digits, dots, dashes or underscores.")
        )
    check_roles(roles, system=system)
    if session.execute(select(User.id).where(User.username == username)).first():
        raise Conflict(N_("The username %(name)s is taken."), name=username)
    org = session.get(Organisation, organisation_id)
    if org is None:
        raise NotFound(N_("Unknown organisation."))
    check_outside_account(org, roles, clearance, system)
    if Role.DETAINEE in roles and (person_id is None or session.get(Person, person_id) is None):
        raise InvalidInput(N_("A detainee account must be linked to a person."))
    check_password_policy(password)
    user = User(
        username=username,
        full_name=full_name.strip(),
        email=clean_address(email),
        organisation_id=organisation_id,
        password_hash=hashing.hash_password(password),
        clearance=clearance,
        system=system,
        person_id=person_id if Role.DETAINEE in roles else None,
        role_rows=[UserRole(role=r) for r in sorted(roles)],
    )
    session.add(user)
    session.flush()
    audit.record(session, actor, "admin.user_create", object_type="user", object_id=user.id,
                 details={"username": username, "roles": sorted(roles),
                          "organisation_id": organisation_id, "clearance": clearance.value,
                          "system": system})
    return user


def update_user(
    session: Session, actor: Actor, user_id: int, *, roles: set[Role], active: bool,
    clearance: Secrecy, signing: tuple[str | None, Authority | None] | None = None,
    email: str | None = None,
) -> User:
    """Change another account's roles, clearance, whether it may sign in, (`signing`: the
    position and the authority it signs with) how it signs documents, or (`email`, blank to
    remove it) where its mail goes (administrators only); audited with the values before and
    after."""
    user = managed_user(session, actor, user_id)
    check_roles(roles, system=user.system)
    if (Role.ADMIN in roles) != (Role.ADMIN in user.roles):
        raise InvalidInput(N_("An account stays an administrator's or an operational one: "
                              "create a separate account instead."))
    if Role.DETAINEE in roles and user.person_id is None:
        raise InvalidInput(N_("A detainee account must be linked to a person."))
    check_outside_account(user.organisation, roles, clearance, user.system)
    before = {"roles": sorted(user.roles), "active": user.active, "clearance": user.clearance.value}
    signed_before = {"position": user.position, "signs_as": user.signs_as, "email": user.email}
    if user.active and not active:
        sessions.end_all(session, actor, user.id, "disabled")
    user.role_rows = [UserRole(role=r) for r in sorted(roles)]
    user.active, user.clearance = active, clearance
    if signing is not None:
        position, user.signs_as = signing
        user.position = (position or "").strip()[:120] or None
    if email is not None:
        user.email = clean_address(email)
    after = {"roles": sorted(roles), "active": active, "clearance": clearance.value}
    signed_after = {"position": user.position, "signs_as": user.signs_as, "email": user.email}
    if signed_after != signed_before:  # how it signs and its mail told only when they changed
        before, after = before | signed_before, after | signed_after
    audit.record(session, actor, "admin.user_update", object_type="user", object_id=user.id,
                 details={"before": before, "after": after})
    return user
