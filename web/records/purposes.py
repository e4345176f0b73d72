"""The purpose of reading a person's record, remembered in the signed-in session: stated once
for a person, it holds while the record keeps being worked on (each read renews it) and lapses
after `READ_PURPOSE_MINUTES` without one, or at sign-out. Encrypted like the search terms: the
session cookie says nothing of whose records were read, or why."""

from __future__ import annotations

import json
import time

from cryptography.fernet import InvalidToken
from flask import current_app, session

from web.records.searches import sealer
from workflow.records.reading import READ_PURPOSES, ReadPurpose

KEPT = 20  # persons whose purpose is remembered per session: the latest ones
USE = b"read-purposes"


def _kept() -> dict[str, list]:
    token = session.get("read_purposes")
    if not token:
        return {}
    try:
        return json.loads(sealer(USE).decrypt(token.encode()))
    except InvalidToken:
        return {}


def _keep(kept: dict[str, list]) -> None:
    session["read_purposes"] = sealer(USE).encrypt(
        json.dumps(dict(list(kept.items())[-KEPT:])).encode()).decode()


def remember(person_id: int, purpose: ReadPurpose) -> None:
    """Keep the purpose stated for reading this person's record, from now."""
    kept = {k: v for k, v in _kept().items() if k != str(person_id)}
    kept[str(person_id)] = [purpose.code, purpose.note, time.time()]
    _keep(kept)


def recall(person_id: int) -> ReadPurpose | None:
    """The purpose stated in this session for this person's record, renewed; None if it was
    never stated or has lapsed."""
    stated = _kept().get(str(person_id))
    lifetime = current_app.config["READ_PURPOSE_MINUTES"] * 60
    if stated is None or time.time() - stated[2] > lifetime or stated[0] not in READ_PURPOSES:
        return None
    purpose = ReadPurpose(stated[0], stated[1])
    remember(person_id, purpose)
    return purpose

