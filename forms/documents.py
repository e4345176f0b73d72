"""Forms of extracts: prepare, release bound to the previewed hash, revoke, verify a code."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from forms import Form

REQUIRED = DataRequired(message=_l("This field is required."))
# A zero is a number (out of range), not a missing answer: DataRequired would call it missing.
WHOLE_NUMBER = InputRequired(message=_l("Type a whole number."))


class PrepareForm(Form):
    """Produce the extract for preview (no fields: the grant decides the content)."""


class ReleaseForm(Form):
    """Release the previewed extract: the hash of the preview travels with the form."""

    document_id = HiddenField(validators=[REQUIRED, Regexp(r"^\d{1,12}$")])
    sha256 = HiddenField(validators=[REQUIRED, Regexp(r"^[0-9a-f]{64}$")])
    valid_days = IntegerField(_l("Can be downloaded for (days)"), default=30,
                              validators=[WHOLE_NUMBER, NumberRange(min=1, max=365)])
    download_limit = IntegerField(_l("Number of downloads allowed"), default=3,
                                  validators=[WHOLE_NUMBER, NumberRange(min=1, max=20)])
    named = StringField(_l("Also deliver to (user names, comma-separated)"),
                        validators=[Optional(), Length(max=500)])

    def usernames(self) -> list[str]:
        """The named users as a list."""
        return [n.strip() for n in (self.named.data or "").split(",") if n.strip()]


class RevokeForm(Form):
    """Withdraw a released extract."""

    document_id = HiddenField(validators=[REQUIRED, Regexp(r"^\d{1,12}$")])
    reason = TextAreaField(_l("Why it is revoked"), validators=[REQUIRED, Length(max=2000)])


class VerifyForm(Form):
    """Look a verification code up (public page, GET)."""

    class Meta:
        csrf = False

    code = StringField(_l("Verification code"), validators=[REQUIRED, Length(max=40)])
