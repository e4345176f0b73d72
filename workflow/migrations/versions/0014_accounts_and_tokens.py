"""system accounts and token expiry

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-01 10:00:00.000000
"""
import datetime as dt

from alembic import op
import sqlalchemy as sa
import workflow.db


revision = '0014'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('system', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    # The exchange role has always been a system account's.
    op.execute("UPDATE app_user SET system = true WHERE id IN "
               "(SELECT user_id FROM user_role WHERE role = 'exchange')")
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', workflow.db.UTCDateTime(timezone=True),
                                      nullable=True))
    # Tokens issued before expiry existed get the default lifetime from today.
    token = sa.table('api_token', sa.column('expires_at', workflow.db.UTCDateTime(timezone=True)))
    op.execute(token.update().values(
        expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=90)))
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.alter_column('expires_at', existing_type=workflow.db.UTCDateTime(timezone=True),
                              nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.drop_column('system')
