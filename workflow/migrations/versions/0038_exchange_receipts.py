"""exchange: the body of each package sent (so it can be made again), partners' retired keys
accepted for an overlap, the receivers' signed receipts (append-only), and persons received
who may be ones already here, to confirm

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-01 11:45:00.000000
"""
import sqlalchemy as sa
from alembic import op

import workflow.db
from workflow.migrations import append_only

revision = '0038'
down_revision = '0037'
branch_labels = None
depends_on = None

APPEND_ONLY = ("exchange_receipt",)


def upgrade() -> None:
    op.add_column('exchange_package', sa.Column('body', sa.Text(), nullable=True))
    op.create_table(
        'exchange_retired_key',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('partner_id', sa.Integer(), nullable=False),
        sa.Column('key_id', sa.String(length=16), nullable=False),
        sa.Column('public_key', sa.Text(), nullable=False),
        sa.Column('retired_at', workflow.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('accepted_until', workflow.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['partner_id'], ['exchange_partner.id'],
                                name=op.f('fk_exchange_retired_key_partner_id_exchange_partner')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_retired_key')),
        sa.UniqueConstraint('partner_id', 'key_id', name='uq_exchange_retired_key'),
    )
    op.create_table(
        'exchange_receipt',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('package_id', sa.Integer(), nullable=False),
        sa.Column('receiver', sa.String(length=40), nullable=False),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('conflicts', sa.Integer(), nullable=False),
        sa.Column('signed_at', workflow.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('document', sa.Text(), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('recorded_at', workflow.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['package_id'], ['exchange_package.id'],
                                name=op.f('fk_exchange_receipt_package_id_exchange_package')),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['app_user.id'],
                                name=op.f('fk_exchange_receipt_recorded_by_id_app_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_receipt')),
        sa.UniqueConstraint('digest', name=op.f('uq_exchange_receipt_digest')),
    )
    op.create_index(op.f('ix_exchange_receipt_package_id'), 'exchange_receipt', ['package_id'])
    op.create_table(
        'person_match',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=40), nullable=False),
        sa.Column('source_id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('candidate_id', sa.Integer(), nullable=False),
        sa.Column('found_at', workflow.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('decided_at', workflow.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('open', 'same', 'different')",
                           name=op.f('ck_person_match_status')),
        sa.CheckConstraint("(status = 'open') = (decided_at IS NULL)",
                           name=op.f('ck_person_match_decided_when_closed')),
        sa.ForeignKeyConstraint(['candidate_id'], ['person.id'],
                                name=op.f('fk_person_match_candidate_id_person')),
        sa.ForeignKeyConstraint(['decided_by_id'], ['app_user.id'],
                                name=op.f('fk_person_match_decided_by_id_app_user')),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'],
                                name=op.f('fk_person_match_person_id_person')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_person_match')),
        sa.UniqueConstraint('person_id', 'candidate_id', name='uq_person_match_pair'),
    )
    op.create_index(op.f('ix_person_match_person_id'), 'person_match', ['person_id'])
    append_only.protect(op, APPEND_ONLY)


def downgrade() -> None:
    append_only.unprotect(op, APPEND_ONLY)
    op.drop_index(op.f('ix_person_match_person_id'), table_name='person_match')
    op.drop_table('person_match')
    op.drop_index(op.f('ix_exchange_receipt_package_id'), table_name='exchange_receipt')
    op.drop_table('exchange_receipt')
    op.drop_table('exchange_retired_key')
    # Not a batch copy on SQLite: that would drop the table's append-only triggers.
    op.execute('ALTER TABLE exchange_package DROP COLUMN body')
