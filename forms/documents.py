"""Forms of extracts: prepare, release bound to the previewed hash, revoke, verify a code."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, IntegerField, StringField, TextAreaField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    StopValidation,
)

from forms import Form
from workflow.documents import codes

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
    """Look a verification code up (public page, GET). Blank or malformed text is answered here,
    with what to type, and never looked up: only a well-formed code's key is (`key`)."""

    class Meta:
        csrf = False

    code = StringField(_l("Verification code"),
                       description=_l("16 letters and digits, as printed: XXXX-XXXX-XXXX-XXXX"),
                       render_kw={"autocomplete": "off", "autocapitalize": "characters",
                                  "spellcheck": "false"})
    key: str | None = None

    def validate_code(self, field: StringField) -> None:
        """Read the typed text as a code (`codes.read`): its key, or what to type instead."""
        reading = codes.read(field.data)
        self.key = reading.key
        if reading.problem is not None:
            raise StopValidation(problem_message(reading, field.data or ""))


def problem_message(reading: codes.Reading, typed: str) -> str:
    """What the verification page says of text that cannot be a code."""
    if reading.problem is codes.Problem.BLANK:
        return _("Type the verification code printed on the document: it is at the end of the "
                 "last page, beside the QR code, in four groups of four letters and digits "
                 "(XXXX-XXXX-XXXX-XXXX). You can also scan the QR code with a phone.")
    shown = typed.strip() if len(typed.strip()) <= 40 else typed.strip()[:39] + "…"
    if reading.problem is codes.Problem.CHARACTERS:
        why = _("“%(code)s” cannot be a verification code: no code contains %(chars)s.",
                code=shown, chars=" ".join(reading.strange))
    elif reading.problem is codes.Problem.LETTER_U:
        why = _("“%(code)s” cannot be a verification code: codes do not use the letter U.",
                code=shown)
    else:
        why = _("“%(code)s” cannot be a verification code: it has %(count)d letters and digits, "
                "a code has 16.", code=shown, count=reading.length)
    return why + " " + _(
        "A code has 16 letters and digits, printed in four groups of four "
        "(XXXX-XXXX-XXXX-XXXX). Upper or lower case, spaces and dashes do not matter; the "
        "letter O is read as the digit 0 and the letters I and L as the digit 1. Codes issued "
        "now never contain the letter U.")
