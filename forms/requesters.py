"""Registering a requester outside the state and recording whom they act for."""

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, RadioField, StringField
from wtforms.fields import EmailField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from forms import DateField, EnumSelect, Form, choices, enum_choices
from workflow.organisations.enums import OrgKind
from workflow.requests.enums import MandateGround, RequesterKind


class RegisterRequesterForm(Form):
    """Who the requester is, the papers checked at the counter, and their organisation."""

    kind = EnumSelect(_l("Who they are"), RequesterKind, placeholder=True,
                      validators=[DataRequired(message=_l("Choose who they are."))])
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=255)])
    identity_document = StringField(
        _l("Identity document seen"), validators=[DataRequired(), Length(max=120)],
        description=_l("Its kind and number as on the paper you checked, e.g. "
                       "“CCCD 001090012345”."))
    credential = StringField(
        _l("Lawyer's card or registration"), validators=[Optional(), Length(max=120)],
        description=_l("For a lawyer, the lawyer's card number; for a representative, the "
                       "organisation's registration and the letter of introduction."))
    organisation_name = StringField(
        _l("Organisation"), validators=[Optional(), Length(max=255)],
        description=_l("The law firm or organisation they act for. Leave it empty when they "
                       "ask in their own name."))
    organisation_kind = RadioField(
        _l("Kind of organisation"), validators=[Optional()],
        choices=choices((k.value, _l(k.label))
                        for k in (OrgKind.LAW_FIRM, OrgKind.NON_STATE_ORGANISATION)))
    username = StringField(_l("Username"), validators=[DataRequired(), Length(min=3, max=64)])
    email = EmailField(_l("E-mail address"), validators=[Optional(), Length(max=254)],
                       description=_l("Where mail about their requests goes (optional)."))
    password = PasswordField(_l("Initial password"),
                             validators=[DataRequired(), Length(min=8, max=128)],
                             description=_l("Give it to them in person; they change it after "
                                            "signing in."))

    @property
    def org_kind(self) -> OrgKind | None:
        """The kind of organisation chosen, if any."""
        return OrgKind(self.organisation_kind.data) if self.organisation_kind.data else None


class MandateForm(Form):
    """A detained person held in the clerk's scope whom the requester acts for."""

    identity_number = StringField(_l("Identity number of the detained person"),
                                  validators=[DataRequired(), Length(max=40)])
    ground = RadioField(_l("Ground"), choices=enum_choices(MandateGround),
                        validators=[InputRequired(message=_l("Choose the ground."))])
    reference = StringField(
        _l("Reference of the paper"), validators=[DataRequired(), Length(max=120)],
        description=_l("The number and date of the defence counsel's registration, or the date "
                       "of the person's written authorisation."))
    valid_from = DateField(_l("Valid from"), validators=[InputRequired()])
    valid_to = DateField(_l("Valid until"), validators=[Optional()],
                         description=_l("Leave it empty when the paper sets no end."))

    @property
    def paper(self) -> dict:
        """What the paper says, as the domain takes it."""
        return {"ground": MandateGround(self.ground.data), "reference": self.reference.data,
                "valid_from": self.valid_from.data, "valid_to": self.valid_to.data}


class OtherBodysMandateForm(MandateForm):
    """A mandate for a requester another body vouched for, named by their username."""

    username = StringField(_l("Username of the requester"),
                           validators=[DataRequired(), Length(max=64)],
                           description=_l("As on the account page they show you."))
