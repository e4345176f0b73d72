"""feeds follow the change log (their runs' marks become log positions; earlier runs keep the
highest version id they read, marked as such), and a person received and joined to one already
here points to it

Revision ID: 0040
Revises: 0042
Create Date: 2026-12-01 15:10:00.000000
"""
import sqlalchemy as sa
from alembic import op

from workflow.migrations import append_only

revision = '0040'
down_revision = '0042'
branch_labels = None
depends_on = None

MARKS = "marks IN ('version', 'log')"
MERGED = "merged_into_id <> id"


def upgrade() -> None:
    # Plain columns, not batch copies: a copy of feed_run would lose its append-only triggers.
    # SQLite takes the CHECK with the column; PostgreSQL adds it as a constraint.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE feed_run ADD COLUMN marks VARCHAR(8) DEFAULT 'version' NOT NULL "
                   f"CONSTRAINT ck_feed_run_marks_kind CHECK ({MARKS})")
        op.execute("ALTER TABLE person ADD COLUMN merged_into_id INTEGER "
                   "CONSTRAINT fk_person_merged_into_id_person REFERENCES person (id) "
                   f"CONSTRAINT ck_person_not_merged_into_itself CHECK ({MERGED})")
    else:
        op.add_column('feed_run', sa.Column('marks', sa.String(length=8),
                                            server_default='version', nullable=False))
        op.create_check_constraint('ck_feed_run_marks_kind', 'feed_run', MARKS)
        op.add_column('person', sa.Column('merged_into_id', sa.Integer(), nullable=True))
        op.create_foreign_key('fk_person_merged_into_id_person', 'person', 'person',
                              ['merged_into_id'], ['id'])
        op.create_check_constraint('ck_person_not_merged_into_itself', 'person', MERGED)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint('ck_person_not_merged_into_itself', 'person', type_='check')
        op.drop_constraint('fk_person_merged_into_id_person', 'person', type_='foreignkey')
        op.drop_column('person', 'merged_into_id')
        op.drop_constraint('ck_feed_run_marks_kind', 'feed_run', type_='check')
        op.drop_column('feed_run', 'marks')
        return
    # SQLite drops no column a CHECK names: rebuild both tables, and give feed_run back its
    # append-only triggers (a rebuild loses them).
    op.execute("PRAGMA defer_foreign_keys = ON")
    with op.batch_alter_table('person') as batch:
        batch.drop_constraint(op.f('ck_person_not_merged_into_itself'), type_='check')
        batch.drop_column('merged_into_id')
    append_only.unprotect(op, ("feed_run",))
    with op.batch_alter_table('feed_run') as batch:
        batch.drop_constraint(op.f('ck_feed_run_marks_kind'), type_='check')
        batch.drop_column('marks')
    append_only.protect(op, ("feed_run",))
