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
