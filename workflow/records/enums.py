"""The records' vocabulary: sex, identity documents, measures, events, case stages and the
categories of record documents (Decree 121/2017 Arts. 9–10)."""

from __future__ import annotations

from workflow.enums import Labelled
from workflow.i18n import N_


class Sex(Labelled):
    """Sex as recorded in the person's documents."""

    MALE = "male", N_("Male")
    FEMALE = "female", N_("Female")


class IdentifierKind(Labelled):
    """Kinds of identity document."""

    CITIZEN_ID = "cccd", N_("Citizen identity number (12 digits)")
    OLD_ID_CARD = "cmnd", N_("Old identity card (9 digits)")
    PASSPORT = "passport", N_("Passport")


class Measure(Labelled):
    """Preventive measure of a custody episode."""

    CUSTODY = "custody", N_("Temporary custody (tạm giữ)")
    DETENTION = "detention", N_("Temporary detention (tạm giam)")


class EventKind(Labelled):
    """Events recorded during an episode (Law on execution of custody)."""

    RECEIPT = "receipt", N_("Receipt")
    EXTENSION = "extension", N_("Extension")
    PROCURACY_APPROVAL = "procuracy_approval", N_("Procuracy approval")
    EXTRACTION = "extraction", N_("Extraction")
    RETURN = "return", N_("Return from extraction")
    TRANSFER = "transfer", N_("Transfer")
    RELEASE = "release", N_("Release")
    CHANGE_OF_MEASURE = "change_of_measure", N_("Change of preventive measure")
    HANDOVER_FOR_SENTENCE = "handover_for_sentence", N_("Handover to serve a sentence")
    ESCAPE = "escape", N_("Escape")
    DEATH = "death", N_("Death")
    DISCIPLINE = "discipline", N_("Discipline")
    VISIT = "visit", N_("Visit")
    COMPLAINT_FORWARDED = "complaint_forwarded", N_("Complaint forwarded")


ENDING_EVENTS = frozenset(
    {EventKind.RELEASE, EventKind.HANDOVER_FOR_SENTENCE, EventKind.DEATH, EventKind.TRANSFER}
)


class CaseStage(Labelled):
    """Procedural stage of a case (Criminal Procedure Code 101/2015)."""

    INVESTIGATION = "investigation", N_("Investigation")
    PROSECUTION = "prosecution", N_("Prosecution")
    TRIAL = "trial", N_("Trial")
    ENFORCEMENT = "enforcement", N_("Enforcement")
    SUSPENDED = "suspended", N_("Suspended")
    CLOSED = "closed", N_("Closed")

    @property
    def needs_consent(self) -> bool:
        """Whether access needs the handling body's written consent (Decree Art. 12 §3)."""
        return self in {CaseStage.INVESTIGATION, CaseStage.PROSECUTION, CaseStage.TRIAL}


class DocumentCategory(Labelled):
    """Categories of the record file (hồ sơ quản lý), Law 94/2015 Art. 17 §1 (Decree 121/2017
    Art. 9 §2 points to it); the set in force is a rule set's `record_categories`."""

    ORDERS = "a_orders", N_("(a) Orders, decisions and minutes on arrest, custody, detention")
    HANDOVER = "b_handover", N_("(b) Handover minutes, deposited money and property")
    IDENTITY = "c_identity", N_("(c) Identity, fingerprints, personal history, conduct, health")
    SENTENCE = "d_sentence", N_("(d) Decisions on serving a sentence or execution")


class ErrorReportState(Labelled):
    """Where a recipient's report of an error in provided data stands (Decree 121/2017 Art. 18
    §2): open with the keeping facility, or closed as corrected or as no error found."""

    OPEN = "open", N_("Awaiting the keeping facility")
    CORRECTED = "corrected", N_("Corrected")
    NO_ERROR = "no_error", N_("No error found")
