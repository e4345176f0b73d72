"""Forms of the detainee kiosk: the clerk's device and PIN, the person's sign-in and request."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, RadioField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from forms import Form, choices
from workflow.requests.enums import ProvisionForm, RequestCategory

REQUIRED = DataRequired(message=_l("This field is required."))
# The parts of a record in the words a person uses about themselves.
PLAIN_PARTS = dict([
    (RequestCategory.EPISODES.value, _l("When and where I have been held")),
    (RequestCategory.ORDERS.value, _l("The orders and decisions to arrest, hold or detain me")),
    (RequestCategory.CASE.value, _l("My case and how far it has gone")),
    (RequestCategory.EVENTS.value, _l("What happened while I was held (visits, transfers)")),
    (RequestCategory.HANDOVER.value, _l("The money and belongings I handed in")),
    (RequestCategory.IDENTITY.value, _l("My personal details, fingerprints and health")),
    (RequestCategory.SENTENCE.value, _l("Decisions on serving my sentence")),
])
DELIVERY = {ProvisionForm.SCREEN.value: _l("I will read it here at the kiosk"),
            ProvisionForm.PDF.value: _l("A printed copy, handed to me by the staff")}


class DeviceForm(Form):
    """Register this browser as the facility's kiosk."""

    name = StringField(_l("Name of the device"), validators=[REQUIRED, Length(max=100)],
                       description=_l("For example: Kiosk in the visiting room."))


class KioskSignInForm(Form):
    """A detained person identifies with their number and the PIN the staff gave them."""

    number = StringField(_l("Your record number or identity number"),
                         validators=[REQUIRED, Length(max=32)],
                         render_kw={"autocomplete": "off", "inputmode": "numeric"})
    pin = PasswordField(_l("PIN (6 digits)"), validators=[
        REQUIRED, Regexp(r"^\d{6}$", message=_l("The PIN has 6 digits."))],
        render_kw={"autocomplete": "off", "inputmode": "numeric", "maxlength": 6})


class OwnRequestForm(Form):
    """What a detained person asks for about themselves."""

    parts = SelectMultipleField(_l("What do you want to know?"),
                                choices=choices(PLAIN_PARTS.items()),
                                validators=[DataRequired(message=_l("Choose at least one."))],
                                widget=ListWidget(prefix_label=False),
                                option_widget=CheckboxInput())
    purpose = TextAreaField(_l("Why do you ask? (you may leave this empty)"),
                            validators=[Optional(), Length(max=2000)])
    delivery = RadioField(_l("How do you want to receive it?"), choices=choices(DELIVERY.items()),
                          validators=[REQUIRED])


class EndKioskForm(Form):
    """A clerk of the facility ends kiosk mode at the device itself."""

    username = StringField(_l("Username"), validators=[REQUIRED, Length(max=64)])
    password = PasswordField(_l("Password"), validators=[REQUIRED, Length(max=128)])
    code = StringField(_l("Code from the authenticator app"),
                       validators=[REQUIRED, Length(max=16)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})
