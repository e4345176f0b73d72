"""What webhooks are owed: each state change of a request becomes a row for every active
webhook of the requesting body, in the transaction of the change (rolled back with it)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.models import AccessRequest, Webhook, WebhookOutbox
from workflow.requests.enums import RequestState


def owe_state_change(session: Session, request: AccessRequest, before: RequestState,
                     after: RequestState, at: dt.datetime) -> None:
    """Queue the change for the requesting body's webhooks (sent once this commits)."""
    hooks = session.scalars(select(Webhook.id).where(
        Webhook.org_id == request.requester_org_id, Webhook.disabled_at.is_(None))).all()
    for hook_id in hooks:
        session.add(WebhookOutbox(webhook_id=hook_id, request_id=request.id, from_state=before,
                                  to_state=after, occurred_at=at, next_attempt_at=at))
