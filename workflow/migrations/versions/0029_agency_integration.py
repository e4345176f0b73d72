"""agencies' own systems: the requester's own reference on each request (unique in its body
among unfinished requests), webhooks of requesting bodies, their outbox written with each
state change and the append-only record of every delivery attempt

Revision ID: 0029
Revises: 0030
Create Date: 2026-12-06 09:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

import workflow.db
from workflow.migrations import append_only

revision = '0029'
down_revision = '0030'
branch_labels = None
depends_on = None

APPEND_ONLY = ('webhook_attempt',)
STATES = ('draft', 'submitted', 'returned', 'awaiting_approval', 'awaiting_consent',
          'approved', 'refused', 'withdrawn', 'released', 'closed', 'expired')
HELD = sa.text("requester_reference IS NOT NULL AND state IN ('approved', 'awaiting_approval', "
               "'awaiting_consent', 'draft', 'returned', 'submitted')")


def _state(name: str) -> sa.Enum:
    return sa.Enum(*STATES, name=name, native_enum=False, create_constraint=True, length=32)


def upgrade() -> None:
    with op.batch_alter_table('access_request') as batch:
        batch.add_column(sa.Column('requester_reference', sa.String(length=64), nullable=True))
    op.create_index('uq_access_request_reference', 'access_request',
                    ['requester_org_id', 'requester_reference'], unique=True,
                    sqlite_where=HELD, postgresql_where=HELD)
    op.create_table(
        'webhook',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('url', sa.String(length=500), nullable=False),
        sa.Column('secret', sa.String(length=128), nullable=False),
        sa.Column('created_at', workflow.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('disabled_at', workflow.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('disabled_by_id', sa.Integer(), nullable=True),
        sa.CheckConstraint('(disabled_at IS NULL) = (disabled_by_id IS NULL)',
                           name=op.f('ck_webhook_disabled_by')),
        sa.ForeignKeyConstraint(['org_id'], ['organisation.id'],
                                name=op.f('fk_webhook_org_id_organisation')),
        sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'],
                                name=op.f('fk_webhook_created_by_id_app_user')),
        sa.ForeignKeyConstraint(['disabled_by_id'], ['app_user.id'],
                                name=op.f('fk_webhook_disabled_by_id_app_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook')),
    )
    with op.batch_alter_table('webhook') as batch:
        batch.create_index(batch.f('ix_webhook_org_id'), ['org_id'], unique=False)
    op.create_table(
        'webhook_outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('webhook_id', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=False),
        sa.Column('from_state', _state('from_state'), nullable=False),
        sa.Column('to_state', _state('to_state'), nullable=False),
        sa.Column('occurred_at', workflow.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('next_attempt_at', workflow.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('delivered_at', workflow.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.CheckConstraint('delivered_at IS NULL OR attempts > 0',
                           name=op.f('ck_webhook_outbox_delivered_after_attempt')),
        sa.ForeignKeyConstraint(['webhook_id'], ['webhook.id'],
                                name=op.f('fk_webhook_outbox_webhook_id_webhook')),
        sa.ForeignKeyConstraint(['request_id'], ['access_request.id'],
                                name=op.f('fk_webhook_outbox_request_id_access_request')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_outbox')),
    )
    with op.batch_alter_table('webhook_outbox') as batch:
        batch.create_index(batch.f('ix_webhook_outbox_webhook_id'), ['webhook_id'],
                           unique=False)
        batch.create_index('ix_webhook_outbox_due', ['delivered_at', 'next_attempt_at'],
                           unique=False)
    op.create_table(
        'webhook_attempt',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('outbox_id', sa.Integer(), nullable=False),
        sa.Column('attempted_at', workflow.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('status', sa.Integer(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['outbox_id'], ['webhook_outbox.id'],
                                name=op.f('fk_webhook_attempt_outbox_id_webhook_outbox')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_attempt')),
    )
    with op.batch_alter_table('webhook_attempt') as batch:
        batch.create_index(batch.f('ix_webhook_attempt_outbox_id'), ['outbox_id'],
                           unique=False)
    append_only.protect(op, APPEND_ONLY)


def downgrade() -> None:
    append_only.unprotect(op, APPEND_ONLY)
    op.drop_table('webhook_attempt')
    op.drop_table('webhook_outbox')
    op.drop_table('webhook')
    op.drop_index('uq_access_request_reference', table_name='access_request')
    with op.batch_alter_table('access_request') as batch:
        batch.drop_column('requester_reference')
