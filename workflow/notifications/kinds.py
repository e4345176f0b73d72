"""The kinds of notification: their titles (the inbox's and the mail's subject), the sentence a
mail says, and the topic a user chooses the delivery of."""

from __future__ import annotations

from workflow.i18n import N_
from workflow.notifications.enums import MailTopic

T = MailTopic
# kind → (title, the sentence of the mail, topic). No sentence names a person: the request's
# number is all a mail says of what it is about.
KINDS: dict[str, tuple[str, str, MailTopic]] = {
    "new_task": (N_("New request to decide"),
                 N_("A request awaits the decision of your body."), T.TASKS),
    "assigned": (N_("Request assigned to you"),
                 N_("A request in your body's queue has been given to you (or you are its "
                    "backup officer)."), T.TASKS),
    "due_soon": (N_("Due soon"), N_("The time limit to decide this request is near."),
                 T.DEADLINES),
    "overdue": (N_("Overdue"), N_("The time limit to decide this request has passed."),
                T.DEADLINES),
    "escalated": (N_("Overdue below you"),
                  N_("A body under yours has not decided this request in time."), T.DEADLINES),
    "decision": (N_("Decision made"), N_("A decision has been made on your request."),
                 T.DECISIONS),
    "consent": (N_("Consent given"),
                N_("The body handling the case has given its consent on your request."),
                T.DECISIONS),
    "returned": (N_("Returned for supplement"),
                 N_("Your request was sent back: something must be added before it can be "
                    "decided."), T.DECISIONS),
    "extended": (N_("Deadline extended"),
                 N_("The time limit to decide your request has been extended."), T.DECISIONS),
    "expired": (N_("Expired"),
                N_("Your request was closed because nothing was added in time."), T.DECISIONS),
    "released": (N_("Information provided"),
                 N_("The information you asked for has been provided: the extract is ready."),
                 T.EXTRACTS),
    "error_corrected": (N_("The error you reported was corrected"),
                        N_("The error you reported in the provided data was corrected."),
                        T.EXTRACTS),
    "error_no_error": (N_("The error you reported: no error found"),
                       N_("The error you reported in the provided data was checked: no error "
                          "was found."), T.EXTRACTS),
}
LABELS = {kind: title for kind, (title, _, _) in KINDS.items()}


def topic_of(kind: str) -> MailTopic:
    """The topic whose preference decides the mail of a kind."""
    return KINDS[kind][2]
