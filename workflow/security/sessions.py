"""Server-side session records: begun at sign-in, checked on every request, ended by sign-out,
password change, account disablement, 30 minutes idle or 12 hours of age."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from workflow.audit import chain as audit
from workflow.context import Actor
from workflow.models import User
from workflow.models.sessions import UserSession
from workflow.requests.inbox import remember_unread, unread_column


@dataclass(frozen=True)
class SessionRules:
    """How long a session may idle and live, and how fresh a sign-in sensitive acts need."""

    idle: dt.timedelta = dt.timedelta(minutes=30)
    absolute: dt.timedelta = dt.timedelta(hours=12)
    fresh: dt.timedelta = dt.timedelta(minutes=30)
    # A detained person at a kiosk walks away: their session ends sooner.
    kiosk_idle: dt.timedelta = dt.timedelta(minutes=10)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def begin(session: Session, actor: Actor, user: User, kiosk_device_id: int | None = None) -> str:
    """Record a new sign-in (at a kiosk device, when given); returns the token for the
    browser's session."""
    token = secrets.token_urlsafe(32)
    session.add(UserSession(token_hash=_hash(token), user_id=user.id, created_at=actor.now,
                            last_seen_at=actor.now, authenticated_at=actor.now,
                            ip=(actor.ip or "")[:64], kiosk_device_id=kiosk_device_id))
    return token


def kiosk_device_of(session: Session, token: str | None) -> int | None:
    """The kiosk device this browser's session was begun at (None for an official's)."""
    row = session.get(UserSession, _hash(token)) if token else None
    return row.kiosk_device_id if row is not None else None


def load_signed_in(session: Session, user_id: int, token: str | None) -> User | None:
    """The user with their roles, this browser's session record (so `check` reads it from the
    identity map) and how many notifications they have not read (the badge of every page): one
    query on every request instead of three."""
    found = session.execute(
        select(User, UserSession, unread_column(User.id)).options(joinedload(User.role_rows))
        .outerjoin(UserSession, (UserSession.user_id == User.id)
                   & (UserSession.token_hash == _hash(token or "")))
        .where(User.id == user_id)).unique().first()
    if found is None:
        return None
    # The identity map holds objects weakly: keep the record for this transaction.
    session.info["sessions.current"] = found[1]
    remember_unread(session, user_id, found[2])
    return found[0]


def check(session: Session, actor: Actor, user: User, token: str | None,
          rules: SessionRules) -> str | None:
    """None if the session may go on (and mark it seen); otherwise why it ended."""
    row = session.get(UserSession, _hash(token)) if token else None
    if row is None or row.user_id != user.id:
        return "unknown"
    if row.ended_at is not None:
        return row.end_reason or "ended"
    idle = rules.kiosk_idle if row.kiosk_device_id is not None else rules.idle
    reason = ("expired" if actor.now - row.created_at > rules.absolute
              else "idle" if actor.now - row.last_seen_at > idle else None)
    if reason:
        _end(session, actor, row, reason)
        return reason
    if actor.now - row.last_seen_at > dt.timedelta(seconds=30):
        row.last_seen_at = actor.now  # at most one write a half-minute per session
    return None


def _end(session: Session, actor: Actor, row: UserSession, reason: str) -> None:
    row.ended_at, row.end_reason = actor.now, reason
    audit.record(session, actor, "auth.session_end", object_type="user",
                 object_id=row.user_id, details={"reason": reason})


def end(session: Session, actor: Actor, token: str | None, reason: str = "logout") -> None:
    """End this browser's session (the caller audits the sign-out itself)."""
    row = session.get(UserSession, _hash(token)) if token else None
    if row is not None and row.ended_at is None:
        row.ended_at, row.end_reason = actor.now, reason


def end_all(session: Session, actor: Actor, user_id: int, reason: str,
            keep: str | None = None) -> int:
    """End every open session of a user (but `keep`, the current one); returns how many."""
    query = (update(UserSession)
             .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
             .values(ended_at=actor.now, end_reason=reason))
    if keep:
        query = query.where(UserSession.token_hash != _hash(keep))
    count = session.execute(query).rowcount
    if count:
        audit.record(session, actor, "auth.session_end", object_type="user", object_id=user_id,
                     details={"reason": reason, "sessions": count})
    return count


def is_fresh(session: Session, actor: Actor, token: str | None, rules: SessionRules) -> bool:
    """Whether the user proved who they are within the freshness window."""
    row = session.get(UserSession, _hash(token)) if token else None
    return row is not None and actor.now - row.authenticated_at <= rules.fresh


def refresh(session: Session, actor: Actor, token: str | None) -> None:
    """The user has just proved who they are again."""
    row = session.get(UserSession, _hash(token)) if token else None
    if row is not None:
        row.authenticated_at = actor.now
        audit.record(session, actor, "auth.reauthenticate")


def open_sessions(session: Session, user_id: int) -> list[UserSession]:
    """A user's sessions not ended (some may be idle past the limit until next checked)."""
    return list(session.scalars(select(UserSession).where(
        UserSession.user_id == user_id, UserSession.ended_at.is_(None))))
