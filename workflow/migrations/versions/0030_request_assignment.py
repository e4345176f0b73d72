"""request assignment: a body's work queue gives a request to a named officer and a backup
(append-only: the latest row per request and body is the current one)

Revision ID: 0030
Revises: 0025
Create Date: 2026-12-01 12:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

import workflow.db
from workflow.migrations import append_only

revision = '0030'
down_revision = '0025'
branch_labels = None
depends_on = None

APPEND_ONLY = ("request_assignment",)


def upgrade() -> None:
    op.create_table(
        'request_assignment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('officer_id', sa.Integer(), nullable=False),
        sa.Column('backup_id', sa.Integer(), nullable=True),
        sa.Column('assigned_by_id', sa.Integer(), nullable=False),
        sa.Column('at', workflow.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('reason', sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(['request_id'], ['access_request.id'],
                                name=op.f('fk_request_assignment_request_id_access_request')),
        sa.ForeignKeyConstraint(['org_id'], ['organisation.id'],
                                name=op.f('fk_request_assignment_org_id_organisation')),
        sa.ForeignKeyConstraint(['officer_id'], ['app_user.id'],
                                name=op.f('fk_request_assignment_officer_id_app_user')),
        sa.ForeignKeyConstraint(['backup_id'], ['app_user.id'],
                                name=op.f('fk_request_assignment_backup_id_app_user')),
        sa.ForeignKeyConstraint(['assigned_by_id'], ['app_user.id'],
                                name=op.f('fk_request_assignment_assigned_by_id_app_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_request_assignment')),
    )
    op.create_index('ix_request_assignment_request', 'request_assignment',
                    ['request_id', 'org_id', 'id'])
    append_only.protect(op, APPEND_ONLY)


def downgrade() -> None:
    append_only.unprotect(op, APPEND_ONLY)
    op.drop_index('ix_request_assignment_request', table_name='request_assignment')
    op.drop_table('request_assignment')
