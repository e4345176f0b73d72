"""State secrets in issued documents: the mark of the highest level a document holds, the law
in force on its date, and the register of secret documents sent out (sổ đăng ký văn bản mật
đi), with its own numbers per issuing body and year."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.audit import chain as audit
from workflow.context import Actor
from workflow.enums import Secrecy
from workflow.errors import Forbidden, InvalidInput
from workflow.i18n import N_
from workflow.models import IssuedDocument, SecretRegisterEntry
from workflow.organisations.scope import subtree_ids
from workflow.requests.policy import can_read_secret_register

# The stamp of each level (Decree 30/2020 Appendix I, box 10a; stamp forms of the state-secret
# law's guidance), in capitals as printed.
MARKS = {Secrecy.CONFIDENTIAL: "MẬT", Secrecy.SECRET: "TỐI MẬT", Secrecy.TOP_SECRET: "TUYỆT MẬT"}


@dataclass(frozen=True)
class SecretsLaw:
    """A law on protecting state secrets and the day it came into force."""

    citation: str
    effective_from: dt.date


# Law 29/2018/QH14 (in force 01/07/2020) until Law 117/2025/QH15 replaced it on 01/03/2026
# (detailed by Decree 63/2026, which covers electronic state-secret documents and registers).
SECRETS_LAWS = (
    SecretsLaw("Luật Bảo vệ bí mật nhà nước số 29/2018/QH14", dt.date(2020, 7, 1)),
    SecretsLaw("Luật Bảo vệ bí mật nhà nước số 117/2025/QH15", dt.date(2026, 3, 1)),
)


def secrets_law(day: dt.date) -> str:
    """The state-secrets law in force on that day, as a document cites it."""
    in_force = [law for law in SECRETS_LAWS if law.effective_from <= day]
    return (in_force[-1] if in_force else SECRETS_LAWS[0]).citation


def highest(levels: Iterable[Secrecy]) -> Secrecy:
    """The highest of the levels (none when there are none)."""
    return max(levels, key=lambda level: level.rank, default=Secrecy.NONE)


def mark_of(level: Secrecy) -> str:
    """The stamp a document of that level carries ('' for an unclassified one)."""
    return MARKS.get(level, "")


def register_secret(session: Session, actor: Actor, document: IssuedDocument,
                    copies: int) -> SecretRegisterEntry:
    """Enter a secret document sent out in its issuer's secret register: the next number of the
    year. The caller holds the document's row lock, and the issuer's outgoing register was
    locked when it was numbered; the unique number is the last guard."""
    year = actor.today.year
    last = session.scalar(select(func.max(SecretRegisterEntry.serial)).where(
        SecretRegisterEntry.org_id == document.org_id, SecretRegisterEntry.year == year)) or 0
    entry = SecretRegisterEntry(
        org_id=document.org_id, year=year, serial=last + 1, document_id=document.id,
        secrecy=document.secrecy, recipient_user_id=document.recipient_user_id,
        recipient_name=document.recipient_name, recipient_org=document.recipient_org,
        copies=copies, registered_at=actor.now, registered_by_id=actor.user.id)
    session.add(entry)
    session.flush()
    audit.record(session, actor, "document.secret_register", object_type="document",
                 object_id=document.id, person_id=document.request.subject_person_id,
                 details={"serial": entry.serial, "year": year, "number": document.number,
                          "secrecy": document.secrecy.value, "copies": copies,
                          "recipient": document.recipient_user_id})
    return entry


def secret_register(session: Session, actor: Actor, year: int) -> list[SecretRegisterEntry]:
    """The secret documents sent out in a year by the actor's body and the bodies under it,
    by number (audited: who reads the register is on record)."""
    user = actor.user
    if not can_read_secret_register(user):
        raise Forbidden(N_("Only an approver reads the register of secret documents."))
    if not 2000 <= year <= 2999:
        raise InvalidInput(N_("There is no register for the year %(year)s."), year=year)
    orgs = subtree_ids(session, user.organisation_id, actor.today)
    entries = list(session.scalars(select(SecretRegisterEntry).where(
        SecretRegisterEntry.org_id.in_(orgs), SecretRegisterEntry.year == year)
        .order_by(SecretRegisterEntry.org_id, SecretRegisterEntry.serial)))
    audit.record(session, actor, "document.secret_register_read", object_type="organisation",
                 object_id=user.organisation_id, details={"year": year,
                                                          "entries": len(entries)})
    return entries
