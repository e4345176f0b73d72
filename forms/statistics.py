"""The dashboard's choice of day and period (sent by GET: figures, no personal data)."""

from flask_babel import lazy_gettext as _l
from wtforms.validators import Optional

from forms import DateField, Form


class DashboardForm(Form):
    """Population on `day`; movements and requests from `start` to `end`."""

    class Meta:
        csrf = False

    day = DateField(_l("Persons held on"), validators=[Optional()])
    start = DateField(_l("Period from"), validators=[Optional()])
    end = DateField(_l("to"), validators=[Optional()])
