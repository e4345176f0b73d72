"""Filters of the audit trail."""

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, StringField
from wtforms.validators import Length, NumberRange, Optional

from forms import DateField, Form


class AuditFilterForm(Form):
    """Filter entries by person, actor, action and time (sent by GET: no personal data in it)."""

    class Meta:
        csrf = False

    person_id = IntegerField(_l("Person number"), validators=[Optional(), NumberRange(min=1)])
    actor = StringField(_l("Actor (username)"), validators=[Optional(), Length(max=64)])
    action = StringField(_l("Action"), validators=[Optional(), Length(max=64)])
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])
    before = IntegerField(validators=[Optional(), NumberRange(min=1)])
