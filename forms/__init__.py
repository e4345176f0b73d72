"""Flask-WTF forms, one class per action; labels are translatable."""

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from workflow.enums import Labelled


def choices(pairs: Iterable[tuple[object, object]], group: str | None = None
            ) -> list[SelectChoice]:
    """Choices of a select from (value, label) pairs (optionally under one group heading)."""
    return [SelectChoice(value, label, optgroup=group) for value, label in pairs]


def enum_choices(enum_cls: type[Labelled]) -> list[SelectChoice]:
    """Choices for a select of enum members, with translated labels."""
    return choices((m.value, _l(m.label)) for m in enum_cls)


class EnumSelect(SelectField):
    """A select over an enum whose data is the enum member."""

    def __init__(self, label, enum_cls: type[Labelled], **kwargs) -> None:
        super().__init__(label, choices=enum_choices(enum_cls), coerce=str, **kwargs)
        self.enum_cls = enum_cls

    @property
    def member(self):
        """The chosen member, or None."""
        return self.enum_cls(self.data) if self.data else None
