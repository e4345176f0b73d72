"""Who may do what: role permissions as data, and `can_<verb>` checks as pure functions."""

from __future__ import annotations

import enum

from workflow.enums import Role, Secrecy
from workflow.errors import Forbidden
from workflow.i18n import N_
from workflow.models import User


class Permission(enum.StrEnum):
    """Things a role lets a user do; scope checks come on top."""

    SEARCH_RECORDS = "search_records"
    READ_RECORDS = "read_records"
    WRITE_RECORDS = "write_records"
    READ_AUDIT = "read_audit"
    MANAGE_USERS = "manage_users"
    READ_OWN_RECORD = "read_own_record"
    READ_STATISTICS = "read_statistics"
    EXCHANGE_DATA = "exchange_data"
    FILE_REPORTS = "file_reports"
    REVIEW_REPORTS = "review_reports"


P = Permission
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    # Bodies that keep the database use the data in their own scope (Art. 12 §3a).
    Role.REQUESTER: frozenset({P.SEARCH_RECORDS, P.READ_RECORDS}),
    Role.APPROVER: frozenset({P.SEARCH_RECORDS, P.READ_RECORDS}),
    # Consent officers decide on requests; they read records only through requests.
    Role.CONSENT_OFFICER: frozenset(),
    Role.CLERK: frozenset({P.SEARCH_RECORDS, P.READ_RECORDS, P.WRITE_RECORDS, P.FILE_REPORTS}),
    Role.INSPECTOR: frozenset({P.READ_AUDIT}),
    # Administrators manage accounts, not records: least privilege.
    Role.ADMIN: frozenset({P.MANAGE_USERS}),
    Role.DETAINEE: frozenset({P.READ_OWN_RECORD}),
    # Heads of bodies see figures of their scope (Art. 9 §1), never a person's record.
    Role.MANAGER: frozenset({P.READ_STATISTICS, P.REVIEW_REPORTS}),
    # The system account that sends and receives packages and runs agreed feeds (Art. 13).
    Role.EXCHANGE: frozenset({P.EXCHANGE_DATA}),
}
RECORD_PERMISSIONS = frozenset({P.SEARCH_RECORDS, P.READ_RECORDS, P.WRITE_RECORDS})


def permissions(user: User) -> frozenset[Permission]:
    """Everything the user's roles allow."""
    granted: set[Permission] = set()
    for role in user.roles:
        granted |= ROLE_PERMISSIONS[role]
    if user.organisation.kind.is_non_state:
        # Outside the state, nobody keeps the database: requests are their only way in.
        granted -= RECORD_PERMISSIONS
    return frozenset(granted)


def is_live(user: User | None) -> bool:
    """Whether the account may act at all: active and not locked (a disabled or locked account
    passes no gate, whatever surface it comes from: page, token, command line or a direct
    call)."""
    return user is not None and user.active and user.locked_at is None


def can(user: User | None, permission: Permission) -> bool:
    """Whether a live user holds the permission through any role."""
    return is_live(user) and permission in permissions(user)


def can_see_secret(user: User, level: Secrecy) -> bool:
    """Whether the user's clearance reaches the document's secrecy level."""
    return user.clearance.rank >= level.rank


def require(user: User | None, permission: Permission) -> User:
    """The user, if they hold the permission; Forbidden otherwise."""
    if user is None or not can(user, permission):
        raise Forbidden(N_("Your role does not allow this."))
    return user
