"""The database itself ties each lifecycle state to its columns (migration 0016): a request
returned without its clock paused, a revoked document without the time, a returned report
without the note are refused by CHECK constraints on both back-ends, also after the migration
is undone and done again over existing data."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from workflow.db import make_engine
from workflow.schema import current_revision, head_revision, upgrade

BAD = {
    "access_request": "UPDATE access_request SET state = 'returned', paused_at = NULL "
                      "WHERE id = (SELECT min(id) FROM access_request)",
    "issued_document": "UPDATE issued_document SET state = 'revoked', revoked_at = NULL "
                       "WHERE id = (SELECT min(id) FROM issued_document)",
    "facility_report": "UPDATE facility_report SET state = 'returned', decision_note = NULL, "
                       "submitted_at = created_at, decided_at = created_at, "
                       "decided_by_id = created_by_id "
                       "WHERE id = (SELECT min(id) FROM facility_report)",
}


# The demo files no reports: a draft one to try.
DRAFT_REPORT = ("INSERT INTO facility_report (facility_id, kind, period_start, period_end, title, "
                "figures, body, state, version, created_at, created_by_id) SELECT min(o.id), "
                "'incident', '2026-11-01', '2026-11-01', 'Sự việc', '{}', '', 'draft', 1, "
                "'2026-11-02 00:00:00', min(u.id) FROM organisation o, app_user u "
                "WHERE o.code = 'TTG-HANOI'")


def _refused(engine, table: str) -> None:
    if table == "facility_report":
        with engine.begin() as conn:
            conn.execute(text(DRAFT_REPORT))
    with engine.connect() as conn:
        count = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
        conn.rollback()
        assert count, f"the demo has no {table} to try"
        with pytest.raises(IntegrityError, match=f"ck_{table}|CHECK constraint"), conn.begin():
            conn.execute(text(BAD[table]))


@pytest.fixture
def documents(app, db):
    """An extract prepared through the application (the demo issues no documents)."""
    from tests.worlds import World, arrange, prepare

    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        _person, request = arrange(world, db)
        prepare(world, request.id)
        session.commit()


@pytest.mark.parametrize("table", sorted(BAD))
def test_a_state_without_its_columns_is_refused(database_url, documents, table):
    engine = make_engine(database_url)
    _refused(engine, table)
    engine.dispose()


def test_the_checks_survive_undoing_and_redoing_the_migration(database_url, documents):
    engine = make_engine(database_url)
    upgrade(engine, "0015")
    assert current_revision(engine) == "0015"
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    for table in BAD:
        _refused(engine, table)
    engine.dispose()
