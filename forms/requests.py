"""Forms of the access-request workflow, one per action."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField, FileSize
from wtforms import (
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from forms import DateField, EnumSelect, Form, choices, enum_choices
from workflow.requests.decisions import REFUSAL_REASONS
from workflow.requests.enums import Channel, ProvisionForm, RequestCategory, SubjectKind, Urgency
from workflow.requests.filing import RequestInput

REQUIRED = DataRequired(message=_l("This field is required."))


class CategoriesField(SelectMultipleField):
    """Categories of the record as check boxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, label, **kwargs) -> None:
        super().__init__(label, choices=enum_choices(RequestCategory), **kwargs)


class RequestForm(Form):
    """File a request to look up or be provided records."""

    subject_kind = EnumSelect(_l("The request is about"), SubjectKind, validators=[REQUIRED])
    identity_number = StringField(_l("Identity number of the person"),
                                  validators=[Optional(), Length(max=32)])
    subject_name = StringField(_l("or full name"), validators=[Optional(), Length(max=160)])
    subject_birth_date = DateField(_l("and date of birth"), validators=[Optional()])
    statistical_question = TextAreaField(_l("Statistical question"),
                                         validators=[Optional(), Length(max=2000)])
    # The view lists the bodies (`statistics_scopes`); 0 is the whole database.
    statistics_org_id = SelectField(_l("The figures are about"), coerce=int, default=0,
                                    validate_choice=True)
    categories = CategoriesField(_l("Parts of the record asked for"))
    period_from = DateField(_l("Period from"), validators=[Optional()])
    period_to = DateField(_l("Period to"), validators=[Optional()])
    purpose = TextAreaField(_l("Purpose"), validators=[REQUIRED, Length(max=2000)])
    legal_basis = StringField(_l("Legal basis"), validators=[REQUIRED, Length(max=255)])
    provision = EnumSelect(_l("Form of provision"), ProvisionForm, validators=[REQUIRED])
    urgency = EnumSelect(_l("Urgency"), Urgency, validators=[REQUIRED])
    channel = EnumSelect(_l("Channel"), Channel, validators=[REQUIRED])
    requester_reference = StringField(_l("Your reference (optional)"),
                                      validators=[Optional(), Length(max=64)])
    on_behalf_of_id = IntegerField(_l("On behalf of the detained person (person number)"),
                                   validators=[Optional()])
    scan = FileField(_l("Scan of the signed request form (PDF, JPEG or PNG)"), validators=[
        FileAllowed(["pdf", "jpg", "jpeg", "png"], _l("A PDF, JPEG or PNG file.")),
        FileSize(max_size=10 * 1024 * 1024, message=_l("At most 10 MB."))])

    # Set by the page when a requester outside the state files about a person they act for.
    mandate_id = HiddenField(filters=[lambda v: int(v) if v and str(v).isdigit() else None])

    def request_input(self, scan_ref: str | None) -> RequestInput:
        """The values for the domain."""
        return RequestInput(
            channel=self.channel.member, subject_kind=self.subject_kind.member,
            purpose=self.purpose.data, legal_basis=self.legal_basis.data,
            provision=self.provision.member, categories=list(self.categories.data or []),
            urgency=self.urgency.member, identity_number=self.identity_number.data,
            subject_name=self.subject_name.data, subject_birth_date=self.subject_birth_date.data,
            statistical_question=self.statistical_question.data,
            statistics_org_id=self.statistics_org_id.data or None,
            period_from=self.period_from.data, period_to=self.period_to.data,
            scan_ref=scan_ref, on_behalf_of_id=self.on_behalf_of_id.data,
            requester_reference=self.requester_reference.data,
            mandate_id=self.mandate_id.data)


class ApproveForm(Form):
    """Approve, possibly narrower than asked."""

    categories = CategoriesField(_l("Parts of the record granted"), validators=[REQUIRED])
    period_from = DateField(_l("Period from"), validators=[Optional()])
    period_to = DateField(_l("Period to"), validators=[Optional()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])


class RefuseForm(Form):
    """Refuse with a reason from the catalogue (used for approval and for consent)."""

    # No reason is chosen in advance: a refusal is a decision the signer makes, not a default.
    reason_code = RadioField(_l("Reason"), choices=choices((k, _l(v)) for k, v in
                                                           REFUSAL_REASONS.items()),
                             validators=[DataRequired(message=_l("Choose the reason."))])
    text = TextAreaField(_l("Explanation"), validators=[Optional(), Length(max=2000)])


class ConsentForm(Form):
    """Give the written consent of the body handling the case."""

    # One act, one number: the consent given here is the công văn the system issues; a number
    # only when it was written on paper.
    letter_ref = StringField(_l("Number of the paper consent letter (if any)"),
                             validators=[Optional(), Length(max=255)],
                             description=_l("Only if the consent was signed on paper: its number, "
                                            "and its scan below. Otherwise the system issues the "
                                            "consent letter with its own number."))
    categories = CategoriesField(_l("Parts of the record consented to"),
                                 validators=[REQUIRED])
    expires_on = DateField(_l("Consent valid until"), validators=[Optional()])
    letter_scan = FileField(_l("Scan of the signed consent letter (PDF, JPEG or PNG)"), validators=[
        FileAllowed(["pdf", "jpg", "jpeg", "png"], _l("A PDF, JPEG or PNG file.")),
        FileSize(max_size=10 * 1024 * 1024, message=_l("At most 10 MB."))])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])


class ReasonForm(Form):
    """An action that needs only a reason (return, withdraw, extend)."""

    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=2000)])


class ExtendForm(ReasonForm):
    """Extend the deadline: why, and by how many working days (empty: all that is left)."""

    working_days = IntegerField(_l("Working days (empty: all the extension left)"),
                                validators=[Optional(), NumberRange(min=1, max=60)])


class ListFilterForm(Form):
    """Filters of a request list (sent by GET)."""

    class Meta:
        csrf = False

    state = SelectField(_l("State"), validators=[Optional()])
    urgency = SelectField(_l("Urgency"), validators=[Optional()])


class BulkForm(Form):
    """One action on the requests selected in a work queue, with one reason for each."""

    ids = SelectMultipleField(_l("Selected requests"), validate_choice=False)
    action = RadioField(_l("What to do with the selected requests"), choices=choices([
        ("reassign", _l("Give them to an officer")),
        ("extend", _l("Extend their time limit")),
        ("return", _l("Return them to the requester for supplement"))]),
        validators=[DataRequired(message=_l("Choose what to do with the selected requests."))])
    officer_id = SelectField(_l("Officer (to give them to)"), validators=[Optional()])
    backup_id = SelectField(_l("Backup officer (optional)"), validators=[Optional()])
    reason = TextAreaField(_l("Reason, recorded on each selected request"),
                           validators=[Optional(), Length(max=2000)])
