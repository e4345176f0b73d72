"""Closed vocabularies of the domain, each with an English label (translated in the web layer)."""

from __future__ import annotations

import enum

from sqlalchemy import Enum

from workflow.i18n import N_


class Labelled(enum.StrEnum):
    """A string enum whose members carry a translatable label."""

    label: str

    def __new__(cls, value: str, label: str) -> Labelled:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member


def enum_type(enum_cls: type[enum.Enum], name: str | None = None) -> Enum:
    """A portable column type: VARCHAR with a CHECK constraint listing the values (`name` tells
    the constraints apart when one table has two columns of the same enum)."""
    return Enum(
        enum_cls,
        native_enum=False,
        create_constraint=True,
        length=32,
        name=name or enum_cls.__name__.lower(),
        values_callable=lambda cls: [m.value for m in cls],
        validate_strings=True,
    )


class Branch(Labelled):
    """Subsystem of the database (Decree Art. 6 §3)."""

    POLICE = "cand", N_("People's Police (CAND)")
    ARMY = "qdnd", N_("People's Army (QĐND)")
    OUTSIDE = "outside", N_("Outside body")


class OrgKind(Labelled):
    """What an organisation is, in the terms of Decree Arts. 7, 8 and 12."""

    MINISTRY = "ministry", N_("Ministry")
    CENTRAL_CENTRE = "central_centre", N_("Central custody database centre")
    MINISTRY_BODY = "ministry_body", N_("Ministry-level custody management body")
    PROVINCIAL_BODY = "provincial_body", N_("Provincial custody management body")
    DISTRICT_BODY = "district_body", N_("District custody management body")
    MILITARY_REGION_BODY = "military_region_body", N_("Military-region enforcement body")
    BORDER_GUARD_COMMAND = "border_guard_command", N_("Provincial Border Guard Command")
    DETENTION_CAMP = "detention_camp", N_("Detention camp")
    CUSTODY_HOUSE = "custody_house", N_("Custody house")
    BORDER_CUSTODY_ROOM = "border_custody_room", N_("Border-post custody room")
    PROCURACY = "procuracy", N_("Procuracy")
    COURT = "court", N_("Court")
    INVESTIGATION_AGENCY = "investigation_agency", N_("Investigation agency")
    OTHER_STATE_BODY = "other_state_body", N_("Other state body")

    @property
    def is_facility(self) -> bool:
        """Whether persons are held here (trại tạm giam, nhà tạm giữ, buồng tạm giữ)."""
        return self in FACILITY_KINDS


FACILITY_KINDS = frozenset(
    {OrgKind.DETENTION_CAMP, OrgKind.CUSTODY_HOUSE, OrgKind.BORDER_CUSTODY_ROOM}
)


class OrgLevel(Labelled):
    """Administrative level of a body; the district level ended on 2025-03-01."""

    CENTRAL = "central", N_("Central")
    PROVINCE = "province", N_("Province")
    REGION = "region", N_("Region")
    DISTRICT = "district", N_("District")


class Role(Labelled):
    """What a user may do; a user holds one or more."""

    REQUESTER = "requester", N_("Requester")
    APPROVER = "approver", N_("Approver (database manager)")
    CONSENT_OFFICER = "consent_officer", N_("Consent officer (case-handling body)")
    CLERK = "clerk", N_("Records clerk")
    INSPECTOR = "inspector", N_("Inspector")
    ADMIN = "admin", N_("Administrator")
    DETAINEE = "detainee", N_("Detained person (kiosk)")
    MANAGER = "manager", N_("Manager (statistics of the body's scope)")
    EXCHANGE = "exchange", N_("Data exchange (system account)")


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
    """Categories of the record file (hồ sơ quản lý), Law on execution of custody Art. 17 §1."""

    ORDERS = "a_orders", N_("(a) Orders, decisions and minutes on arrest, custody, detention")
    HANDOVER = "b_handover", N_("(b) Handover minutes, deposited money and property")
    IDENTITY = "c_identity", N_("(c) Identity, fingerprints, personal history, conduct, health")
    SENTENCE = "d_sentence", N_("(d) Decisions on serving a sentence or execution")


class Secrecy(Labelled):
    """State-secret level of a document."""

    NONE = "none", N_("Not classified")
    CONFIDENTIAL = "mat", N_("Confidential (Mật)")
    SECRET = "toi_mat", N_("Secret (Tối mật)")
    TOP_SECRET = "tuyet_mat", N_("Top secret (Tuyệt mật)")

    @property
    def rank(self) -> int:
        """Order of levels, lowest first."""
        return list(Secrecy).index(self)


class RequestState(Labelled):
    """States of an access request (Decree Art. 12)."""

    DRAFT = "draft", N_("Draft")
    SUBMITTED = "submitted", N_("Submitted")
    RETURNED = "returned", N_("Returned for supplement")
    AWAITING_APPROVAL = "awaiting_approval", N_("Awaiting approval")
    AWAITING_CONSENT = "awaiting_consent", N_("Awaiting consent")
    APPROVED = "approved", N_("Approved")
    REFUSED = "refused", N_("Refused")
    WITHDRAWN = "withdrawn", N_("Withdrawn")
    RELEASED = "released", N_("Released")
    CLOSED = "closed", N_("Closed")
    EXPIRED = "expired", N_("Expired")


OPEN_STATES = frozenset({RequestState.SUBMITTED, RequestState.AWAITING_APPROVAL,
                         RequestState.AWAITING_CONSENT, RequestState.RETURNED,
                         RequestState.APPROVED})


class Channel(Labelled):
    """How a request arrives (Decree Art. 12 §1)."""

    NETWORK = "network", N_("Internal network")
    WRITTEN = "written", N_("Written request form")


class SubjectKind(Labelled):
    """What a request is about."""

    PERSON = "person", N_("A detained person")
    STATISTICS = "statistics", N_("A statistical question")


class RequestCategory(Labelled):
    """Parts of the record a request may ask for."""

    ORDERS = "a_orders", N_("(a) Orders, decisions and minutes on arrest, custody, detention")
    HANDOVER = "b_handover", N_("(b) Handover minutes, deposited money and property")
    IDENTITY = "c_identity", N_("(c) Identity, fingerprints, personal history, conduct, health")
    SENTENCE = "d_sentence", N_("(d) Decisions on serving a sentence or execution")
    EPISODES = "episodes", N_("Custody episodes")
    EVENTS = "events", N_("Custody events")
    CASE = "case", N_("Case and procedural stage")


class ProvisionForm(Labelled):
    """How the data is provided."""

    SCREEN = "screen", N_("View on screen")
    PDF = "pdf", N_("PDF extract")


class Urgency(Labelled):
    """How fast the requester needs an answer."""

    NORMAL = "normal", N_("Normal")
    URGENT = "urgent", N_("Urgent")


class StepKind(Labelled):
    """A decision a request needs on its route."""

    APPROVAL = "approval", N_("Approval of the database-managing body")
    CONSENT = "consent", N_("Written consent of the body handling the case")


class StepOutcome(Labelled):
    """Where a step stands."""

    PENDING = "pending", N_("Pending")
    GRANTED = "granted", N_("Granted")
    REFUSED = "refused", N_("Refused")
    VOID = "void", N_("No longer needed")


class IssuedKind(Labelled):
    """Documents the workflow issues with a number from the register."""

    EXTRACT = "extract", N_("Extract of the record")
    REFUSAL = "refusal", N_("Refusal notice")
    RETURN = "return", N_("Notice of return for supplement")
    CONSENT = "consent", N_("Consent letter")


class IssuedState(Labelled):
    """Where an issued document stands."""

    PREPARED = "prepared", N_("Prepared, awaiting release")
    RELEASED = "released", N_("Released")
    SUPERSEDED = "superseded", N_("Superseded by a newer preparation")
    REVOKED = "revoked", N_("Revoked")


class ReportKind(Labelled):
    """Reports a facility files with the body above it (Decree Art. 10 §3)."""

    PERIODIC = "periodic", N_("Periodic report")
    INCIDENT = "incident", N_("Incident report")
    THEMATIC = "thematic", N_("Thematic report")


class ReportState(Labelled):
    """Where a report stands."""

    DRAFT = "draft", N_("Draft")
    SUBMITTED = "submitted", N_("Submitted")
    RETURNED = "returned", N_("Returned for correction")
    ACCEPTED = "accepted", N_("Accepted")
    SUPERSEDED = "superseded", N_("Superseded by a correction")
