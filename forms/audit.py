"""Filters of the audit trail."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional

from forms import DateField, Form
from workflow.audit.labels import ACTIONS, GROUPS

INT_MAX = 2**31 - 1  # an entry's or a record's number: no more than the columns hold


def action_choices() -> list[SelectChoice]:
    """Every action by its words, under its group; a group as a whole comes first in it."""
    found = [SelectChoice("", _l("All actions"))]
    for prefix, group in GROUPS.items():
        heading = _l(group)
        found.append(SelectChoice(f"{prefix}.", _l("All of this group"), optgroup=heading))
        found += [SelectChoice(code, _l(label), optgroup=heading)
                  for code, label in ACTIONS.items() if code.startswith(f"{prefix}.")]
    return found


class AuditFilterForm(Form):
    """Filter entries by person, actor, action and time. It is posted (a name or an identity
    number stays out of addresses and logs) and shown again on the page it redirects to."""

    subject = StringField(
        _l("Person: name, identity number or record number"),
        description=_l("A full name or its beginning (diacritics optional), a 12-digit citizen "
                       "number, 9-digit card or passport number, or the record's number."),
        validators=[Optional(), Length(max=100)])
    actor = StringField(_l("Actor (username)"), validators=[Optional(), Length(max=64)])
    action = SelectField(_l("Action"), choices=action_choices, validators=[Optional()])
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])
    own_views = BooleanField(_l("Also show my own views of the audit trail"))
    # Not on the form: a person chosen from those a name matched, and the page's position.
    person_id = IntegerField(validators=[Optional(), NumberRange(min=1, max=INT_MAX)])
    before = IntegerField(validators=[Optional(), NumberRange(min=1, max=2**63 - 1)])
