"""The facility reports' vocabulary: kinds and states (Decree 121/2017 Art. 10 §3)."""

from __future__ import annotations

from workflow.enums import Labelled
from workflow.i18n import N_


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
