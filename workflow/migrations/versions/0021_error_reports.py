"""error reports: a recipient's report of an error in the data of an extract (Decree 121/2017
Art. 18 §2), a correction task for the facility keeping the record (Art. 10 §5)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 09:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

import workflow.db

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

STATES = ('open', 'corrected', 'no_error')
CHECKS = {
    "closed_when": "(state = 'open') = (closed_at IS NULL)",
    "closed_by": "state = 'open' OR (closed_by_id IS NOT NULL AND outcome_note IS NOT NULL)",
    "corrected_by": "(state = 'corrected') = (correction_id IS NOT NULL)",
}


def upgrade() -> None:
    op.create_table(
        'data_error_report',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('document_id', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('facility_id', sa.Integer(), nullable=False),
        sa.Column('part', sa.String(length=32), nullable=True),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('state', sa.Enum(*STATES, name='errorreportstate', native_enum=False,
                                   create_constraint=True, length=32), nullable=False),
        sa.Column('reported_at', workflow.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('reported_by_id', sa.Integer(), nullable=False),
        sa.Column('closed_at', workflow.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('closed_by_id', sa.Integer(), nullable=True),
        sa.Column('outcome_note', sa.Text(), nullable=True),
        sa.Column('correction_id', sa.Integer(), nullable=True),
        *[sa.CheckConstraint(sql, name=op.f(f'ck_data_error_report_{name}'))
          for name, sql in CHECKS.items()],
        sa.ForeignKeyConstraint(['document_id'], ['issued_document.id'],
                                name=op.f('fk_data_error_report_document_id_issued_document')),
        sa.ForeignKeyConstraint(['request_id'], ['access_request.id'],
                                name=op.f('fk_data_error_report_request_id_access_request')),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'],
                                name=op.f('fk_data_error_report_person_id_person')),
        sa.ForeignKeyConstraint(['facility_id'], ['organisation.id'],
                                name=op.f('fk_data_error_report_facility_id_organisation')),
        sa.ForeignKeyConstraint(['reported_by_id'], ['app_user.id'],
                                name=op.f('fk_data_error_report_reported_by_id_app_user')),
        sa.ForeignKeyConstraint(['closed_by_id'], ['app_user.id'],
                                name=op.f('fk_data_error_report_closed_by_id_app_user')),
        sa.ForeignKeyConstraint(['correction_id'], ['record_version.id'],
                                name=op.f('fk_data_error_report_correction_id_record_version')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_data_error_report')),
    )
    with op.batch_alter_table('data_error_report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_data_error_report_document_id'), ['document_id'],
                              unique=False)
        batch_op.create_index('ix_data_error_report_inbox', ['facility_id', 'state', 'id'],
                              unique=False)


def downgrade() -> None:
    op.drop_table('data_error_report')
