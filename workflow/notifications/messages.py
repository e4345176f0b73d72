"""The words of a mail: Vietnamese first, English below; of the request only its number and
its address (the rest is read after signing in), so a mail never carries personal data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from workflow.documents.wording import vi
from workflow.i18n import N_
from workflow.models import MailOutbox
from workflow.notifications.kinds import KINDS

PREFERENCES_PATH = "/account/notifications"
OPEN = N_("Request %(number)s: %(link)s")
FOOTER = (N_("How mail reaches you (at once, once a day, or not at all): %(link)s"),
          N_("This mail names no one: sign in to read the request."))
DIGEST_SUBJECT = N_("Notifications of the day (%(count)s)")
DIGEST_LEAD = N_("Since the last daily mail:")
ENGLISH = "English"


def request_link(base_url: str, request_id: int) -> str:
    """The absolute address of a request's page."""
    return f"{base_url.rstrip('/')}/requests/{request_id}"


def _line(text: str, **params: object) -> tuple[str, str]:
    """A line in Vietnamese and in English (an empty text: an empty line)."""
    if not text:
        return "", ""
    return vi(text, **params), (text % params if params else text)


def _both(lines: Sequence[tuple[str, str]]) -> str:
    """The lines in Vietnamese, then in English."""
    return "\n".join([*(v for v, _ in lines), "", f"— {ENGLISH} —", "",
                      *(e for _, e in lines)]) + "\n"


def _footer(base_url: str) -> list[tuple[str, str]]:
    return [_line(""), _line(FOOTER[0], link=base_url.rstrip("/") + PREFERENCES_PATH),
            _line(FOOTER[1])]


def _item(base_url: str, row: MailOutbox) -> tuple[str, str]:
    """A request's number and address, with the title of what happened to it."""
    title = _line(KINDS[row.kind][0])
    where = _line(OPEN, number=row.request.number,
                  link=request_link(base_url, row.request_id))
    return f"- {title[0]}. {where[0]}", f"- {title[1]}. {where[1]}"


def _message(sender: str, to: str, subject: str, body: str, now: dt.datetime) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to us
    message.set_content(body)
    return message


def single(sender: str, to: str, base_url: str, row: MailOutbox,
           now: dt.datetime) -> EmailMessage:
    """The mail of one notification."""
    title, sentence, _topic = KINDS[row.kind]
    subject = f"{row.request.number}: {vi(title)} / {title}"
    where = _line(OPEN, number=row.request.number, link=request_link(base_url, row.request_id))
    body = _both([_line(sentence), where, *_footer(base_url)])
    return _message(sender, to, subject, body, now)


def digest(sender: str, to: str, base_url: str, rows: Sequence[MailOutbox],
           now: dt.datetime) -> EmailMessage:
    """One mail for a user's notifications of the day, in the order they came."""
    vi_subject, en_subject = _line(DIGEST_SUBJECT, count=len(rows))
    body = _both([_line(DIGEST_LEAD), *(_item(base_url, row) for row in rows),
                  *_footer(base_url)])
    return _message(sender, to, f"{vi_subject} / {en_subject}", body, now)
