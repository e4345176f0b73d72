"""number at issue: a prepared extract is an unnumbered draft; its number, verification code and
signature come when it is released (Decree 30/2020 Art. 15: the number is given at issue), so a
superseded preview leaves no hole in the register

Documents prepared before keep the numbers they were given. A released document must have one.

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-30 19:30:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

NO_DELETE_SQLITE = ("CREATE TRIGGER issued_document_no_delete BEFORE DELETE ON issued_document "
                    "BEGIN SELECT RAISE(ABORT, 'issued documents are never deleted'); END")
NUMBERED = "state <> 'released' OR (serial IS NOT NULL AND code IS NOT NULL)"
COLUMNS = (('serial', sa.Integer()), ('number', sa.String(length=64)),
           ('code', sa.String(length=32)), ('code_key', sa.String(length=32)),
           ('signer_fingerprint', sa.String(length=64)))


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _rebuilt() -> None:
    # SQLite rebuilds the table in a batch, without its triggers: give it back its own.
    if _sqlite():
        op.execute("DROP TRIGGER IF EXISTS issued_document_no_delete")
        op.execute(NO_DELETE_SQLITE)


def upgrade() -> None:
    if _sqlite():
        op.execute("PRAGMA defer_foreign_keys = ON")
    with op.batch_alter_table('issued_document', schema=None) as batch_op:
        for name, kind in COLUMNS:
            batch_op.alter_column(name, existing_type=kind, nullable=True)
        batch_op.create_check_constraint('released_numbered', NUMBERED)
    _rebuilt()


def downgrade() -> None:
    # Drafts without a number cannot go back under the old rule: they become superseded
    # previews with a placeholder number past the register's end (never shown as issued).
    bind = op.get_bind()
    bind.execute(sa.text(
        "UPDATE issued_document SET serial = -id, number = '', code = 'DRAFT' || id, "
        "code_key = 'DRAFT' || id, signer_fingerprint = '' WHERE serial IS NULL"))
    if _sqlite():
        op.execute("PRAGMA defer_foreign_keys = ON")
    with op.batch_alter_table('issued_document', schema=None) as batch_op:
        batch_op.drop_constraint('released_numbered', type_='check')
        for name, kind in COLUMNS:
            batch_op.alter_column(name, existing_type=kind, nullable=False)
    _rebuilt()
