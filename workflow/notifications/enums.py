"""The vocabulary of mail: what a notification is about (its topic) and how a user takes it."""

from __future__ import annotations

from workflow.enums import Labelled
from workflow.i18n import N_


class MailTopic(Labelled):
    """The groups of notifications a user chooses a delivery for."""

    TASKS = "tasks", N_("New requests for my body to decide")
    DEADLINES = "deadlines", N_("Deadlines: due soon, overdue, overdue below my body")
    DECISIONS = "decisions", N_("Decisions on my requests: approved, refused, returned, "
                                "extended, expired")
    EXTRACTS = "extracts", N_("Information provided, and the errors I reported")


class MailDelivery(Labelled):
    """How a user takes the mail of a topic."""

    IMMEDIATE = "immediate", N_("A mail for each, at once")
    DIGEST = "digest", N_("One mail a day with all of them")
    NONE = "none", N_("No mail (the inbox only)")
