"""exchange: the conflict queue (a partner's record not applied as sent, open until decided or
applied) and the receivers' requests to send a record again

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-01 15:20:00.000000
"""
import sqlalchemy as sa
from alembic import op

import workflow.db

revision = '0039'
down_revision = '0038'
branch_labels = None
depends_on = None

OPEN = "status IN ('open', 'asked')"


def upgrade() -> None:
    op.create_table(
        'exchange_conflict',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=40), nullable=False),
        sa.Column('sequence', sa.Integer(), nullable=False),
        sa.Column('record_type', sa.String(length=32), nullable=False),
        sa.Column('source_id', sa.Integer(), nullable=False),
        sa.Column('source_version', sa.Integer(), nullable=True),
        sa.Column('local_id', sa.Integer(), nullable=True),
        sa.Column('problem', sa.Text(), nullable=False),
        sa.Column('data', sa.Text(), nullable=False),
        sa.Column('needs_type', sa.String(length=32), nullable=True),
        sa.Column('needs_id', sa.Integer(), nullable=True),
        sa.Column('found_at', workflow.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('asked_at', workflow.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('closed_at', workflow.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('closed_by_id', sa.Integer(), nullable=True),
        sa.Column('closed_in', sa.Integer(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('taken', sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('open', 'asked', 'ours', 'theirs', 'merged', 'applied')",
                           name=op.f('ck_exchange_conflict_status')),
        sa.CheckConstraint(f"({OPEN}) = (closed_at IS NULL)",
                           name=op.f('ck_exchange_conflict_closed_when_decided')),
        sa.CheckConstraint("status IN ('ours', 'theirs', 'merged') OR closed_by_id IS NULL",
                           name=op.f('ck_exchange_conflict_closed_by_a_decision')),
        sa.ForeignKeyConstraint(['closed_by_id'], ['app_user.id'],
                                name=op.f('fk_exchange_conflict_closed_by_id_app_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_conflict')),
    )
    op.create_index('ix_exchange_conflict_record', 'exchange_conflict',
                    ['source', 'record_type', 'source_id'])
    op.create_index('uq_exchange_conflict_open', 'exchange_conflict',
                    ['source', 'record_type', 'source_id'], unique=True,
                    sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))
    op.create_table(
        'exchange_ask',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=40), nullable=False),
        sa.Column('receiver', sa.String(length=40), nullable=False),
        sa.Column('record_type', sa.String(length=32), nullable=False),
        sa.Column('record_id', sa.Integer(), nullable=False),
        sa.Column('asked_at', workflow.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('recorded_at', workflow.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('sent_in', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_ask')),
        sa.UniqueConstraint('source', 'receiver', 'record_type', 'record_id', 'asked_at',
                            name='uq_exchange_ask'),
    )


def downgrade() -> None:
    op.drop_table('exchange_ask')
    op.drop_index('uq_exchange_conflict_open', table_name='exchange_conflict')
    op.drop_index('ix_exchange_conflict_record', table_name='exchange_conflict')
    op.drop_table('exchange_conflict')
