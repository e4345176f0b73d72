"""Forms of facility reports."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from forms import DateField, EnumSelect, Form
from workflow.figures.enums import ReportKind
from workflow.figures.reports import FIGURES, ReportInput

REQUIRED = DataRequired(message=_l("This field is required."))
COUNT = [Optional(), NumberRange(min=0, max=10**15, message=_l("A whole number, not negative."))]


def _count(key: str) -> IntegerField:
    label = FIGURES[key]  # translated from workflow.reports' catalogue entry
    return IntegerField(_l(label), validators=COUNT)


class ReportForm(Form):
    """A report: kind, period, title, the facility's figures (periodic) and the text."""

    kind = EnumSelect(_l("Kind of report"), ReportKind, validators=[REQUIRED])
    period_start = DateField(_l("Period from"), validators=[REQUIRED])
    period_end = DateField(_l("to"), validators=[REQUIRED])
    title = StringField(_l("Title"), validators=[REQUIRED, Length(max=255)])
    staff = _count("staff")
    capacity = _count("capacity")
    cameras = _count("cameras")
    vehicles = _count("vehicles")
    budget_vnd = _count("budget_vnd")
    body = TextAreaField(_l("Text of the report"), validators=[Optional(), Length(max=20000)])

    def report_input(self) -> ReportInput:
        """The values for the domain."""
        return ReportInput(kind=self.kind.member, period_start=self.period_start.data,
                           period_end=self.period_end.data, title=self.title.data,
                           body=self.body.data or "",
                           figures={k: getattr(self, k).data for k in FIGURES})


class ReportActionForm(Form):
    """Submit, accept or send back; a note says what must be corrected."""

    version = HiddenField()
    note = TextAreaField(_l("Note (required to send back)"),
                         validators=[Optional(), Length(max=2000)])
