"""Management scope: which facilities a body manages on a day (its subtree, Decree Art. 12 §3a)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.enums import FACILITY_KINDS, OrgKind
from workflow.models import Organisation, OrganisationLink

# The central centre keeps the whole database: the police subsystem and what the army subsystem
# reports to it (Decree Arts. 7 §1, 8 §1b).
NATIONWIDE_KINDS = frozenset({OrgKind.CENTRAL_CENTRE})


@dataclass(frozen=True)
class Scope:
    """The facilities whose records a body manages; `nationwide` means all of them."""

    facility_ids: frozenset[int]
    nationwide: bool = False

    def covers(self, facility_id: int) -> bool:
        """Whether the facility is in scope."""
        return self.nationwide or facility_id in self.facility_ids

    @property
    def empty(self) -> bool:
        """Whether the body manages no facility at all (an outside body)."""
        return not self.nationwide and not self.facility_ids


def children_on(session: Session, day: dt.date) -> dict[int, list[int]]:
    """Parent id → child ids for the links in force on that day."""
    links = session.execute(
        select(OrganisationLink.parent_id, OrganisationLink.organisation_id).where(
            OrganisationLink.valid_from <= day,
            (OrganisationLink.valid_to.is_(None)) | (OrganisationLink.valid_to > day),
        )
    ).all()
    tree: dict[int, list[int]] = defaultdict(list)
    for parent_id, child_id in links:
        tree[parent_id].append(child_id)
    return tree


def subtree_ids(session: Session, root_id: int, day: dt.date) -> set[int]:
    """The body itself and every body under it on that day."""
    tree = children_on(session, day)
    seen, stack = {root_id}, [root_id]
    while stack:
        for child in tree.get(stack.pop(), ()):
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return seen


def management_scope(session: Session, org: Organisation, day: dt.date) -> Scope:
    """The facilities the body manages on that day."""
    if org.kind in NATIONWIDE_KINDS:
        return Scope(frozenset(), nationwide=True)
    ids = subtree_ids(session, org.id, day)
    facilities = session.execute(
        select(Organisation.id).where(
            Organisation.id.in_(ids), Organisation.kind.in_(list(FACILITY_KINDS))
        )
    ).scalars()
    return Scope(frozenset(facilities))


def facilities_in_scope(session: Session, scope: Scope) -> list[Organisation]:
    """The facility organisations of a scope, by name."""
    stmt = select(Organisation).where(Organisation.kind.in_(list(FACILITY_KINDS)))
    if not scope.nationwide:
        stmt = stmt.where(Organisation.id.in_(scope.facility_ids))
    return list(session.execute(stmt.order_by(Organisation.name)).scalars())
