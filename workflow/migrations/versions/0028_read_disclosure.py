"""read disclosure: the body handling a case lets the persons under it see the reads of their
record withheld while the case was under investigation (append-only)

Revision ID: 0028
Revises: 0024
Create Date: 2026-12-01 09:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

from workflow.db import UTCDateTime
from workflow.migrations import append_only

revision = '0028'
down_revision = '0024'
branch_labels = None
depends_on = None

APPEND_ONLY = ("read_disclosure",)


def upgrade() -> None:
    op.create_table(
        'read_disclosure',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('disclosed_through', UTCDateTime(timezone=True), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('by_user_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['by_user_id'], ['app_user.id'],
                                name=op.f('fk_read_disclosure_by_user_id_app_user')),
        sa.ForeignKeyConstraint(['case_id'], ['criminal_case.id'],
                                name=op.f('fk_read_disclosure_case_id_criminal_case')),
        sa.ForeignKeyConstraint(['org_id'], ['organisation.id'],
                                name=op.f('fk_read_disclosure_org_id_organisation')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_read_disclosure')),
    )
    op.create_index('ix_read_disclosure_case', 'read_disclosure',
                    ['case_id', 'disclosed_through'])
    append_only.protect(op, APPEND_ONLY)


def downgrade() -> None:
    append_only.unprotect(op, APPEND_ONLY)
    op.drop_index('ix_read_disclosure_case', table_name='read_disclosure')
    op.drop_table('read_disclosure')
