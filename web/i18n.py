"""Vietnamese first, English second: locale choice, and translation of domain messages."""

from __future__ import annotations

import datetime as dt

from flask import Flask, current_app, g, session
from flask_babel import format_datetime, format_decimal, get_locale, get_translations, gettext

from web.extensions import babel
from workflow.errors import DomainError


def select_locale() -> str:
    """The language the user chose, else Vietnamese."""
    lang = session.get("lang")
    return lang if lang in current_app.config["LANGUAGES"] else "vi"


def domain_message(error: DomainError) -> str:
    """The error's message in the user's language, its parameters translated too."""
    return translated(error.message, error.params)


def translated(message: str, params: dict) -> str:
    """A domain message with its parameters, in the user's language (parameters too)."""
    return gettext(message, **{k: gettext(v) if isinstance(v, str) else v
                               for k, v in params.items()})


def label(member) -> str:
    """The translated label of an enum member (or of its value), looked up once per request:
    a list of a hundred requests would otherwise translate the same few words hundreds of times."""
    if not hasattr(member, "label"):
        return str(member)
    cache = g.setdefault("_labels", {})
    text = cache.get(member.label)
    if text is None:
        text = cache[member.label] = gettext(member.label)
    return text


def vn_date(value: dt.date | str | None) -> str:
    """Dates as Vietnamese documents write them: 06/11/2017 (ISO strings accepted)."""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value) if value else None
    return value.strftime("%d/%m/%Y") if value else ""


def vn_datetime(value: dt.datetime | None) -> str:
    """A timestamp in Vietnam time, day first."""
    return format_datetime(value, "dd/MM/yyyy HH:mm:ss") if value else ""


def vn_number(value: float | None) -> str:
    """A figure with the user's language's digit grouping (1.234 in Vietnamese)."""
    return format_decimal(value) if value is not None else ""


def _translations():
    """This request's translations, found once: Flask-Babel's template functions look them up
    again for each of the hundred or so texts of a page. (Flask-Babel too keeps one locale for
    the whole request.)"""
    found = g.get("_translations")
    if found is None:
        found = g._translations = get_translations()
    return found


def init_app(app: Flask) -> None:
    """Bind Babel and the template helpers."""
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=str(app.root_path + "/translations"))
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n), newstyle=True)
    app.jinja_env.filters.update(label=label, vn_date=vn_date, vn_datetime=vn_datetime,
                               vn_number=vn_number)
    app.jinja_env.globals.update(get_locale=get_locale)
