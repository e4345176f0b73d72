"""scheduled work: one row per task and slot of its schedule, claimed before the task runs so
that two workers never run one slot twice, then marked done or failed with what it reported

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-01 10:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

import workflow.db

revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'scheduled_run',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('task', sa.String(length=40), nullable=False),
        sa.Column('slot', workflow.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('worker', sa.String(length=120), nullable=False),
        sa.Column('started_at', workflow.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('finished_at', workflow.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('outcome', sa.String(length=10), nullable=False),
        sa.Column('summary', sa.Text(), nullable=True),
        sa.CheckConstraint("outcome IN ('running', 'done', 'failed')",
                           name=op.f('ck_scheduled_run_outcome')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_scheduled_run')),
        sa.UniqueConstraint('task', 'slot', name=op.f('uq_scheduled_run_task')),
    )


def downgrade() -> None:
    op.drop_table('scheduled_run')
