"""organisation governance: each body's abbreviation and the body that governs it
administratively, for the headers and numbers of the documents it issues (Decree 30/2020)

The bodies already here get them from `workflow.organisations.governance`, by their code, kind,
province and their parent in the custody tree today.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30 17:00:00.000000
"""
import datetime as dt

import sqlalchemy as sa
from alembic import op

from workflow.organisations.enums import OrgKind
from workflow.organisations.governance import governance_of

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

ORG = sa.table('organisation', sa.column('id', sa.Integer), sa.column('code', sa.String(40)),
               sa.column('kind', sa.String(40)), sa.column('province', sa.String(64)),
               sa.column('abbreviation', sa.String(40)), sa.column('governing_id', sa.Integer))
LINK = sa.table('organisation_link', sa.column('organisation_id', sa.Integer),
                sa.column('parent_id', sa.Integer), sa.column('valid_from', sa.Date),
                sa.column('valid_to', sa.Date))


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("PRAGMA defer_foreign_keys = ON")
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('abbreviation', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('governing_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_organisation_governing_id_organisation'),
                                    'organisation', ['governing_id'], ['id'])
    bind = op.get_bind()
    rows = bind.execute(sa.select(ORG.c.id, ORG.c.code, ORG.c.kind, ORG.c.province)).all()
    ids = {row.code: row.id for row in rows}
    codes = {row.id: row.code for row in rows}
    today = dt.date.today()
    parents = {link.organisation_id: codes[link.parent_id] for link in bind.execute(
        sa.select(LINK.c.organisation_id, LINK.c.parent_id).where(
            LINK.c.valid_from <= today,
            sa.or_(LINK.c.valid_to.is_(None), LINK.c.valid_to > today)))}
    for row in rows:
        abbreviation, governing = governance_of(row.code, OrgKind(row.kind), row.province,
                                                parents.get(row.id))
        bind.execute(ORG.update().where(ORG.c.id == row.id).values(
            abbreviation=abbreviation, governing_id=ids.get(governing)))


def downgrade() -> None:
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_organisation_governing_id_organisation'),
                                 type_='foreignkey')
        batch_op.drop_column('governing_id')
        batch_op.drop_column('abbreviation')
