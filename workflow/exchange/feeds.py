"""Feeds under agreements: the defined fields of the persons whose records changed since the last
run, provided to another database (the crime-prevention database) only under an agreement in
force."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.audit import chain as audit
from workflow.context import Actor
from workflow.errors import Forbidden, InvalidInput, NotFound
from workflow.exchange import changelog
from workflow.exchange.policy import can_configure, can_run_feed
from workflow.exchange.wire import canonical, sign
from workflow.i18n import N_
from workflow.models import (
    ChangeLogEntry,
    ExchangeAgreement,
    FeedRun,
    Person,
    RecordVersion,
)
from workflow.security.permissions import Permission, require

FEED_FORMAT = "custody-feed/1"
FEED_FIELDS: dict[str, str] = {
    "full_name": N_("Full name"), "birth_date": N_("Date of birth"), "sex": N_("Sex"),
    "nationality": N_("Nationality"), "identity_numbers": N_("Identity numbers"),
    "facility": N_("Facility"), "measure": N_("Measure"), "start_date": N_("Start date"),
    "end_date": N_("End date"), "case_number": N_("Case number"), "charges": N_("Charges"),
}


# --- feeds under agreements -----------------------------------------------------------------


def create_agreement(session: Session, actor: Actor, *, partner: str, fields: list[str],
                     purpose: str, approval_ref: str, valid_from: dt.date,
                     valid_to: dt.date) -> ExchangeAgreement:
    """Record an approved agreement (from the command line: who approved is in its reference)."""
    if not can_configure(actor.user):
        raise Forbidden(N_("Agreements are recorded by the administrators of the database."))
    unknown = sorted(set(fields) - set(FEED_FIELDS))
    if unknown or not fields:
        raise InvalidInput(N_("Unknown or missing fields: %(fields)s. Allowed: %(allowed)s."),
                           fields=", ".join(unknown) or "-", allowed=", ".join(FEED_FIELDS))
    if valid_to < valid_from:
        raise InvalidInput(N_("The agreement ends before it starts."))
    if not partner.strip() or not approval_ref.strip() or len(purpose.strip()) < 10:
        raise InvalidInput(N_("Name the partner, the approval document and the purpose."))
    agreement = ExchangeAgreement(
        partner=partner.strip(), fields_json=json.dumps([f for f in FEED_FIELDS if f in fields]),
        purpose=purpose.strip(), approval_ref=approval_ref.strip(), valid_from=valid_from,
        valid_to=valid_to, created_at=actor.now)
    session.add(agreement)
    session.flush()
    audit.record(session, actor, "exchange.agreement", object_type="agreement",
                 object_id=agreement.id, details={"partner": agreement.partner,
                                                  "fields": agreement.fields,
                                                  "until": valid_to.isoformat()})
    return agreement


def run_feed(session: Session, actor: Actor, agreement_id: int, key: Ed25519PrivateKey) -> dict:
    """The agreed fields of every person whose records changed since the last run, signed."""
    require(actor.user, Permission.EXCHANGE_DATA)
    agreement = session.get(ExchangeAgreement, agreement_id)
    if agreement is None:
        raise NotFound(N_("No such agreement."))
    if not agreement.in_force(actor.today):
        raise Forbidden(N_("The agreement is not in force today (%(start)s – %(end)s): nothing "
                           "is provided."), start=agreement.valid_from.strftime("%d/%m/%Y"),
                        end=agreement.valid_to.strftime("%d/%m/%Y"))
    if not can_run_feed(session, actor.user, agreement, actor.today):
        raise Forbidden(N_("Only the exchange account of the body that keeps the whole database "
                           "runs a feed."))
    last = session.scalar(select(FeedRun).where(FeedRun.agreement_id == agreement.id)
                          .order_by(FeedRun.id.desc()).limit(1))
    until = changelog.place(session)
    since = _end_of(session, last)
    person_ids = sorted(session.scalars(select(RecordVersion.person_id).join(
        ChangeLogEntry, ChangeLogEntry.version_id == RecordVersion.id).join(
        Person, Person.id == RecordVersion.person_id).where(
        ChangeLogEntry.position > since, ChangeLogEntry.position <= until,
        Person.merged_into_id.is_(None)).distinct()))
    rows = [_feed_row(session, pid, agreement.fields) for pid in person_ids]
    body = {"format": FEED_FORMAT, "agreement": agreement.id, "partner": agreement.partner,
            "approval_ref": agreement.approval_ref, "fields": agreement.fields,
            "run": (session.scalar(select(func.count()).select_from(FeedRun).where(
                FeedRun.agreement_id == agreement.id)) or 0) + 1,
            "created_at": actor.now.isoformat(), "persons": rows}
    session.add(FeedRun(agreement_id=agreement.id, at=actor.now,
                        actor_id=actor.user.id if actor.user else None, since_mark=since,
                        until_mark=until, marks="log", persons=len(rows),
                        sha256=hashlib.sha256(canonical(body)).hexdigest()))
    audit.record(session, actor, "exchange.feed", object_type="agreement",
                 object_id=agreement.id, details={"persons": len(rows), "run": body["run"]})
    return sign(body, key)


def _end_of(session: Session, run: FeedRun | None) -> int:
    """The log position the run ended at; for a run made before the log, whose mark is the
    highest version id it read, the position before the first version above that id (a version
    at or below it placed later, which that run may have missed, is given again)."""
    if run is None:
        return 0
    if run.marks == "log":
        return run.until_mark
    return changelog.before_version(session, run.until_mark)


def _feed_row(session: Session, person_id: int, fields: list[str]) -> dict:
    person = session.get(Person, person_id)
    episode = person.episodes[-1] if person.episodes else None
    case = episode.case if episode else None
    everything = {
        "full_name": person.full_name, "birth_date": person.birth_date.isoformat(),
        "sex": person.sex.value, "nationality": person.nationality,
        "identity_numbers": [{"kind": i.kind.value, "value": i.value}
                             for i in person.identifiers],
        "facility": episode.facility.code if episode else None,
        "measure": episode.measure.value if episode else None,
        "start_date": episode.start_date.isoformat() if episode else None,
        "end_date": episode.end_date.isoformat() if episode and episode.end_date else None,
        "case_number": case.number if case else None,
        "charges": case.charges if case else None,
    }
    return {"ref": person.id, **{f: everything[f] for f in fields}}
