"""Sign-in, password change and language forms."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from forms import Form


class LoginForm(Form):
    """Sign in with username and password."""

    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=128)])
    acknowledge = BooleanField(
        _l("I have read the notice above and use this system only for my duties."),
        validators=[DataRequired(message=_l("Acknowledge the notice to sign in."))])


class ReauthForm(Form):
    """Confirm one's password and code before a sensitive act."""

    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=128)])
    code = StringField(_l("Code from the authenticator app"),
                       validators=[Optional(), Length(max=16)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})


class CodeForm(Form):
    """The second factor: a six-digit code, or a recovery code."""

    code = StringField(_l("Code from the authenticator app"),
                       validators=[DataRequired(), Length(max=16)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric",
                                  "autofocus": True})


class PasswordForm(Form):
    """Change one's own password."""

    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=8, max=128)])
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("new", message=_l("The two passwords differ."))],
    )


class LanguageForm(Form):
    """Switch the interface language."""

    lang = HiddenField(validators=[DataRequired()])
