"""kiosk: a facility's registered devices, the PINs of persons' kiosk accounts, and kiosk
sessions tied to their device

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import workflow.db


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('kiosk_device',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('facility_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('registered_at', workflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('registered_by_id', sa.Integer(), nullable=False),
    sa.Column('kiosk_since', workflow.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('kiosk_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['facility_id'], ['organisation.id'], name=op.f('fk_kiosk_device_facility_id_organisation')),
    sa.ForeignKeyConstraint(['registered_by_id'], ['app_user.id'], name=op.f('fk_kiosk_device_registered_by_id_app_user')),
    sa.ForeignKeyConstraint(['kiosk_by_id'], ['app_user.id'], name=op.f('fk_kiosk_device_kiosk_by_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kiosk_device')),
    sa.UniqueConstraint('secret_hash', name=op.f('uq_kiosk_device_secret_hash'))
    )
    with op.batch_alter_table('kiosk_device', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kiosk_device_facility_id'), ['facility_id'],
                              unique=False)
    op.create_table('kiosk_pin',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('pin_hash', sa.String(length=255), nullable=False),
    sa.Column('issued_at', workflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('failed_tries', sa.Integer(), nullable=False),
    sa.Column('failed_since', workflow.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('locked_at', workflow.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_kiosk_pin_user_id_app_user')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['app_user.id'], name=op.f('fk_kiosk_pin_issued_by_id_app_user')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_kiosk_pin'))
    )
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kiosk_device_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_user_session_kiosk_device_id_kiosk_device'),
                                    'kiosk_device', ['kiosk_device_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_user_session_kiosk_device_id_kiosk_device'),
                                 type_='foreignkey')
        batch_op.drop_column('kiosk_device_id')
    op.drop_table('kiosk_pin')
    with op.batch_alter_table('kiosk_device', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kiosk_device_facility_id'))
    op.drop_table('kiosk_device')
