"""background jobs: long work (an extract of many pages) queued off the request path, with its
progress, attempts and outcome; the queue carries only the row's id

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-01 12:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

import workflow.db

revision = '0033'
down_revision = '0032'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'background_job',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=True),
        sa.Column('document_id', sa.Integer(), nullable=True),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('ip', sa.String(length=64), nullable=True),
        sa.Column('params_json', sa.Text(), nullable=False),
        sa.Column('parts_done', sa.Integer(), nullable=False),
        sa.Column('parts_total', sa.Integer(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('max_attempts', sa.Integer(), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('worker', sa.String(length=120), nullable=True),
        sa.Column('created_at', workflow.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('started_at', workflow.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('heartbeat_at', workflow.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('finished_at', workflow.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("state IN ('queued', 'running', 'done', 'failed')",
                           name=op.f('ck_background_job_state')),
        sa.ForeignKeyConstraint(['request_id'], ['access_request.id'],
                                name=op.f('fk_background_job_request_id_access_request')),
        sa.ForeignKeyConstraint(['document_id'], ['issued_document.id'],
                                name=op.f('fk_background_job_document_id_issued_document')),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id'],
                                name=op.f('fk_background_job_user_id_app_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_background_job')),
    )
    op.create_index('ix_background_job_request', 'background_job', ['request_id', 'state'])
    op.create_index('ix_background_job_state', 'background_job', ['state', 'heartbeat_at'])


def downgrade() -> None:
    op.drop_index('ix_background_job_state', table_name='background_job')
    op.drop_index('ix_background_job_request', table_name='background_job')
    op.drop_table('background_job')
