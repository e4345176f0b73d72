"""Diacritic-insensitive search keys for Vietnamese names ("Nguyễn Văn An" → "nguyen van an")."""

from __future__ import annotations

import re

from unidecode import unidecode

_NOT_KEY = re.compile(r"[^a-z0-9 ]+")
_SPACES = re.compile(r"\s+")


def search_key(text: str) -> str:
    """Fold a name to lowercase ASCII words separated by single spaces (đ → d, ư → u)."""
    folded = unidecode(text).lower()
    folded = _NOT_KEY.sub(" ", folded)
    return _SPACES.sub(" ", folded).strip()


def given_name_key(text: str) -> str:
    """The key of the given name: the last word of a Vietnamese full name."""
    key = search_key(text)
    return key.rsplit(" ", 1)[-1] if key else ""


def normalise_name(text: str) -> str:
    """Trim and collapse white space, keeping the diacritics."""
    return _SPACES.sub(" ", text).strip()
