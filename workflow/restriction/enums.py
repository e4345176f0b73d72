"""The vocabulary of residence restriction: where an episode stands, its events and how it ends."""

from __future__ import annotations

from workflow.enums import Labelled
from workflow.i18n import N_


class RestrictionState(Labelled):
    """Where a residence-restriction episode stands."""

    ACTIVE = "active", N_("Under the measure")
    # The person moved: the commune of the old residence hands them over to the new one.
    HANDING_OVER = "handing_over", N_("Being handed over to another commune")
    ENDED = "ended", N_("Ended")


class RestrictionEventKind(Labelled):
    """What is recorded during a residence restriction (Circular 56/2026 Art. 11 §2, pending
    text)."""

    REPORT_IN = "report_in", N_("Report-in at the commune police")
    MEETING = "meeting", N_("Meeting with the person")
    ASSESSMENT = "assessment", N_("Monthly assessment")
    VIOLATION = "violation", N_("Violation")
    ABSENCE = "absence", N_("Permitted absence")
    RESIDENCE_CHANGE = "residence_change", N_("Change of residence")
    HANDOVER = "handover", N_("Handed over to another commune")
    END = "end", N_("End of the measure")


class EndReason(Labelled):
    """Why a residence restriction ended."""

    LIFTED = "lifted", N_("Lifted")
    REPLACED = "replaced", N_("Replaced by another measure")
    TERM_OVER = "term_over", N_("Term over")


class FlagKind(Labelled):
    """What the sweep found missing on its due day."""

    REPORT_IN = "report_in", N_("Report-in missing")
    ASSESSMENT = "assessment", N_("Monthly assessment missing")
    HANDOVER = "handover", N_("Handover not completed")
