"""Shape rules of identity numbers."""

from __future__ import annotations

import re

from workflow.errors import InvalidInput
from workflow.i18n import N_
from workflow.records.enums import IdentifierKind

_SHAPES = {
    IdentifierKind.CITIZEN_ID: (
        re.compile(r"\d{12}"), N_("A citizen identity number has 12 digits.")
    ),
    IdentifierKind.OLD_ID_CARD: (
        re.compile(r"\d{9}"), N_("An old identity card number has 9 digits.")
    ),
    IdentifierKind.PASSPORT: (
        re.compile(r"[A-Z0-9]{6,20}"),
        N_("A passport number has 6 to 20 capital letters or digits."),
    ),
}


def normalise_identifier(kind: IdentifierKind, value: str) -> str:
    """Strip spaces, upper-case, and check the shape of the number; raise InvalidInput if wrong."""
    cleaned = re.sub(r"[\s.-]", "", value).upper()
    pattern, message = _SHAPES[kind]
    if not pattern.fullmatch(cleaned):
        raise InvalidInput(message)
    return cleaned


def guess_kind(value: str) -> IdentifierKind | None:
    """The kind a bare number most likely is, for the search box."""
    cleaned = re.sub(r"[\s.-]", "", value).upper()
    for kind, (pattern, _message) in _SHAPES.items():
        if pattern.fullmatch(cleaned):
            return kind
    return None
