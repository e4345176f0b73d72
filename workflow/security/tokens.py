"""API tokens of system accounts: issued for a limited time, refused once expired or revoked or
when the account is disabled or locked, and every use audited with the token's name.

A token acts as a system account only (another body's software: see accounts.SYSTEM_ROLES), never
as a person: a person signs in with two factors, and the decisions need a fresh sign-in that no
token can give."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.audit import chain as audit
from workflow.audit.chain import Outcome
from workflow.context import Actor
from workflow.errors import Conflict, Forbidden, InvalidInput, NotFound
from workflow.i18n import N_
from workflow.models import User
from workflow.models.tokens import ApiToken
from workflow.security import accounts

DEFAULT_DAYS, MAX_DAYS = 90, 366


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def can_hold_token(user: User) -> bool:
    """Whether a token may act as the account: an active, unlocked system account."""
    return user.system and user.active and user.locked_at is None


def issue(session: Session, actor: Actor, user: User, name: str,
          days: int = DEFAULT_DAYS) -> tuple[ApiToken, str]:
    """A new token for a system account, valid for `days`; only its hash is stored, so this is
    the only time the token is seen."""
    if not accounts.can_manage_account(actor.user, user):
        raise Forbidden(N_("You may not manage accounts."))
    if not user.system:
        raise InvalidInput(N_("API tokens are issued only for system accounts: a person signs "
                              "in with the password and the second factor."))
    if not can_hold_token(user):
        raise Conflict(N_("The account is disabled or locked: it gets no token."))
    name = name.strip()
    if not name or len(name) > 64:
        raise InvalidInput(N_("Name the token (at most 64 characters)."))
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(N_("A token lives from 1 to %(n)s days."), n=MAX_DAYS)
    token = "cst_" + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name, token_hash=_digest(token), created_at=actor.now,
                   expires_at=actor.now + dt.timedelta(days=days))
    session.add(row)
    session.flush()
    audit.record(session, actor, "admin.token_issue", object_type="token", object_id=row.id,
                 details={"user": user.username, "name": name,
                          "expires_at": row.expires_at.isoformat()})
    return row, token


def refusal(row: ApiToken | None, now: dt.datetime) -> str | None:
    """Why the token may not act now, or None when it may."""
    if row is None:
        return "unknown"
    if row.revoked_at is not None:
        return "revoked"
    if now >= row.expires_at:
        return "expired"
    if not row.user.system:
        return "not a system account"
    if not row.user.active:
        return "account disabled"
    if row.user.locked_at is not None:
        return "account locked"
    return None


def check(session: Session, token: str, now: dt.datetime) -> tuple[ApiToken | None, str | None]:
    """The token row a presented bearer token names (if any) and why it may not act (None:
    it may)."""
    if not token:
        return None, "missing"
    if not token.startswith("cst_") or len(token) > 100:
        return None, "unknown"
    row = session.execute(select(ApiToken).where(ApiToken.token_hash == _digest(token))
                          ).scalar_one_or_none()
    return row, refusal(row, now)


def record_use(session: Session, actor: Actor, row: ApiToken | None, refused: str | None,
               details: dict[str, object]) -> None:
    """The one audit entry of an API request made with a token: which token (id and name),
    and why it was refused if it was."""
    if row is not None:
        details = {"name": row.name, **details}
        if refused is None:
            row.last_used_at = actor.now
    if refused is not None:
        details = {"reason": refused, **details}
    audit.record(session, actor, "api.token",
                 outcome=Outcome.SUCCESS if refused is None else Outcome.FAILURE,
                 actor_name=row.user.username if row is not None else None,
                 object_type="token", object_id=row.id if row is not None else None,
                 details=details)


def tokens_of(session: Session, user_id: int) -> list[ApiToken]:
    """An account's tokens, newest first (for an administrator who may read the account)."""
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user_id)
                                .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def revoke(session: Session, actor: Actor, token_id: int, user_id: int | None = None) -> ApiToken:
    """Revoke a token at once (audited); `user_id` is the account the page showed it under."""
    row = session.get(ApiToken, token_id)
    if row is None or (user_id is not None and row.user_id != user_id):
        raise NotFound(N_("No such token."))
    if not accounts.can_manage_account(actor.user, row.user):
        raise Forbidden(N_("You may not manage accounts."))
    if row.revoked_at is not None:
        raise Conflict(N_("The token was already revoked."))
    row.revoked_at = actor.now
    audit.record(session, actor, "admin.token_revoke", object_type="token", object_id=row.id,
                 details={"user": row.user.username, "name": row.name})
    return row
