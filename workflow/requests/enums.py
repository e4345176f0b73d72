"""The requests' vocabulary: states, channels, subjects, the categories asked for, the forms of
provision, urgency, and the kinds and outcomes of the steps on a route (Decree 121/2017 Art. 12)."""

from __future__ import annotations

from workflow.enums import Labelled
from workflow.i18n import N_


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
# Unfinished: a requester's own reference names at most one of its body's requests in these
# states; once refused, withdrawn, released, closed or expired, it may be used again.
UNFINISHED_STATES = frozenset({RequestState.DRAFT}) | OPEN_STATES


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


class CalendarChange(Labelled):
    """A change of the working-day calendar decided by the government (each year it moves days
    off around Tết and the national holidays)."""

    DAY_OFF = "day_off", N_("Day off by decision")
    WORKING_DAY = "working_day", N_("Working day by decision")
    WITHDRAWN = "withdrawn", N_("Earlier change withdrawn")


class RequesterKind(Labelled):
    """Who a requester outside the state is, as the body that vouched for them checked."""

    LAWYER = "lawyer", N_("Lawyer")
    RELATIVE = "relative", N_("Relative of a detained person")
    REPRESENTATIVE = "representative", N_("Representative of an organisation")
    OTHER = "other", N_("Other individual")


class MandateGround(Labelled):
    """Why a requester outside the state may ask about a detained person."""

    DEFENCE = "defence", N_("Defence counsel registered for the person")
    AUTHORISATION = "authorisation", N_("The person's written authorisation")
