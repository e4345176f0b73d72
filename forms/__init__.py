"""Flask-WTF forms, one class per action; labels are translatable."""

from collections.abc import Iterable

from flask_babel import get_translations
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms import fields as wtforms_fields
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import TextInput

from workflow.enums import Labelled


class _Catalogue:
    """WTForms' own messages ("Not a valid date value.", "Number must be between…") from the
    project's catalogue: WTForms ships no Vietnamese, and `forms.messages` lists them for it."""

    def gettext(self, string: str) -> str:
        return get_translations().ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return get_translations().ungettext(singular, plural, n)


CATALOGUE = _Catalogue()


class Form(FlaskForm):
    """Every form of the project: WTForms' own messages in the user's language."""

    class Meta:
        def get_translations(self, form):
            return CATALOGUE


class DateField(wtforms_fields.DateField):
    """A date typed as day/month/year, the way every page and document prints dates (a browser's
    date picker follows the browser's locale instead); ISO dates are accepted too."""

    widget = TextInput()
    FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y")

    def __init__(self, label=None, validators=None, **kwargs) -> None:
        kwargs.setdefault("format", list(self.FORMATS))
        kwargs.setdefault("description", _l("Day/month/year, for example 25/11/2026."))
        kwargs["render_kw"] = {"inputmode": "numeric", "autocomplete": "off",
                               "class": "date-input", **kwargs.get("render_kw", {})}
        super().__init__(label, validators, **kwargs)


def optional_int(value: object) -> int | None:
    """Coerce a select's value to an int; the empty "choose…" option is None."""
    return None if value in ("", None) else int(value)


def choices(pairs: Iterable[tuple[object, object]], group: str | None = None
            ) -> list[SelectChoice]:
    """Choices of a select from (value, label) pairs (optionally under one group heading)."""
    return [SelectChoice(value, label, optgroup=group) for value, label in pairs]


def enum_choices(enum_cls: type[Labelled]) -> list[SelectChoice]:
    """Choices for a select of enum members, with translated labels."""
    return choices((m.value, _l(m.label)) for m in enum_cls)


class EnumSelect(SelectField):
    """A select over an enum whose data is the enum member."""

    def __init__(self, label, enum_cls: type[Labelled], *, placeholder: bool = False,
                 **kwargs) -> None:
        # A placeholder first option where a silent default would be a wrong record (a sex,
        # a measure, a secrecy level nobody chose): the form then says it was not chosen.
        first = [SelectChoice("", _l("— Choose —"))] if placeholder else []
        super().__init__(label, choices=first + enum_choices(enum_cls), coerce=str, **kwargs)
        self.enum_cls = enum_cls

    @property
    def member(self):
        """The chosen member, or None."""
        try:
            return self.enum_cls(self.data) if self.data else None
        except ValueError:  # a value not in the enum (the field's own error says so)
            return None
