"""An audit entry in words: its action, its object and its details as "key: value" pairs in the
reader's language (the codes stay beside them, for experts)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from flask_babel import gettext

from web.i18n import vn_date
from workflow.audit.labels import ACTIONS, DETAILS, OBJECTS, VALUES
from workflow.models import AuditEntry

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Row:
    """One entry as the page shows it."""

    entry: AuditEntry
    action: str
    labelled: bool
    object: str
    details: list[tuple[str, str]]


def row(entry: AuditEntry) -> Row:
    """The entry in words."""
    label = ACTIONS.get(entry.action)
    kind = OBJECTS.get(entry.object_type or "")
    thing = " ".join(filter(None, [gettext(kind) if kind else entry.object_type,
                                   entry.object_id]))
    return Row(entry, gettext(label) if label else entry.action, label is not None, thing,
               details(entry))


def details(entry: AuditEntry) -> list[tuple[str, str]]:
    """The purpose or reason, then each detail that says something, by its words."""
    pairs = [(gettext("Purpose or reason"), entry.purpose)] if entry.purpose else []
    try:
        data = json.loads(entry.details or "{}")
    except ValueError:
        return [*pairs, (gettext("Details"), entry.details)]
    if not isinstance(data, dict):
        return [*pairs, (gettext("Details"), _text("", "", data))]
    group = entry.action.partition(".")[0]
    return pairs + [(_key(key), _text(group, key, value)) for key, value in data.items()
                    if value not in (None, "", [], {})]


def _key(key: str) -> str:
    label = DETAILS.get(key)
    return gettext(label) if label else key


def _text(group: str, key: str, value: object) -> str:
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, dict):
        if key == "fields":  # a correction: each field, before → after
            return "; ".join(f"{_key(k)}: {' → '.join(map(str, v)) if isinstance(v, list) else v}"
                             for k, v in value.items())
        return "; ".join(f"{_key(k)}: {_text(group, k, v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_text(group, key, v) for v in value)
    if isinstance(value, str):
        words = VALUES.get((group, key), {}).get(value)
        if words:
            return gettext(words)
        if _ISO_DAY.fullmatch(value):
            try:
                return vn_date(value)
            except ValueError:
                return value
    return str(value)
