"""Account administration forms."""

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.fields import EmailField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from forms import EnumSelect, Form, enum_choices, optional_int
from workflow.documents.enums import Authority
from workflow.enums import Role, Secrecy


class RolesField(SelectMultipleField):
    """Roles as a list of check boxes; data is a set of Role."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, label, **kwargs) -> None:
        super().__init__(label, choices=enum_choices(Role), **kwargs)

    @property
    def roles(self) -> set[Role]:
        """The chosen roles."""
        return {Role(v) for v in self.data or []}


class UserForm(Form):
    """Create an account."""

    username = StringField(_l("Username"), validators=[DataRequired(), Length(min=3, max=64)])
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=255)])
    email = EmailField(_l("E-mail address"), validators=[Optional(), Length(max=254)],
                       description=_l("Where mail about requests goes (optional)."))
    organisation_id = SelectField(_l("Organisation"), coerce=optional_int, validators=[
        DataRequired(message=_l("Choose the organisation."))])
    roles = RolesField(_l("Roles"), validators=[DataRequired()])
    clearance = EnumSelect(_l("Secrecy clearance"), Secrecy, validators=[DataRequired()])
    person_id = IntegerField(_l("Person number (detainee accounts only)"),
                             validators=[Optional()])
    system = BooleanField(_l("System account: another body's software, with API tokens and "
                             "no sign-in"))
    password = PasswordField(_l("Initial password"),
                             validators=[DataRequired(), Length(min=8, max=128)])


class UserEditForm(Form):
    """Change an account's roles, clearance and status."""

    roles = RolesField(_l("Roles"), validators=[DataRequired()])
    clearance = EnumSelect(_l("Secrecy clearance"), Secrecy, validators=[DataRequired()])
    active = BooleanField(_l("May sign in"))
    email = EmailField(_l("E-mail address"), validators=[Optional(), Length(max=254)],
                       description=_l("Where mail about requests goes; blank: the inbox only."))
    position = StringField(_l("Position"), validators=[Optional(), Length(max=120)],
                           description=_l("As printed in the signature block of the documents "
                                          "the account's decisions issue, e.g. Phó Giám đốc."))
    signs_as = EnumSelect(_l("Signs documents"), Authority, placeholder=True,
                          validators=[Optional()])


class UnlockForm(Form):
    """Unlock an account (the CSRF token only)."""


class RevokeTokenForm(Form):
    """Revoke an API token, confirmed with a tick."""

    confirm = BooleanField(_l("I confirm: the systems that use this token stop working at "
                              "once."), validators=[DataRequired()])
