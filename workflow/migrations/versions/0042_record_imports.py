"""record imports: a facility's file of records kept in the database for the job that imports
it (either node's worker), then its report in place of the file

Revision ID: 0042
Revises: 0039
Create Date: 2026-12-01 15:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0042'
down_revision = '0039'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'record_import',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('job_id', sa.Integer(), nullable=False),
        sa.Column('facility_id', sa.Integer(), nullable=False),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('rows', sa.Integer(), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=True),
        sa.Column('report_json', sa.Text(), nullable=True),
        sa.CheckConstraint('content IS NULL OR report_json IS NULL',
                           name=op.f('ck_record_import_file_or_report')),
        sa.ForeignKeyConstraint(['job_id'], ['background_job.id'],
                                name=op.f('fk_record_import_job_id_background_job')),
        sa.ForeignKeyConstraint(['facility_id'], ['organisation.id'],
                                name=op.f('fk_record_import_facility_id_organisation')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_record_import')),
        sa.UniqueConstraint('job_id', name=op.f('uq_record_import_job_id')),
    )


def downgrade() -> None:
    op.drop_table('record_import')
