"""statistics scope: a statistical request names the body whose scope its figures are about
(none: the whole database), so that a body asking about its own scope needs no approval
(Decree 121/2017 Art. 12 §3a)

Revision ID: 0026
Revises: 0027
Create Date: 2026-12-05 09:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0026'
down_revision = '0027'
branch_labels = None
depends_on = None

CHECK = ("statistics_scope", "subject_kind = 'statistics' OR statistics_org_id IS NULL")


def _defer_foreign_keys() -> None:
    # SQLite rebuilds the table in a batch by dropping it, which the rows that refer to it
    # would refuse: check the keys at commit instead.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA defer_foreign_keys = ON")


def upgrade() -> None:
    _defer_foreign_keys()
    with op.batch_alter_table('access_request') as batch:
        batch.add_column(sa.Column('statistics_org_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f('fk_access_request_statistics_org_id_organisation'),
                                 'organisation', ['statistics_org_id'], ['id'])
        batch.create_check_constraint(*CHECK)


def downgrade() -> None:
    _defer_foreign_keys()
    with op.batch_alter_table('access_request') as batch:
        batch.drop_constraint(CHECK[0], type_='check')
        batch.drop_constraint(op.f('fk_access_request_statistics_org_id_organisation'),
                              type_='foreignkey')
        batch.drop_column('statistics_org_id')
