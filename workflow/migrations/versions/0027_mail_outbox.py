"""mail: users' addresses, their mail preferences, the outbox written with each notification
and the append-only record of every attempt to hand a mail to the SMTP server

Revision ID: 0027
Revises: 0028
Create Date: 2026-12-05 09:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

import workflow.db
from workflow.migrations import append_only

revision = '0027'
down_revision = '0028'
branch_labels = None
depends_on = None

APPEND_ONLY = ('mail_attempt',)
TOPICS = ('tasks', 'deadlines', 'decisions', 'extracts')
DELIVERIES = ('immediate', 'digest', 'none')


def _delivery() -> sa.Enum:
    return sa.Enum(*DELIVERIES, name='maildelivery', native_enum=False, create_constraint=True,
                   length=32)


def upgrade() -> None:
    with op.batch_alter_table('app_user') as batch:
        batch.add_column(sa.Column('email', sa.String(length=254), nullable=True))
    op.create_table(
        'mail_preference',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('topic', sa.Enum(*TOPICS, name='mailtopic', native_enum=False,
                                   create_constraint=True, length=32), nullable=False),
        sa.Column('delivery', _delivery(), nullable=False),
        sa.Column('changed_at', workflow.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id'],
                                name=op.f('fk_mail_preference_user_id_app_user')),
        sa.PrimaryKeyConstraint('user_id', 'topic', name=op.f('pk_mail_preference')),
    )
    op.create_table(
        'mail_outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('delivery', _delivery(), nullable=False),
        sa.Column('created_at', workflow.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('next_attempt_at', workflow.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('sent_at', workflow.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.CheckConstraint("delivery <> 'none'", name=op.f('ck_mail_outbox_owed')),
        sa.CheckConstraint("sent_at IS NULL OR attempts > 0",
                           name=op.f('ck_mail_outbox_sent_after_attempt')),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id'],
                                name=op.f('fk_mail_outbox_user_id_app_user')),
        sa.ForeignKeyConstraint(['request_id'], ['access_request.id'],
                                name=op.f('fk_mail_outbox_request_id_access_request')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_outbox')),
    )
    with op.batch_alter_table('mail_outbox') as batch:
        batch.create_index(batch.f('ix_mail_outbox_user_id'), ['user_id'], unique=False)
        batch.create_index('ix_mail_outbox_due', ['sent_at', 'delivery', 'next_attempt_at'],
                           unique=False)
    op.create_table(
        'mail_attempt',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('outbox_id', sa.Integer(), nullable=False),
        sa.Column('attempted_at', workflow.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['outbox_id'], ['mail_outbox.id'],
                                name=op.f('fk_mail_attempt_outbox_id_mail_outbox')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_attempt')),
    )
    with op.batch_alter_table('mail_attempt') as batch:
        batch.create_index(batch.f('ix_mail_attempt_outbox_id'), ['outbox_id'], unique=False)
    append_only.protect(op, APPEND_ONLY)


def downgrade() -> None:
    append_only.unprotect(op, APPEND_ONLY)
    op.drop_table('mail_attempt')
    op.drop_table('mail_outbox')
    op.drop_table('mail_preference')
    with op.batch_alter_table('app_user') as batch:
        batch.drop_column('email')
