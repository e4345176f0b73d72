"""Delivering the webhook outbox after its transactions committed: each owed change POSTed as
JSON, signed with HMAC-SHA256 over the timestamp and the body, every attempt recorded, a
failed one tried again later with a doubling wait.

The receiver checks `X-Custody-Signature: sha256=<hex>`, the HMAC-SHA256 with its secret of
`<X-Custody-Timestamp>.<body>` (the timestamp in Unix seconds, then a dot, then the body's
bytes exactly as received), and refuses a timestamp far from its clock (a replay)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import urllib.error
import urllib.request

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from workflow.models import Webhook, WebhookAttempt, WebhookOutbox

MAX_ATTEMPTS = 10
FIRST_RETRY = dt.timedelta(minutes=1)  # then 2, 4, … : about eight and a half hours in all
TIMEOUT = 10.0  # seconds a receiver has to answer
EVENT = "request.state_changed"


def retry_at(now: dt.datetime, attempts: int) -> dt.datetime:
    """When a change whose delivery failed `attempts` times is tried again."""
    return now + FIRST_RETRY * 2 ** (attempts - 1)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The value of X-Custody-Signature for this body sent at this time."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def payload(row: WebhookOutbox) -> dict:
    """What is sent: the request's id and number, its states and when (no personal data)."""
    return {"id": row.id, "event": EVENT, "occurred_at": row.occurred_at.isoformat(),
            "request": {"id": row.request_id, "number": row.request.number,
                        "state": row.to_state.value, "previous_state": row.from_state.value}}


def due(session: Session, now: dt.datetime) -> list[int]:
    """The owed changes to deliver now, oldest first, to webhooks still active."""
    return list(session.scalars(select(WebhookOutbox.id).join(Webhook).where(
        WebhookOutbox.delivered_at.is_(None), WebhookOutbox.attempts < MAX_ATTEMPTS,
        WebhookOutbox.next_attempt_at <= now, Webhook.disabled_at.is_(None))
        .order_by(WebhookOutbox.id)))


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A receiver's redirect is an answer, not an order to post elsewhere."""

    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST the body; the receiver's HTTP status (an HTTP error's too)."""
    if not url.startswith(("https://", "http://")):  # registration allows no other scheme
        raise ValueError(f"not an HTTP address: {url[:100]}")
    request = urllib.request.Request(url, data=body, method="POST",  # noqa: S310 (checked)
                                     headers=headers)
    try:
        with _OPENER.open(request, timeout=TIMEOUT) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def deliver(session: Session, outbox_id: int, now: dt.datetime) -> bool | None:
    """Deliver one owed change and record the attempt: True when the receiver answered 2xx,
    False when it failed (tried again later), None when there was nothing to deliver (another
    deliverer took it, or it was delivered or its webhook disabled since)."""
    row = session.execute(select(WebhookOutbox).where(
        WebhookOutbox.id == outbox_id, WebhookOutbox.delivered_at.is_(None))
        .options(joinedload(WebhookOutbox.webhook), joinedload(WebhookOutbox.request))
        .with_for_update(skip_locked=True, of=WebhookOutbox)).scalar_one_or_none()
    if row is None or row.webhook.disabled_at is not None:
        return None
    body = json.dumps(payload(row), separators=(",", ":"), sort_keys=True).encode()
    timestamp = int(now.timestamp())
    headers = {"Content-Type": "application/json", "User-Agent": "custody-webhooks/1",
               "X-Custody-Event": EVENT, "X-Custody-Delivery": str(row.id),
               "X-Custody-Timestamp": str(timestamp),
               "X-Custody-Signature": signature(row.webhook.secret, timestamp, body)}
    status, error = None, None
    try:
        status = post(row.webhook.url, body, headers)
        if not 200 <= status < 300:
            error = f"HTTP {status}"
    except (OSError, ValueError) as exc:  # refused, unreachable, timed out, bad answer
        error = f"{type(exc).__name__}: {exc}"[:1000]
    row.attempts += 1
    session.add(WebhookAttempt(outbox_id=row.id, attempted_at=now, status=status, error=error))
    if error is None:
        row.delivered_at, row.last_error = now, None
    else:
        row.last_error, row.next_attempt_at = error, retry_at(now, row.attempts)
    session.flush()
    return error is None
