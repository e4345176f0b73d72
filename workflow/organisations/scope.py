"""Management scope: which facilities a body manages on a day (its subtree, Decree Art. 12 §3a)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Integer, event, literal, select
from sqlalchemy.orm import Session, object_session

from workflow.models import Organisation, OrganisationLink
from workflow.organisations.enums import FACILITY_KINDS, OrgKind

# The central centre keeps the whole database: the police subsystem and what the army subsystem
# reports to it (Decree Arts. 7 §1, 8 §1b).
NATIONWIDE_KINDS = frozenset({OrgKind.CENTRAL_CENTRE})


@dataclass(frozen=True)
class Scope:
    """The facilities whose records a body manages, and the commune police whose persons under
    residence restriction it manages; `nationwide` means all of them."""

    facility_ids: frozenset[int]
    nationwide: bool = False
    commune_ids: frozenset[int] = frozenset()

    def covers(self, facility_id: int) -> bool:
        """Whether the facility is in scope."""
        return self.nationwide or facility_id in self.facility_ids

    def covers_commune(self, commune_id: int) -> bool:
        """Whether the persons the commune police manage are in scope."""
        return self.nationwide or commune_id in self.commune_ids

    def covers_person(self, person) -> bool:
        """Whether the person is in scope: held at one of its facilities (now or before), or
        under a residence restriction one of its communes manages now."""
        return (any(self.covers(e.facility_id) for e in person.episodes)
                or any(self.covers_commune(r.commune_id) for r in person.restrictions))

    @property
    def empty(self) -> bool:
        """Whether the body manages no facility and no commune at all (an outside body)."""
        return not self.nationwide and not self.facility_ids and not self.commune_ids


_MEMO = "scope.subtree"


def subtree_ids(session: Session, root_id: int, day: dt.date) -> set[int]:
    """The body itself and every body under it on that day."""
    # A page asks several times. Any change to a link in this session forgets the answers.
    memo = session.info.setdefault(_MEMO, {})
    if (root_id, day) not in memo:
        memo[root_id, day] = frozenset(_subtree(session, root_id, day))
    return set(memo[root_id, day])


@event.listens_for(Session, "after_attach")
def _link_added(session: Session, instance: object) -> None:
    if isinstance(instance, OrganisationLink):
        session.info.pop(_MEMO, None)


def _link_changed(target: OrganisationLink, *_args) -> None:
    session = object_session(target)
    if session is not None:
        session.info.pop(_MEMO, None)


for _column in (OrganisationLink.parent_id, OrganisationLink.organisation_id,
                OrganisationLink.valid_from, OrganisationLink.valid_to):
    event.listen(_column, "set", _link_changed)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _transaction_ended(session: Session, *_args) -> None:
    # Other transactions may change the tree from here on.
    session.info.pop(_MEMO, None)


@event.listens_for(Session, "after_flush")
def _links_flushed(session: Session, _context) -> None:
    if any(isinstance(o, OrganisationLink) for o in session.deleted):
        session.info.pop(_MEMO, None)


def _subtree(session: Session, root_id: int, day: dt.date) -> list[int]:
    # One recursive query rather than the whole tree into Python: most bodies have a small
    # subtree, and every page asks for one. UNION (not ALL) stops on a cycle.
    in_force = OrganisationLink.in_force(day)
    tree = select(literal(root_id, Integer).label("id")).cte("tree", recursive=True)
    tree = tree.union(select(OrganisationLink.organisation_id).where(
        OrganisationLink.parent_id == tree.c.id, in_force))
    return list(session.scalars(select(tree.c.id)))


def parent_on(session: Session, org_id: int, day: dt.date) -> int | None:
    """The body the organisation was under on the day."""
    return session.scalars(select(OrganisationLink.parent_id).where(
        OrganisationLink.organisation_id == org_id, OrganisationLink.in_force(day))).first()


def management_scope(session: Session, org: Organisation, day: dt.date) -> Scope:
    """The facilities and the commune police the body manages on that day (a commune police
    manages itself; a province, the communes under it)."""
    if org.kind in NATIONWIDE_KINDS:
        return Scope(frozenset(), nationwide=True)
    memo = session.info.setdefault(_MEMO, {})
    if ("scope", org.id, day) not in memo:
        kinds = dict(session.execute(select(Organisation.id, Organisation.kind).where(
            Organisation.id.in_(subtree_ids(session, org.id, day)),
            Organisation.kind.in_([*FACILITY_KINDS, OrgKind.COMMUNE_POLICE]))).all())
        memo["scope", org.id, day] = Scope(
            frozenset(i for i, k in kinds.items() if k in FACILITY_KINDS),
            commune_ids=frozenset(i for i, k in kinds.items() if k is OrgKind.COMMUNE_POLICE))
    return memo["scope", org.id, day]


def facilities_in_scope(session: Session, scope: Scope) -> list[Organisation]:
    """The facility organisations of a scope, by name."""
    stmt = select(Organisation).where(Organisation.kind.in_(list(FACILITY_KINDS)))
    if not scope.nationwide:
        stmt = stmt.where(Organisation.id.in_(scope.facility_ids))
    return list(session.execute(stmt.order_by(Organisation.name)).scalars())


# The bodies that manage facilities (the rest hold persons, or are outside bodies).
MANAGEMENT_KINDS = frozenset({
    OrgKind.CENTRAL_CENTRE, OrgKind.MINISTRY_BODY, OrgKind.PROVINCIAL_BODY,
    OrgKind.DISTRICT_BODY, OrgKind.MILITARY_REGION_BODY, OrgKind.BORDER_GUARD_COMMAND,
})


def _parents_on(session: Session, day: dt.date) -> dict[int, int]:
    rows = session.execute(select(OrganisationLink.organisation_id, OrganisationLink.parent_id)
                           .where(OrganisationLink.in_force(day)))
    return dict(rows.all())


def _chain(parents: dict[int, int], org_id: int) -> list[int]:
    chain, seen = [org_id], {org_id}
    while chain[-1] in parents and parents[chain[-1]] not in seen:
        chain.append(parents[chain[-1]])
        seen.add(chain[-1])
    return chain


def competent_body(session: Session, facility_ids: set[int], day: dt.date) -> Organisation:
    """The lowest management body above every facility; the central centre across branches."""
    parents = _parents_on(session, day)
    chains = [_chain(parents, f) for f in sorted(facility_ids)]
    common = [o for o in chains[0] if all(o in c for c in chains[1:])]
    kinds = dict(session.execute(select(Organisation.id, Organisation.kind)
                                 .where(Organisation.id.in_(common))).all())
    for org_id in common:
        if kinds[org_id] in MANAGEMENT_KINDS:
            return session.get(Organisation, org_id)
    return session.execute(select(Organisation).where(
        Organisation.kind == OrgKind.CENTRAL_CENTRE)).scalars().first()
