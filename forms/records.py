"""Forms for searching, entering and correcting records."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField, FileRequired, FileSize
from wtforms import HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from forms import DateField, EnumSelect, Form, choices
from workflow.enums import Secrecy
from workflow.records.enums import (
    CaseStage,
    DocumentCategory,
    EventKind,
    IdentifierKind,
    Measure,
    Sex,
)
from workflow.records.episodes import EpisodeInput
from workflow.records.persons import IdentifierInput, PersonInput
from workflow.records.reading import NOTE_MAX, READ_PURPOSES

REQUIRED = DataRequired(message=_l("This field is required."))


class SearchForm(Form):
    """Search persons by name or identity number (sent by POST: names stay out of URLs)."""

    q = StringField(_l("Name or identity number"), validators=[REQUIRED, Length(max=100)])
    birth_date = DateField(_l("Date of birth"), validators=[Optional()])


class PersonFields(Form):
    """The person's own fields."""

    full_name = StringField(_l("Full name"), validators=[REQUIRED, Length(max=160)])
    birth_date = DateField(_l("Date of birth"), validators=[REQUIRED])
    sex = EnumSelect(_l("Sex"), Sex, validators=[REQUIRED],
                     placeholder=True)
    nationality = StringField(_l("Nationality"), default="Việt Nam",
                              validators=[REQUIRED, Length(max=64)])
    place_of_origin = StringField(_l("Place of origin"), validators=[Optional(), Length(max=255)])

    def person_input(self) -> PersonInput:
        """The values for the domain."""
        return PersonInput(full_name=self.full_name.data, birth_date=self.birth_date.data,
                           sex=self.sex.member, nationality=self.nationality.data,
                           place_of_origin=self.place_of_origin.data)


class EpisodeFields(Form):
    """Where, under which measure, since when and on what legal basis a person is held."""

    facility_id = SelectField(_l("Facility"), coerce=int, validators=[InputRequired()])
    measure = EnumSelect(_l("Measure"), Measure, validators=[REQUIRED], placeholder=True)
    start_date = DateField(_l("Start date"), validators=[REQUIRED])
    legal_basis = StringField(_l("Legal basis (order or decision number)"),
                              validators=[REQUIRED, Length(max=255)])
    case_number = StringField(_l("Case number"), validators=[Optional(), Length(max=64)])

    def episode_input(self) -> EpisodeInput:
        """The episode for the domain."""
        return EpisodeInput(facility_id=self.facility_id.data, measure=self.measure.member,
                            start_date=self.start_date.data, legal_basis=self.legal_basis.data,
                            case_number=self.case_number.data)


class NewPersonForm(PersonFields, EpisodeFields):
    """Register a person received at the facility: person, identity number, first episode."""

    id_kind = EnumSelect(_l("Kind of identity document"), IdentifierKind)
    id_value = StringField(_l("Identity number"), validators=[Optional(), Length(max=32)])
    id_issued_on = DateField(_l("Date of issue"), validators=[Optional()])
    id_country = StringField(_l("Issuing country"), validators=[Optional(), Length(max=64)])

    def identifier_input(self) -> IdentifierInput | None:
        """The identity number, if one was given."""
        if not (self.id_value.data or "").strip():
            return None
        return IdentifierInput(kind=self.id_kind.member, value=self.id_value.data,
                               issued_on=self.id_issued_on.data,
                               issuing_country=self.id_country.data)


class Correction(Form):
    """What every correction carries: the version it was based on and the reason."""

    version = HiddenField(validators=[REQUIRED])
    reason = TextAreaField(_l("Reason for the correction"),
                           validators=[REQUIRED, Length(min=5, max=1000)])

    def base_version(self) -> int:
        """The version the clerk saw; a tampered value only makes the correction conflict."""
        try:
            return int(self.version.data)
        except (TypeError, ValueError):
            return -1


class CorrectPersonForm(PersonFields, Correction):
    """Correct a person's fields."""


class EpisodeForm(EpisodeFields):
    """Open another episode for a person."""


class CorrectEpisodeForm(Correction):
    """Correct an episode's measure, dates or legal basis."""

    measure = EnumSelect(_l("Measure"), Measure, validators=[REQUIRED])
    start_date = DateField(_l("Start date"), validators=[REQUIRED])
    end_date = DateField(_l("End date"), validators=[Optional()])
    legal_basis = StringField(_l("Legal basis (order or decision number)"),
                              validators=[REQUIRED, Length(max=255)])


class IdentifierForm(Form):
    """Add an identity document."""

    kind = EnumSelect(_l("Kind of identity document"), IdentifierKind, validators=[REQUIRED])
    value = StringField(_l("Identity number"), validators=[REQUIRED, Length(max=32)])
    issued_on = DateField(_l("Date of issue"), validators=[Optional()])
    issuing_country = StringField(_l("Issuing country"), validators=[Optional(), Length(max=64)])


class EventForm(Form):
    """Record an event of an episode."""

    kind = EnumSelect(_l("Event"), EventKind, validators=[REQUIRED],
                     placeholder=True)
    occurred_on = DateField(_l("Date"), validators=[REQUIRED])
    document_number = StringField(_l("Document number"), validators=[Optional(), Length(max=64)])
    other_facility_id = SelectField(_l("Destination facility (transfers)"), coerce=int,
                                    validators=[Optional()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])


class DocumentForm(Form):
    """File a document of the record."""

    category = EnumSelect(_l("Category (Law on execution of custody, Art. 17)"),
                          DocumentCategory, validators=[REQUIRED])
    title = StringField(_l("Title"), validators=[REQUIRED, Length(max=255)])
    number = StringField(_l("Number"), validators=[Optional(), Length(max=64)])
    issued_on = DateField(_l("Date of issue"), validators=[REQUIRED])
    issuer = StringField(_l("Issuer"), validators=[REQUIRED, Length(max=255)])
    secrecy = EnumSelect(_l("Secrecy level"), Secrecy, validators=[REQUIRED],
                     placeholder=True)
    episode_id = SelectField(_l("Episode"), coerce=int, validators=[Optional()])
    summary = TextAreaField(_l("Summary"), validators=[Optional(), Length(max=4000)])


class CaseForm(Form):
    """Register a case."""

    number = StringField(_l("Case number"), validators=[REQUIRED, Length(max=64)])
    title = StringField(_l("Title"), validators=[REQUIRED, Length(max=255)])
    charges = StringField(_l("Charges"), validators=[REQUIRED, Length(max=255)])
    opened_on = DateField(_l("Opened on"), validators=[REQUIRED])
    stage = EnumSelect(_l("Stage"), CaseStage, validators=[REQUIRED])
    handling_org_id = SelectField(_l("Body handling the case"), coerce=int,
                                  validators=[Optional()])


class StageForm(Form):
    """Record that a case moved to another stage."""

    stage = EnumSelect(_l("Stage"), CaseStage, validators=[REQUIRED])
    handling_org_id = SelectField(_l("Body handling the case"), coerce=int,
                                  validators=[Optional()])
    from_date = DateField(_l("From"), validators=[REQUIRED])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=255)])


class ImportForm(Form):
    """A facility's file of records to register at once."""

    facility_id = SelectField(_l("Facility"), coerce=int, validators=[InputRequired()])
    file = FileField(_l("File (CSV, XLSX or JSON)"), validators=[
        FileRequired(_l("Choose a file.")),
        FileAllowed(["csv", "xlsx", "json"], _l("A .csv, .xlsx or .json file.")),
        FileSize(max_size=5 * 1024 * 1024, message=_l("At most 5 MB."))])


class ReadPurposeForm(Form):
    """Why a person's record is opened (one step, before it is shown)."""

    # Nothing is chosen in advance: the purpose is the reader's statement, not a default.
    purpose = RadioField(_l("What do you open this record for?"),
                         choices=choices((code, _l(words)) for code, (words, _stored)
                                         in READ_PURPOSES.items()),
                         validators=[DataRequired(message=_l("Choose the purpose."))])
    note = TextAreaField(_l("The purpose in your words"),
                         validators=[Optional(), Length(max=NOTE_MAX)])
    next = HiddenField()
