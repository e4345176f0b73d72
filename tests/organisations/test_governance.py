"""The chain of administrative subordination beside the custody tree, and the bodies'
abbreviations, for the documents they issue (Decree 30/2020)."""

from __future__ import annotations

from sqlalchemy import select

from tests.helpers import org
from workflow.db import make_engine
from workflow.models import Organisation
from workflow.organisations.enums import NON_STATE_KINDS
from workflow.organisations.governance import province_initials
from workflow.schema import upgrade

# code → (abbreviation, governing body's code)
EXPECTED = {
    "CA-HANOI": ("CAHN", "BCA"), "CA-HOCHIMINH": ("CAHCM", "BCA"),
    "TTG-HANOI": ("TTG-CAHN", "CA-HANOI"), "CSDT-HANOI": ("CSĐT-CAHN", "CA-HANOI"),
    "VKS-HANOI": ("VKSHN", "VKSTC"), "TA-HOCHIMINH": ("TAHCM", "TATC"),
    "NTG-HANOI-1": ("NTG1-CAHN", "CA-HANOI"), "C11": ("C11", "BCA"),
    "C11-T1": ("T16", "BCA"), "BCA": ("BCA", None), "QK7": ("THA-QK7", "BQP"),
    "QK7-TTG": ("TTG-QK7", "BQP"), "VKSKV-HANOI": ("VKSKV1-HN", "VKS-HANOI"),
    "BP-LAOCAI": ("BĐBP-LCA", "BQP"),
}


def _governance(db) -> dict[str, tuple[str | None, str | None]]:
    codes = dict(db.execute(select(Organisation.id, Organisation.code)).all())
    return {o.code: (o.abbreviation, codes.get(o.governing_id))
            for o in db.scalars(select(Organisation).where(Organisation.code.in_(EXPECTED)))}


def test_each_body_has_its_abbreviation_and_the_body_that_governs_it(db):
    assert _governance(db) == EXPECTED
    # The custody tree is another chain: the provincial police answers to C11 there.
    assert province_initials("Đắk Lắk") == "ĐL" and province_initials("Đà Nẵng") == "ĐNG"
    assert org(db, "CA-HANOI").governing.code == "BCA"


def test_the_migration_gives_bodies_already_there_the_same(db, database_url, app):
    """A database made before the governance columns: the migration fills them as the tree
    builder would."""
    app.extensions["custody_engine"].dispose()
    engine = make_engine(database_url)
    upgrade(engine, "0018")
    upgrade(engine)
    engine.dispose()
    db.expire_all()
    assert _governance(db) == EXPECTED


def test_no_two_bodies_share_an_abbreviation(db):
    """Each body numbers its documents in its own register: two with one abbreviation would
    both issue '01/PCCTT-…'. Requesters outside the state issue none."""
    rows = db.execute(select(Organisation.code, Organisation.abbreviation).where(
        Organisation.kind.not_in(sorted(NON_STATE_KINDS)))).all()
    assert len(rows) > 300 and all(abbreviation for _code, abbreviation in rows)
    holders: dict[str, list[str]] = {}
    for code, abbreviation in rows:
        holders.setdefault(abbreviation, []).append(code)
    assert {a: codes for a, codes in holders.items() if len(codes) > 1} == {}
    assert {province_initials(p) for p in ("Lào Cai", "Lai Châu")} == {"LCA", "LCH"}
