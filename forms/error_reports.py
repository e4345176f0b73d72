"""Forms of reports of errors in provided data: the recipient's report, and the keeping
facility's two ways of closing it (corrected, naming the correction; no error, saying why)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from forms import Form, optional_int

REQUIRED = DataRequired(message=_l("This field is required."))


class ErrorReportForm(Form):
    """A recipient says what is wrong in an extract (Decree 121/2017 Art. 18 §2)."""

    part = SelectField(_l("Which part of the extract (if you know)"), coerce=str,
                       validators=[Optional()])
    description = TextAreaField(
        _l("What is wrong"),
        description=_l("Say what the extract shows and what it should show, and where you "
                       "found it (page, line, document number). Do not copy other data of the "
                       "record here. At most 2000 characters."),
        validators=[REQUIRED, Length(min=10, max=2000)], render_kw={"rows": 6})


class CorrectedForm(Form):
    """Close a report as corrected: the correction made to the record for it."""

    correction = SelectField(_l("The correction made for this report"), coerce=optional_int,
                             validators=[REQUIRED])
    note = TextAreaField(_l("Note to the reporter (optional)"),
                         validators=[Optional(), Length(max=2000)], render_kw={"rows": 3})


class NoErrorForm(Form):
    """Close a report as no error found, saying why."""

    note = TextAreaField(_l("Why the data is right"),
                         description=_l("The reporter reads this. At least 10 characters."),
                         validators=[REQUIRED, Length(min=10, max=2000)], render_kw={"rows": 4})
