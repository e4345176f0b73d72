"""requesters outside the state (Art. 12 §3b): law firms, other organisations and individuals as
kinds of organisation, the vetting of each requester's identity by a body that vouches for them,
and the detained persons each acts for

Revision ID: 0031
Revises: 0029
Create Date: 2026-12-01 09:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

import workflow.db

revision = '0031'
down_revision = '0029'
branch_labels = None
depends_on = None

KINDS = ('ministry', 'central_centre', 'ministry_body', 'provincial_body', 'district_body',
         'military_region_body', 'border_guard_command', 'detention_camp', 'custody_house',
         'border_custody_room', 'procuracy', 'court', 'investigation_agency', 'other_state_body')
NEW_KINDS = ('law_firm', 'non_state_org', 'individual')


def _kinds(values: tuple[str, ...]) -> str:
    return "kind IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def upgrade() -> None:
    with op.batch_alter_table('organisation') as batch:
        batch.drop_constraint(op.f('ck_organisation_orgkind'), type_='check')
        batch.create_check_constraint(op.f('ck_organisation_orgkind'), _kinds(KINDS + NEW_KINDS))
    op.create_table(
        'requester_vetting',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', _enum('requesterkind', 'lawyer', 'relative', 'representative',
                                'other'), nullable=False),
        sa.Column('identity_document', sa.String(length=120), nullable=False),
        sa.Column('credential', sa.String(length=120), nullable=True),
        sa.Column('vouched_by_org_id', sa.Integer(), nullable=False),
        sa.Column('vouched_by_id', sa.Integer(), nullable=True),
        sa.Column('vouched_at', workflow.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('withdrawn_at', workflow.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('withdrawn_by_id', sa.Integer(), nullable=True),
        sa.CheckConstraint('(withdrawn_at IS NULL) = (withdrawn_by_id IS NULL)',
                           name=op.f('ck_requester_vetting_withdrawn_by')),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id'],
                                name=op.f('fk_requester_vetting_user_id_app_user')),
        sa.ForeignKeyConstraint(['vouched_by_org_id'], ['organisation.id'],
                                name=op.f('fk_requester_vetting_vouched_by_org_id_organisation')),
        sa.ForeignKeyConstraint(['vouched_by_id'], ['app_user.id'],
                                name=op.f('fk_requester_vetting_vouched_by_id_app_user')),
        sa.ForeignKeyConstraint(['withdrawn_by_id'], ['app_user.id'],
                                name=op.f('fk_requester_vetting_withdrawn_by_id_app_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_requester_vetting')),
    )
    op.create_index(op.f('ix_requester_vetting_user_id'), 'requester_vetting', ['user_id'])
    op.create_table(
        'requester_mandate',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('ground', _enum('mandateground', 'defence', 'authorisation'), nullable=False),
        sa.Column('reference', sa.String(length=120), nullable=False),
        sa.Column('valid_from', sa.Date(), nullable=False),
        sa.Column('valid_to', sa.Date(), nullable=True),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('recorded_by_org_id', sa.Integer(), nullable=False),
        sa.Column('recorded_at', workflow.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('ended_at', workflow.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('ended_by_id', sa.Integer(), nullable=True),
        sa.CheckConstraint('valid_to IS NULL OR valid_to >= valid_from',
                           name=op.f('ck_requester_mandate_valid_period')),
        sa.CheckConstraint('(ended_at IS NULL) = (ended_by_id IS NULL)',
                           name=op.f('ck_requester_mandate_ended_by')),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id'],
                                name=op.f('fk_requester_mandate_user_id_app_user')),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'],
                                name=op.f('fk_requester_mandate_person_id_person')),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['app_user.id'],
                                name=op.f('fk_requester_mandate_recorded_by_id_app_user')),
        sa.ForeignKeyConstraint(['recorded_by_org_id'], ['organisation.id'],
                                name=op.f('fk_requester_mandate_recorded_by_org_id_organisation')),
        sa.ForeignKeyConstraint(['ended_by_id'], ['app_user.id'],
                                name=op.f('fk_requester_mandate_ended_by_id_app_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_requester_mandate')),
    )
    op.create_index(op.f('ix_requester_mandate_person_id'), 'requester_mandate', ['person_id'])
    op.create_index('ix_requester_mandate_user_person', 'requester_mandate',
                    ['user_id', 'person_id'])


def downgrade() -> None:
    # The schema before this revision knows no such kinds and no vouching: their organisations
    # become "other state body" and their accounts are disabled (never deleted: requests and the
    # audit trail refer to them), so that nobody files unvouched after the downgrade.
    outside = sa.text("kind IN ('law_firm', 'non_state_org', 'individual')")
    op.execute(sa.text("UPDATE app_user SET active = false WHERE organisation_id IN "
                       "(SELECT id FROM organisation WHERE " + outside.text + ")"))
    op.execute(sa.text("UPDATE organisation SET kind = 'other_state_body' WHERE "
                       + outside.text))
    op.drop_index('ix_requester_mandate_user_person', table_name='requester_mandate')
    op.drop_index(op.f('ix_requester_mandate_person_id'), table_name='requester_mandate')
    op.drop_table('requester_mandate')
    op.drop_index(op.f('ix_requester_vetting_user_id'), table_name='requester_vetting')
    op.drop_table('requester_vetting')
    with op.batch_alter_table('organisation') as batch:
        batch.drop_constraint(op.f('ck_organisation_orgkind'), type_='check')
        batch.create_check_constraint(op.f('ck_organisation_orgkind'), _kinds(KINDS))
