"""Who may send, receive and provide data: an exchange account of a body, for that body's own
scope (on the day), never another's."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from workflow.models import (
    ExchangeAgreement,
    Organisation,
    User,
)
from workflow.organisations.scope import management_scope
from workflow.security.permissions import Permission, can

# --- gates: who may send, receive and provide ---------------------------------------------
# Only exchange accounts move data, from the API or the command line (`--account`): the body an
# account belongs to is what it may send and what it may receive into. The installation itself
# (no user, the server's command line) only configures: trusted keys and agreements.


def can_export(session: Session, user: User | None, source: Organisation, day: dt.date) -> bool:
    """Whether the account may send the body's package: only its own body's (the package moves
    that body's sequence, so nobody else may take one)."""
    return can(user, Permission.EXCHANGE_DATA) and user.organisation_id == source.id


def can_receive(user: User | None) -> bool:
    """Whether the account receives packages at all, and so signs its receipts for them (a
    refused one too): an exchange account."""
    return can(user, Permission.EXCHANGE_DATA)


def can_import(session: Session, user: User | None, sender: Organisation, day: dt.date) -> bool:
    """Whether the account may apply the sender's packages: the sender manages facilities, and
    they all lie in the scope of the account's own body (the central centre: every sender)."""
    return can_receive(user) and receives(session, user.organisation, sender, day)


def receives(session: Session, receiver: Organisation, sender: Organisation,
             day: dt.date) -> bool:
    """Whether the sender's whole scope lies in the receiver's scope (the receiver may take the
    sender's packages in)."""
    theirs = management_scope(session, sender, day)
    ours = management_scope(session, receiver, day)
    if theirs.empty:
        return False
    return ours.nationwide or (not theirs.nationwide and theirs.facility_ids <= ours.facility_ids)


def can_resolve_conflict(session: Session, user: User | None, sender: Organisation | None,
                         day: dt.date) -> bool:
    """Whether the account may see and decide the conflicts of the sender's records: a records
    officer of a body whose scope holds the sender's (the body the packages are received
    into), since a decision writes records of that scope."""
    return (sender is not None and can(user, Permission.WRITE_RECORDS)
            and receives(session, user.organisation, sender, day))


def can_ask_again(session: Session, user: User | None, sender: Organisation | None,
                  day: dt.date) -> bool:
    """Whether the account may sign the request that the sender send records again: the
    exchange account that receives the sender's packages."""
    return sender is not None and can_import(session, user, sender, day)


def can_run_feed(session: Session, user: User | None, agreement: ExchangeAgreement,
                 day: dt.date) -> bool:
    """Whether the account may run the agreement's feed today: a feed provides the whole
    database, so only the exchange account of the body that keeps all of it, in force."""
    return (can(user, Permission.EXCHANGE_DATA) and agreement.in_force(day)
            and management_scope(session, user.organisation, day).nationwide)


def can_configure(user: User | None) -> bool:
    """Whether the actor may trust a key or record an agreement: the installation only."""
    return user is None


def can_confirm_match(session: Session, user: User | None, day: dt.date) -> bool:
    """Whether the account may say that two records of persons are one person or two: a
    records officer of the body that keeps the whole database (the records come from several
    subsystems, so no narrower scope holds both)."""
    return (can(user, Permission.WRITE_RECORDS)
            and management_scope(session, user.organisation, day).nationwide)
