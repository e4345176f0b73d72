"""What is owed by mail: each notification of a user who has an address and wants its topic
becomes an outbox row in the same transaction (rolled back with it), and users' preferences."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.audit import chain as audit
from workflow.context import Actor
from workflow.enums import Role
from workflow.errors import Forbidden, InvalidInput
from workflow.i18n import N_
from workflow.models import AccessRequest, MailOutbox, MailPreference, User
from workflow.notifications.enums import MailDelivery, MailTopic
from workflow.notifications.kinds import topic_of

# An address a mail server takes: one @, a dotted domain, no spaces or angle brackets (which
# would let a header be written into the message).
ADDRESS = re.compile(r"[^@\s<>,;\"]{1,64}@[A-Za-z0-9.-]{1,185}\.[A-Za-z]{2,63}")
DEFAULT = MailDelivery.IMMEDIATE


def clean_address(value: str | None) -> str | None:
    """The address as stored (None when blank); InvalidInput when it is not one."""
    value = (value or "").strip()
    if not value:
        return None
    if not ADDRESS.fullmatch(value):
        raise InvalidInput(N_("%(value)s is not an e-mail address."), value=value)
    return value


def can_choose_mail(user: User | None) -> bool:
    """Whether the user may choose how mail reaches them: a person's own active account (a
    system account or a detained person's kiosk account is told nothing by mail)."""
    return (user is not None and user.active and not user.system
            and Role.DETAINEE not in user.roles)


def preferences(session: Session, user: User) -> dict[MailTopic, MailDelivery]:
    """How the user takes each topic (the default where they chose nothing)."""
    chosen = {row.topic: row.delivery for row in session.execute(
        select(MailPreference.topic, MailPreference.delivery).where(
            MailPreference.user_id == user.id))}
    return {topic: chosen.get(topic, DEFAULT) for topic in MailTopic}


def set_preferences(session: Session, actor: Actor,
                    choices: dict[MailTopic, MailDelivery]) -> dict[MailTopic, MailDelivery]:
    """Record how the acting user takes each topic's mail (audited with what changed)."""
    user = actor.user
    if not can_choose_mail(user):
        raise Forbidden(N_("This account receives no mail."))
    assert user is not None
    before = preferences(session, user)
    changed = {t: d for t, d in choices.items() if before[t] is not d}
    for topic, delivery in changed.items():
        row = session.get(MailPreference, (user.id, topic))
        if row is None:
            session.add(MailPreference(user_id=user.id, topic=topic, delivery=delivery,
                                       changed_at=actor.now))
        else:
            row.delivery, row.changed_at = delivery, actor.now
    if changed:
        audit.record(session, actor, "mail.preferences", object_type="user", object_id=user.id,
                     details={t.value: d.value for t, d in changed.items()})
    session.flush()
    return before | changed


def owe_mail(session: Session, user_id: int, request: AccessRequest, kind: str) -> None:
    """Queue the mail of a notification, as the user wants it (nothing without an address)."""
    user = session.get(User, user_id)
    if user is None or not user.email or not can_choose_mail(user):
        return
    row = session.get(MailPreference, (user_id, topic_of(kind)))
    delivery = row.delivery if row is not None else DEFAULT
    if delivery is not MailDelivery.NONE:
        session.add(MailOutbox(user_id=user_id, request=request, kind=kind, delivery=delivery))
