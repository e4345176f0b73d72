"""lifecycle checks: each state of a request, an issued document and a report implies its columns

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 11:00:00.000000
"""
from alembic import op

from workflow.models.reports import REPORT_STATE_CHECKS
from workflow.models.requests import REQUEST_STATE_CHECKS

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

# The document checks as they were at this revision (0023 adds one): a migration is frozen.
DOCUMENT_STATE_CHECKS = {
    "released_when": "state <> 'released' OR released_at IS NOT NULL",
    "revoked_when": "(state = 'revoked') = (revoked_at IS NOT NULL)",
    "released_extract_limits": "kind <> 'extract' OR state <> 'released' "
                               "OR (valid_until IS NOT NULL AND download_limit IS NOT NULL)",
}
TABLES = {"access_request": REQUEST_STATE_CHECKS, "issued_document": DOCUMENT_STATE_CHECKS,
          "facility_report": REPORT_STATE_CHECKS}
NO_DELETE_SQLITE = ("CREATE TRIGGER issued_document_no_delete BEFORE DELETE ON issued_document "
                    "BEGIN SELECT RAISE(ABORT, 'issued documents are never deleted'); END")


def _batch(table: str, add: bool) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table(table, schema=None) as batch_op:
        for name, sql in TABLES[table].items():
            if add:
                batch_op.create_check_constraint(name, sql)
            else:
                batch_op.drop_constraint(name, type_="check")
    # SQLite rebuilds the table in a batch, without its triggers: give it back its own.
    if sqlite and table == "issued_document":
        op.execute("DROP TRIGGER IF EXISTS issued_document_no_delete")
        op.execute(NO_DELETE_SQLITE)


def _defer_foreign_keys() -> None:
    # SQLite rebuilds a table by dropping it, which the rows that refer to it would refuse:
    # check the keys at commit instead, when the rebuilt table is back under its name.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA defer_foreign_keys = ON")


def upgrade() -> None:
    _defer_foreign_keys()
    for table in TABLES:
        _batch(table, add=True)


def downgrade() -> None:
    _defer_foreign_keys()
    for table in TABLES:
        _batch(table, add=False)
