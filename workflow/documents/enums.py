"""The issued documents' vocabulary: kinds and states."""

from __future__ import annotations

from workflow.enums import Labelled
from workflow.i18n import N_


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


class Authority(Labelled):
    """How an official signs for their body (Decree 30/2020, Art. 13): as its head, or for the
    head as a deputy (KT.), by the head's order (TL.), by delegation (TUQ.), or for a collective
    (TM.)."""

    HEAD = "head", N_("As the head of the body")
    DEPUTY = "kt", N_("KT. – as a deputy, for the head")
    BY_ORDER = "tl", N_("TL. – by order of the head")
    DELEGATED = "tuq", N_("TUQ. – by authority delegated by the head")
    COLLECTIVE = "tm", N_("TM. – on behalf of the collective")
