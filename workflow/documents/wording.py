"""Vietnamese wording for documents: the project's catalogue, read without Flask, and dates."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path

from babel.support import NullTranslations, Translations

CATALOGUE = Path(__file__).resolve().parents[2] / "web" / "translations"


@cache
def _catalogue() -> NullTranslations:
    return Translations.load(str(CATALOGUE), ["vi"])


def vi(message: str, **params: object) -> str:
    """The Vietnamese text of a message id (dates in parameters written dd/mm/yyyy)."""
    text = _catalogue().gettext(message)
    if not params:
        return text
    return text % {k: short_date(v) if isinstance(v, dt.date) else ("…" if v is None else v)
                   for k, v in params.items()}


def short_date(day: dt.date | None) -> str:
    """06/11/2017."""
    return day.strftime("%d/%m/%Y") if day else "…"
