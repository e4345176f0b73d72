"""Words the request pages show: plain-language states, actions, lists, notifications."""

from __future__ import annotations

import json

from flask_babel import gettext

from web.i18n import translated, vn_date
from workflow.audit.labels import CLOCK_STOPS
from workflow.i18n import N_
from workflow.notifications.kinds import LABELS as NOTIFICATION_LABELS
from workflow.requests.decisions import REFUSAL_REASONS
from workflow.requests.enums import CalendarChange, RequestCategory
from workflow.requests.machine import LABELS

PLAIN_STATUS = {
    "draft": N_("Not sent yet."),
    "submitted": N_("Sent; the system is working out who must decide."),
    "returned": N_("Sent back: something must be added before it can be decided."),
    "awaiting_approval": N_("Waiting for the body that manages the data to decide."),
    "awaiting_consent": N_("Waiting for the written consent of the body handling the case."),
    "approved": N_("Approved: the information can be provided."),
    "refused": N_("Refused. The reasons are given below, in writing."),
    "withdrawn": N_("Withdrawn by the requester."),
    "released": N_("The information has been provided."),
    "closed": N_("Finished."),
    "expired": N_("Closed because nothing was added in time."),
}
# The machine's words for its triggers, and the actions on a request outside the machine.
ACTION_LABELS = LABELS | {
    "extend": N_("extend the deadline"), "prepare": N_("prepare the extract"),
    "revoke": N_("revoke the extract"),
}
# What the confirmation page says was done; refusals are not shown as successes.
DONE_HEADINGS = {
    "approve": N_("Request approved"), "refuse": N_("Request refused"),
    "grant_consent": N_("Consent given"), "refuse_consent": N_("Consent refused"),
    "return_for_supplement": N_("Request returned for supplement"),
    "withdraw": N_("Request withdrawn"), "resubmit": N_("Request sent again"),
    "close": N_("Request closed"), "prepare": N_("Extract prepared"),
    "release": N_("Information released"), "revoke": N_("Extract revoked"),
    "extend": N_("Deadline extended"),
    # A release that found the decision no longer enough (what the request's last step was).
    "recheck": N_("Not released: a new consent is needed"),
    "reroute": N_("Not released: the request went to the body that manages the data now"),
}
REFUSALS = frozenset({"refuse", "refuse_consent", "revoke", "withdraw", "recheck", "reroute"})
TIMELINE_LABELS = ACTION_LABELS | {
    "file": N_("filed"), "route": N_("routed"), "due_soon": N_("due soon"),
    "overdue": N_("overdue"),
    "clock_stopped": N_("clock stopped"), "clock_resumed": N_("clock restarted"),
    "calendar": N_("calendar changed"),
}
VIEW_LABELS = {"mine": N_("My requests"), "approval": N_("Awaiting my decision"),
               "consent": N_("Awaiting my consent"), "overdue": N_("Overdue in my organisation")}


def category_label(value: str) -> str:
    """A category's translated label."""
    return gettext(RequestCategory(value).label)


def translate_params(params: dict) -> dict:
    """Translate the message ids among a reason's parameters (stage names, laws)."""
    return {k: gettext(v) if isinstance(v, str) else v for k, v in params.items()}


def timeline_note(transition) -> str:
    """What a deadline line of the timeline changed, in words: an extension, the clock stopped
    or restarted, a calendar change; '' for other lines."""
    d = json.loads(transition.details or "{}")
    moved = {"before": vn_date(d.get("due_before")), "due": vn_date(d.get("due"))}
    match transition.trigger:
        case "extend" if "working_days" in d:
            return gettext("+%(n)s working days: due %(before)s → %(due)s",
                           n=d["working_days"], **moved)
        case "clock_stopped":
            return gettext(CLOCK_STOPS.get(d.get("why"), ""))
        case "clock_resumed":
            return gettext("%(n)s working days not counted: due %(before)s → %(due)s",
                           n=d.get("paused_working_days", 0), **moved)
        case "calendar":
            return gettext("%(day)s, %(change)s (%(reason)s): due %(before)s → %(due)s",
                           day=vn_date(d.get("day")),
                           change=gettext(CalendarChange(d["change"]).label).lower(),
                           reason=d.get("reason", ""), **moved)
    return ""


# The jobs that produce an extract off the request path, as their panel is headed.
JOB_LABELS = {"extract.prepare": N_("The extract is being prepared"),
              "extract.release": N_("The extract is being numbered, signed and released")}
FAILED_JOB_LABELS = {"extract.prepare": N_("The extract could not be prepared"),
                     "extract.release": N_("The extract could not be released")}


# Why a job ended without its work, in words: a fault's own kind is for the logs, not the page.
FAULTS = {"WorkerLost": N_("the worker doing it stopped before it finished"),
          "QueueLost": N_("no worker took it up in time"),
          "": N_("a fault in producing the document")}


def job_reason(job, fault: str = FAULTS[""]) -> str:
    """Why a job failed, in the reader's language: the domain's refusal, or a fault's kind
    (`fault`: what any other fault of this kind of job is called)."""
    try:
        told = json.loads(job.error or "")
    except ValueError:
        told = None
    if isinstance(told, dict) and "message" in told:
        return translated(told["message"], told.get("params") or {})
    return gettext(FAULTS.get(job.error or "", fault))


def context() -> dict:
    """What the request templates use."""
    return {"plain_status": PLAIN_STATUS, "action_labels": ACTION_LABELS,
            "timeline_labels": TIMELINE_LABELS, "view_labels": VIEW_LABELS,
            "notification_labels": NOTIFICATION_LABELS, "refusal_reasons": REFUSAL_REASONS,
            "done_headings": DONE_HEADINGS, "refusals": REFUSALS,
            "category_label": category_label, "translate_params": translate_params,
            "timeline_note": timeline_note, "job_labels": JOB_LABELS,
            "failed_job_labels": FAILED_JOB_LABELS, "job_reason": job_reason}
