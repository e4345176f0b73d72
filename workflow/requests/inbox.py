"""Notifications of requests: who is told what, the inbox, and marking it read."""

from __future__ import annotations

from sqlalchemy import ColumnElement, ScalarSelect, event, func, select
from sqlalchemy.orm import Session, object_session, selectinload

from workflow.audit import chain as audit
from workflow.context import Actor
from workflow.enums import Role
from workflow.models import (
    AccessRequest,
    Notification,
    User,
    UserRole,
)
from workflow.notifications.outbox import owe_mail

# --- inbox ---------------------------------------------------------------------------------


def notify(session: Session, user_id: int, request: AccessRequest, kind: str) -> None:
    """Tell the user in the inbox and, as they chose, by mail (sent once this commits)."""
    session.add(Notification(user_id=user_id, request=request, kind=kind))
    owe_mail(session, user_id, request, kind)


def notify_org(session: Session, org_id: int, request: AccessRequest, kind: str,
                role: Role) -> None:
    """Tell every active user of the body holding the role."""
    # The accounts with their roles in two statements: the mail owed to each reads them from
    # the session instead of loading them one by one (a body may have dozens of approvers).
    users = session.scalars(select(User).join(UserRole).where(
        User.organisation_id == org_id, User.active.is_(True), UserRole.role == role)
        .options(selectinload(User.role_rows))).all()
    for user in users:
        notify(session, user.id, request, kind)


def inbox(session: Session, actor: Actor, limit: int = 100) -> list[Notification]:
    """The user's notifications, unread first, newest first (the read is audited: the
    notifications name requests and persons)."""
    assert actor.user is not None
    items = list(session.execute(
        select(Notification).where(Notification.user_id == actor.user.id)
        .order_by(Notification.read_at.is_not(None), Notification.id.desc()).limit(limit)
    ).scalars())
    audit.record(session, actor, "request.inbox", details={"count": len(items)})
    return items


def unread_count(session: Session, user: User) -> int:
    """How many notifications the user has not read."""
    known = session.info.get(_UNREAD)
    if known is not None and known[0] == user.id:
        return known[1]
    return session.scalar(select(unread_column(user.id))) or 0


def unread_column(user_id: int | ColumnElement[int]) -> ScalarSelect[int]:
    """The number of the user's unread notifications, as a column of another query."""
    return select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)).scalar_subquery()


def remember_unread(session: Session, user_id: int, count: int) -> None:
    """The count read with the user at the start of a request (`unread_column`), for the
    page's badge: told again only if this transaction adds or reads notifications."""
    session.info[_UNREAD] = (user_id, count)


_UNREAD = "inbox.unread"


@event.listens_for(Session, "after_attach")
def _notification_added(session: Session, instance: object) -> None:
    if isinstance(instance, Notification):
        session.info.pop(_UNREAD, None)


@event.listens_for(Notification.read_at, "set")
def _notification_read(target: Notification, *_args) -> None:
    session = object_session(target)
    if session is not None:
        session.info.pop(_UNREAD, None)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _transaction_ended(session: Session, *_args) -> None:
    session.info.pop(_UNREAD, None)  # other transactions may change it from here on


def mark_read(session: Session, actor: Actor) -> int:
    """Mark all of the user's notifications read; returns how many."""
    assert actor.user is not None
    items = session.execute(select(Notification).where(
        Notification.user_id == actor.user.id, Notification.read_at.is_(None))).scalars().all()
    for item in items:
        item.read_at = actor.now
    return len(items)
