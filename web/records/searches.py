"""Post-redirect-get for searches: the terms stay in the signed-in session, encrypted, under a
short random id that the results page's address carries, so that Back, reload and the language
switch keep the results while no name or identity number sits in an address or a log."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import secrets

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app, session

KEPT = 5  # searches remembered per session: the latest few, for Back
LIFETIME = dt.timedelta(hours=12)  # at most a session's length


def sealer(use: bytes = b"search-terms") -> Fernet:
    """What encrypts what a session keeps for one use: a key of its own, derived from the app's
    secret for that use."""
    secret = current_app.config["SECRET_KEY"]
    secret = secret.encode() if isinstance(secret, str) else secret
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(use + b"\0" + secret).digest()))


def remember(terms: dict[str, str]) -> str:
    """Keep the terms of a search; the id to put in the results page's address."""
    search_id = secrets.token_urlsafe(9)
    kept = dict(session.get("searches", {}))
    kept[search_id] = sealer().encrypt(json.dumps(terms).encode()).decode()
    session["searches"] = dict(list(kept.items())[-KEPT:])
    return search_id


def recall(search_id: str | None) -> dict[str, str] | None:
    """The terms of a search this session made, or None (unknown, expired, or signed out)."""
    token = session.get("searches", {}).get(search_id or "")
    if token is None:
        return None
    try:
        return json.loads(sealer().decrypt(token.encode(), ttl=int(LIFETIME.total_seconds())))
    except InvalidToken:
        return None
