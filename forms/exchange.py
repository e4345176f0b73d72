"""Forms of the exchange's conflict queue: a records officer's decision on one conflict."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, RadioField, SelectMultipleField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from forms import Form, choices

REQUIRED = DataRequired(message=_l("This field is required."))
DECISIONS = choices([
    ("ours", _l("Keep the record here as it is")),
    ("theirs", _l("Take the sender's record")),
    ("merge", _l("Merge: take only the fields ticked below from the sender")),
    ("ask", _l("Ask the sender to send the record again")),
])


class FieldsField(SelectMultipleField):
    """The fields that differ, as check boxes (choices set by the view)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ConflictDecisionForm(Form):
    """Settle a conflict: keep ours, take theirs, merge field by field, or ask again."""

    decision = RadioField(_l("What to do"), choices=DECISIONS, validators=[REQUIRED])
    take = FieldsField(_l("Fields to take from the sender (when merging)"), choices=[],
                       validate_choice=True)
    reason = TextAreaField(_l("Reason"), description=_l(
        "Why, as it will stand in the record's history (at least 5 characters)."),
        validators=[REQUIRED, Length(max=1000)], render_kw={"rows": 3})
    confirm = BooleanField(_l("I have compared the two records"), description=_l(
        "A decision writes a new version of the record and cannot be undone."),
        validators=[DataRequired(message=_l("Tick to confirm."))])
    # The version of the record here that the page showed (a decision on another is refused).
    version = HiddenField(validators=[Optional(), Regexp(r"^\d{1,9}$")])
