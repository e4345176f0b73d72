"""Registering a body's webhooks: the address its system is told at and the secret each
delivery is signed with, by the body's own service account or an administrator."""

from __future__ import annotations

import ipaddress
import secrets
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from workflow.audit import chain as audit
from workflow.context import Actor
from workflow.errors import Conflict, Forbidden, InvalidInput, NotFound
from workflow.i18n import N_
from workflow.models import Organisation, Webhook, WebhookOutbox
from workflow.requests.policy import can_manage_webhooks

MIN_SECRET = 32  # characters: at least 190 bits of a generated secret's alphabet
MAX_ACTIVE = 5  # a body's addresses at once: each change is sent to every one


def clean_url(url: str, http_hosts: frozenset[str] = frozenset()) -> str:
    """The address as stored: HTTPS with a host name or a public address; plain HTTP only to
    the hosts the installation allows (a test receiver on the loopback), so that a webhook
    cannot make the server post inside its own network."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        _port = parts.port  # a port that is not a number raises here, not when sending
    except ValueError:
        host = ""
    if len(url) > 500 or not host or not url.isprintable() or " " in url or parts.username \
            or parts.password or parts.fragment:
        raise InvalidInput(N_("%(value)s is not an address a webhook can be sent to."),
                           value=url[:100])
    if parts.scheme == "http" and host in http_hosts:
        return url
    if parts.scheme != "https":
        raise InvalidInput(N_("A webhook is sent over HTTPS only."))
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
            raise InvalidInput(N_("A webhook cannot be sent to this server's own network."))\
                from None
        return url
    if not address.is_global:
        raise InvalidInput(N_("A webhook cannot be sent to this server's own network."))
    return url


def _organisation(session: Session, actor: Actor, org_id: int) -> Organisation:
    org = session.get(Organisation, org_id)
    if org is None or not can_manage_webhooks(actor.user, org.id):
        raise Forbidden(N_("Only the body's own service account or an administrator manages "
                           "its webhooks."))
    return org


def webhooks_of(session: Session, actor: Actor, org_id: int) -> list[Webhook]:
    """The body's webhooks, active first, newest first (their secrets are never shown again)."""
    _organisation(session, actor, org_id)
    return list(session.scalars(select(Webhook).where(Webhook.org_id == org_id).order_by(
        Webhook.disabled_at.is_not(None), Webhook.id.desc())))


def register(session: Session, actor: Actor, org_id: int, url: str, secret: str | None = None,
             *, http_hosts: frozenset[str] = frozenset()) -> Webhook:
    """Register an address of the body's system; the secret is generated unless one of at
    least 32 characters is given (returned on the row this once), audited without it."""
    org = _organisation(session, actor, org_id)
    url = clean_url(url, http_hosts)
    secret = (secret or "").strip() or secrets.token_urlsafe(MIN_SECRET)
    if not MIN_SECRET <= len(secret) <= 128:
        raise InvalidInput(N_("A webhook's secret has %(min)s to 128 characters."),
                           min=MIN_SECRET)
    active = session.scalars(select(Webhook).where(
        Webhook.org_id == org.id, Webhook.disabled_at.is_(None))
        .with_for_update(key_share=True)).all()
    if any(hook.url == url for hook in active):
        raise Conflict(N_("This address is already registered for the body."))
    if len(active) >= MAX_ACTIVE:
        raise Conflict(N_("A body has at most %(count)s active webhooks: disable one first."),
                       count=MAX_ACTIVE)
    hook = Webhook(org_id=org.id, url=url, secret=secret, created_at=actor.now,
                   created_by_id=actor.user.id)
    session.add(hook)
    session.flush()
    audit.record(session, actor, "webhook.register", object_type="organisation",
                 object_id=org.id, details={"webhook": hook.id, "url": url})
    return hook


def disable(session: Session, actor: Actor, org_id: int, webhook_id: int) -> Webhook:
    """Stop sending to a webhook (what it was owed is not sent either); kept with its
    deliveries."""
    _organisation(session, actor, org_id)
    hook = session.execute(select(Webhook).where(Webhook.id == webhook_id)
                           .with_for_update(key_share=True)).scalar_one_or_none()
    if hook is None or hook.org_id != org_id:
        raise NotFound(N_("No such webhook."))
    if hook.disabled_at is not None:
        raise Conflict(N_("This webhook is already disabled."))
    hook.disabled_at, hook.disabled_by_id = actor.now, actor.user.id
    audit.record(session, actor, "webhook.disable", object_type="organisation",
                 object_id=org_id, details={"webhook": hook.id, "url": hook.url})
    session.flush()
    return hook


def deliveries(session: Session, actor: Actor, org_id: int, webhook_id: int,
               limit: int = 500) -> list[WebhookOutbox]:
    """What was owed to one of the body's webhooks, newest first, each with its attempts."""
    _organisation(session, actor, org_id)
    hook = session.get(Webhook, webhook_id)
    if hook is None or hook.org_id != org_id:
        raise NotFound(N_("No such webhook."))
    return list(session.scalars(select(WebhookOutbox).where(
        WebhookOutbox.webhook_id == hook.id).order_by(WebhookOutbox.id.desc()).limit(limit)
        .options(selectinload(WebhookOutbox.tries))))
