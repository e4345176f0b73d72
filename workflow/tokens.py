"""Issuing, checking and revoking API tokens."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow import audit
from workflow.context import Actor
from workflow.errors import InvalidInput
from workflow.i18n import N_
from workflow.models import User
from workflow.models.tokens import ApiToken


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(session: Session, actor: Actor, user: User, name: str) -> str:
    """A new token for the user; only its hash is stored, so this is the only time it is seen."""
    name = name.strip()
    if not name or len(name) > 64:
        raise InvalidInput(N_("Name the token (at most 64 characters)."))
    token = "cst_" + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name, token_hash=_digest(token))
    session.add(row)
    session.flush()
    audit.record(session, actor, "admin.token_issue", object_type="token", object_id=row.id,
                 details={"user": user.username, "name": name})
    return token


def user_for(session: Session, token: str, actor: Actor) -> User | None:
    """The active user a live token acts as, or None."""
    if not token.startswith("cst_") or len(token) > 100:
        return None
    row = session.execute(select(ApiToken).where(ApiToken.token_hash == _digest(token))
                          ).scalar_one_or_none()
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    row.last_used_at = actor.now
    return row.user


def revoke(session: Session, actor: Actor, token_id: int) -> None:
    """Revoke a token (audited)."""
    row = session.get(ApiToken, token_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = actor.now
        audit.record(session, actor, "admin.token_revoke", object_type="token", object_id=row.id)
