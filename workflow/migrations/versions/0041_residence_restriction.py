"""residence restriction (Law 128/2025): commune police in the organisation tree with dated
names, a person's residence-restriction episodes and their events, and the sweep's flags
(append-only)

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-01 15:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

import workflow.db
from workflow.migrations import append_only

revision = '0041'
down_revision = '0040'
branch_labels = None
depends_on = None

APPEND_ONLY = ("restriction_flag",)
KINDS = ('ministry', 'central_centre', 'ministry_body', 'provincial_body', 'district_body',
         'military_region_body', 'border_guard_command', 'detention_camp', 'custody_house',
         'border_custody_room', 'procuracy', 'court', 'investigation_agency', 'other_state_body',
         'law_firm', 'non_state_org', 'individual')
LEVELS = ('central', 'province', 'region', 'district')


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _vocabulary(kinds: tuple[str, ...], levels: tuple[str, ...]) -> None:
    with op.batch_alter_table('organisation') as batch:
        batch.drop_constraint(op.f('ck_organisation_orgkind'), type_='check')
        batch.create_check_constraint(op.f('ck_organisation_orgkind'), _in('kind', kinds))
        batch.drop_constraint(op.f('ck_organisation_orglevel'), type_='check')
        batch.create_check_constraint(op.f('ck_organisation_orglevel'), _in('level', levels))


def upgrade() -> None:
    _vocabulary(KINDS + ('commune_police',), LEVELS + ('commune',))
    op.create_table('organisation_name',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_organisation_name_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisation_name')),
    sa.UniqueConstraint('organisation_id', 'valid_from', name='uq_organisation_name_from')
    )
    op.create_table('restriction_episode',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('order_number', sa.String(length=64), nullable=False),
    sa.Column('order_date', sa.Date(), nullable=False),
    sa.Column('deciding_org_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('term_until', sa.Date(), nullable=False),
    sa.Column('commune_id', sa.Integer(), nullable=False),
    sa.Column('residence', sa.String(length=255), nullable=False),
    sa.Column('state', sa.Enum('active', 'handing_over', 'ended', name='restrictionstate', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('report_in_due', sa.Date(), nullable=False),
    sa.Column('reported_in_on', sa.Date(), nullable=True),
    sa.Column('handover_to_id', sa.Integer(), nullable=True),
    sa.Column('handover_due', sa.Date(), nullable=True),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('end_reason', sa.Enum('lifted', 'replaced', 'term_over', name='endreason', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('replaced_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', workflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("(state = 'ended') = (end_date IS NOT NULL)", name=op.f('ck_restriction_episode_ended_has_date')),
    sa.CheckConstraint("(state = 'ended') = (end_reason IS NOT NULL)", name=op.f('ck_restriction_episode_ended_has_reason')),
    sa.CheckConstraint("(state = 'handing_over') = (handover_to_id IS NOT NULL)", name=op.f('ck_restriction_episode_handover_has_commune')),
    sa.CheckConstraint("replaced_by_id IS NULL OR end_reason = 'replaced'", name=op.f('ck_restriction_episode_replacement_when_replaced')),
    sa.CheckConstraint('(handover_to_id IS NULL) = (handover_due IS NULL)', name=op.f('ck_restriction_episode_handover_has_due')),
    sa.CheckConstraint('end_date IS NULL OR end_date >= start_date', name=op.f('ck_restriction_episode_period')),
    sa.CheckConstraint('handover_to_id IS NULL OR handover_to_id <> commune_id', name=op.f('ck_restriction_episode_handover_elsewhere')),
    sa.CheckConstraint('start_date >= order_date', name=op.f('ck_restriction_episode_starts_after_order')),
    sa.CheckConstraint('term_until >= start_date', name=op.f('ck_restriction_episode_term')),
    sa.ForeignKeyConstraint(['case_id'], ['criminal_case.id'], name=op.f('fk_restriction_episode_case_id_criminal_case')),
    sa.ForeignKeyConstraint(['commune_id'], ['organisation.id'], name=op.f('fk_restriction_episode_commune_id_organisation')),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], name=op.f('fk_restriction_episode_created_by_id_app_user')),
    sa.ForeignKeyConstraint(['deciding_org_id'], ['organisation.id'], name=op.f('fk_restriction_episode_deciding_org_id_organisation')),
    sa.ForeignKeyConstraint(['handover_to_id'], ['organisation.id'], name=op.f('fk_restriction_episode_handover_to_id_organisation')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_restriction_episode_person_id_person')),
    sa.ForeignKeyConstraint(['replaced_by_id'], ['custody_episode.id'], name=op.f('fk_restriction_episode_replaced_by_id_custody_episode')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_restriction_episode'))
    )
    with op.batch_alter_table('restriction_episode', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_restriction_episode_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_restriction_episode_commune', ['commune_id', 'state'], unique=False)
        batch_op.create_index('ix_restriction_episode_person', ['person_id', 'commune_id'], unique=False)

    op.create_table('restriction_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('episode_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('report_in', 'meeting', 'assessment', 'violation', 'absence', 'residence_change', 'handover', 'end', name='restrictioneventkind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('document_number', sa.String(length=64), nullable=True),
    sa.Column('period', sa.Date(), nullable=True),
    sa.Column('until_on', sa.Date(), nullable=True),
    sa.Column('residence', sa.String(length=255), nullable=True),
    sa.Column('commune_id', sa.Integer(), nullable=False),
    sa.Column('other_commune_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', workflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("(kind = 'assessment') = (period IS NOT NULL)", name=op.f('ck_restriction_event_assessment_has_month')),
    sa.CheckConstraint("(kind = 'handover') = (other_commune_id IS NOT NULL)", name=op.f('ck_restriction_event_handover_has_commune')),
    sa.CheckConstraint('until_on IS NULL OR until_on >= occurred_on', name=op.f('ck_restriction_event_absence_period')),
    sa.ForeignKeyConstraint(['commune_id'], ['organisation.id'], name=op.f('fk_restriction_event_commune_id_organisation')),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], name=op.f('fk_restriction_event_created_by_id_app_user')),
    sa.ForeignKeyConstraint(['episode_id'], ['restriction_episode.id'], name=op.f('fk_restriction_event_episode_id_restriction_episode')),
    sa.ForeignKeyConstraint(['other_commune_id'], ['organisation.id'], name=op.f('fk_restriction_event_other_commune_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_restriction_event'))
    )
    with op.batch_alter_table('restriction_event', schema=None) as batch_op:
        batch_op.create_index('ix_restriction_event_day', ['occurred_on', 'kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_restriction_event_episode_id'), ['episode_id'], unique=False)
        batch_op.create_index('uq_restriction_event_assessment', ['episode_id', 'period'], unique=True, sqlite_where=sa.text("kind = 'assessment'"), postgresql_where=sa.text("kind = 'assessment'"))

    op.create_table('restriction_flag',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('episode_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('report_in', 'assessment', 'handover', name='flagkind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('commune_id', sa.Integer(), nullable=False),
    sa.Column('flagged_at', workflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['commune_id'], ['organisation.id'], name=op.f('fk_restriction_flag_commune_id_organisation')),
    sa.ForeignKeyConstraint(['episode_id'], ['restriction_episode.id'], name=op.f('fk_restriction_flag_episode_id_restriction_episode')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_restriction_flag')),
    sa.UniqueConstraint('episode_id', 'kind', 'due_on', name='uq_restriction_flag')
    )
    with op.batch_alter_table('restriction_flag', schema=None) as batch_op:
        batch_op.create_index('ix_restriction_flag_commune', ['commune_id', 'flagged_at'], unique=False)

    append_only.protect(op, APPEND_ONLY)


def downgrade() -> None:
    append_only.unprotect(op, APPEND_ONLY)
    with op.batch_alter_table('restriction_flag', schema=None) as batch_op:
        batch_op.drop_index('ix_restriction_flag_commune')

    op.drop_table('restriction_flag')
    with op.batch_alter_table('restriction_event', schema=None) as batch_op:
        batch_op.drop_index('uq_restriction_event_assessment', sqlite_where=sa.text("kind = 'assessment'"), postgresql_where=sa.text("kind = 'assessment'"))
        batch_op.drop_index(batch_op.f('ix_restriction_event_episode_id'))
        batch_op.drop_index('ix_restriction_event_day')

    op.drop_table('restriction_event')
    with op.batch_alter_table('restriction_episode', schema=None) as batch_op:
        batch_op.drop_index('ix_restriction_episode_person')
        batch_op.drop_index('ix_restriction_episode_commune')
        batch_op.drop_index(batch_op.f('ix_restriction_episode_case_id'))

    op.drop_table('restriction_episode')
    op.drop_table('organisation_name')
    # The schema before knows no commune police: they become other state bodies of a district
    # level (their accounts disabled, never deleted: the audit trail refers to them).
    communes = "(SELECT id FROM organisation WHERE kind = 'commune_police')"
    op.execute(sa.text(f"UPDATE app_user SET active = false WHERE organisation_id IN {communes}"))
    op.execute(sa.text("UPDATE organisation SET kind = 'other_state_body', level = 'district' "
                       "WHERE kind = 'commune_police'"))
    _vocabulary(KINDS, LEVELS)
