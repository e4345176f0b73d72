"""verification code keys: each issued document is found by its code however it was typed

The codes issued until now (RFC 4648 base32, A-Z and 2-7) stay as printed; each gets the key the
verification page looks up (`workflow.documents.codes.key_of`: O read as 0, I and L as 1), so an
old code typed exactly or with 0 for O still finds its document. New codes (Crockford's base32)
are their own keys.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 10:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

from workflow.documents.codes import key_of

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

NO_DELETE_SQLITE = ("CREATE TRIGGER issued_document_no_delete BEFORE DELETE ON issued_document "
                    "BEGIN SELECT RAISE(ABORT, 'issued documents are never deleted'); END")
DOCUMENT = sa.table('issued_document', sa.column('id', sa.Integer),
                    sa.column('code', sa.String(32)), sa.column('code_key', sa.String(32)))


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _rebuilt() -> None:
    # SQLite rebuilds the table in a batch, without its triggers: give it back its own; and the
    # rows that refer to it are checked at commit, when the rebuilt table is back under its name.
    if _sqlite():
        op.execute("DROP TRIGGER IF EXISTS issued_document_no_delete")
        op.execute(NO_DELETE_SQLITE)


def upgrade() -> None:
    if _sqlite():
        op.execute("PRAGMA defer_foreign_keys = ON")
    with op.batch_alter_table('issued_document', schema=None) as batch_op:
        batch_op.add_column(sa.Column('code_key', sa.String(length=32), nullable=True))
    bind = op.get_bind()
    keys = [{"row": row.id, "key": key_of(row.code)}
            for row in bind.execute(sa.select(DOCUMENT.c.id, DOCUMENT.c.code))]
    if keys:
        bind.execute(DOCUMENT.update().where(DOCUMENT.c.id == sa.bindparam("row"))
                     .values(code_key=sa.bindparam("key")), keys)
    with op.batch_alter_table('issued_document', schema=None) as batch_op:
        batch_op.alter_column('code_key', existing_type=sa.String(length=32), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_issued_document_code_key'),
                                          ['code_key'])
    _rebuilt()


def downgrade() -> None:
    if _sqlite():
        op.execute("PRAGMA defer_foreign_keys = ON")
    with op.batch_alter_table('issued_document', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_issued_document_code_key'), type_='unique')
        batch_op.drop_column('code_key')
    _rebuilt()
