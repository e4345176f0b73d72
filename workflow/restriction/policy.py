"""Who may do what to a residence restriction: the clerks of the commune police that manage it
and of the bodies above it (a province, its communes); on a handover, those of the receiving
commune. Reading one is reading the person's record (`records.policy.can_read_person`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from workflow.models import Organisation, RestrictionEpisode, User
from workflow.organisations.enums import OrgKind
from workflow.organisations.scope import management_scope
from workflow.records.policy import can_read_person
from workflow.security.permissions import Permission, can


def _writes_for(session: Session, user: User | None, commune_id: int | None,
                day: dt.date) -> bool:
    return (commune_id is not None and can(user, Permission.WRITE_RECORDS)
            and management_scope(session, user.organisation, day).covers_commune(commune_id))


def can_view_restriction(session: Session, user: User | None, episode: RestrictionEpisode,
                         day: dt.date) -> bool:
    """Whether the user may read the episode: whoever may read the person's record."""
    return can_read_person(session, user, episode.person, day)


def can_open_restriction(session: Session, user: User | None, commune: Organisation | None,
                         day: dt.date) -> bool:
    """Whether the user may place a person under the commune's management: clerks of that
    commune police or of a body above it."""
    return (commune is not None and commune.kind is OrgKind.COMMUNE_POLICE
            and commune.active_on(day) and _writes_for(session, user, commune.id, day))


def can_manage_restriction(session: Session, user: User | None, episode: RestrictionEpisode,
                           day: dt.date) -> bool:
    """Whether the user may record the episode's events, hand it over or end it: clerks of the
    commune managing it now, or of a body above that commune."""
    return _writes_for(session, user, episode.commune_id, day)


def can_receive_restriction(session: Session, user: User | None, episode: RestrictionEpisode,
                            day: dt.date) -> bool:
    """Whether the user may take over an episode being handed over: clerks of the receiving
    commune, or of a body above it."""
    return _writes_for(session, user, episode.handover_to_id, day)
