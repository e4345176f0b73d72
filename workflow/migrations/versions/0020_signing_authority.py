"""signing authority: an official's position and how they sign (KT., TL., TUQ., TM., as the
head), and the signature block each issued document printed

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30 17:10:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

AUTHORITIES = ('head', 'kt', 'tl', 'tuq', 'tm')


def upgrade() -> None:
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('position', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('signs_as', sa.Enum(
            *AUTHORITIES, name='authority', native_enum=False, create_constraint=True,
            length=32), nullable=True))
    # A plain column: no rebuild of the append-only table (SQLite would drop its triggers).
    op.add_column('issued_document', sa.Column('signed_as', sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column('issued_document', 'signed_as')
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_app_user_authority'), type_='check')
        batch_op.drop_column('signs_as')
        batch_op.drop_column('position')
