"""personal signatures: a signing credential may belong to a person (their key on a PKCS#11
token, named by the token's label) and carries the image a signature shows on the page (the
signer's signature, or the organisation's seal: Decree 30/2020, Appendix I)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04 09:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('signing_credential') as batch:
        batch.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('token_label', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('image', sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column('image_type', sa.String(length=32), nullable=True))
        batch.create_foreign_key(op.f('fk_signing_credential_user_id_app_user'), 'app_user',
                                 ['user_id'], ['id'])
        batch.create_index(op.f('ix_signing_credential_user_id'), ['user_id'])


def downgrade() -> None:
    with op.batch_alter_table('signing_credential') as batch:
        batch.drop_index(op.f('ix_signing_credential_user_id'))
        batch.drop_constraint(op.f('fk_signing_credential_user_id_app_user'), type_='foreignkey')
        for column in ('image_type', 'image', 'token_label', 'user_id'):
            batch.drop_column(column)
