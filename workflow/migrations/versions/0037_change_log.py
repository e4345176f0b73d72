"""change log: every record version and case stage gets a row in the writing transaction (a
trigger), and a position once committed, so packages follow commit order, not id order

Revision ID: 0037
Revises: 0034
Create Date: 2026-12-01 11:30:00.000000
"""
import json

import sqlalchemy as sa
from alembic import op

revision = '0037'
down_revision = '0034'
branch_labels = None
depends_on = None

SOURCES = (("record_version", "version_id"), ("case_stage", "stage_id"))


def upgrade() -> None:
    op.create_table(
        'change_log',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version_id', sa.Integer(), nullable=True),
        sa.Column('stage_id', sa.Integer(), nullable=True),
        sa.Column('position', sa.Integer(), nullable=True),
        sa.CheckConstraint('(version_id IS NULL) <> (stage_id IS NULL)',
                           name=op.f('ck_change_log_one_change')),
        sa.ForeignKeyConstraint(['stage_id'], ['case_stage.id'],
                                name=op.f('fk_change_log_stage_id_case_stage')),
        sa.ForeignKeyConstraint(['version_id'], ['record_version.id'],
                                name=op.f('fk_change_log_version_id_record_version')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_change_log')),
        sa.UniqueConstraint('position', name='uq_change_log_position'),
        sa.UniqueConstraint('stage_id', name=op.f('uq_change_log_stage_id')),
        sa.UniqueConstraint('version_id', name=op.f('uq_change_log_version_id')),
    )
    _backfill()
    postgres = op.get_bind().dialect.name == "postgresql"
    for table, column in SOURCES:
        if postgres:
            op.execute(f"""
CREATE FUNCTION {table}_logged() RETURNS trigger AS $$
BEGIN
    INSERT INTO change_log ({column}) VALUES (NEW.id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql""")
            op.execute(f"CREATE TRIGGER {table}_logged AFTER INSERT ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION {table}_logged()")
        else:
            op.execute(f"CREATE TRIGGER {table}_logged AFTER INSERT ON {table} "
                       f"BEGIN INSERT INTO change_log ({column}) VALUES (NEW.id); END")


def _backfill() -> None:
    """Every row written so far, positioned so that each package already sent (whose marks were
    the highest version and stage ids) covers exactly the positions up to some number."""
    bind = op.get_bind()
    marks = [json.loads(m) for m in bind.execute(sa.text(
        "SELECT marks FROM exchange_package WHERE direction = 'out' ORDER BY id")).scalars()]
    version_marks = _rising([int(m.get("version", 0)) for m in marks])
    stage_marks = _rising([int(m.get("stage", 0)) for m in marks])

    def epoch(cuts: list[int]) -> str:
        # Integers from the database itself, so written into the statement.
        steps = " ".join(f"WHEN id <= {cut} THEN {i}" for i, cut in enumerate(cuts))
        return f"CASE {steps} ELSE {len(cuts)} END" if cuts else "0"

    bind.execute(sa.text(f"""
INSERT INTO change_log (version_id, stage_id, position)
SELECT version_id, stage_id, row_number() OVER (ORDER BY epoch, kind, id)
FROM (SELECT id AS version_id, NULL AS stage_id, 0 AS kind, id, {epoch(version_marks)} AS epoch
      FROM record_version
      UNION ALL
      SELECT NULL, id, 1, id, {epoch(stage_marks)} FROM case_stage) AS written"""))


def _rising(marks: list[int]) -> list[int]:
    """Each package's mark, never below an earlier one's (they were read from growing ids)."""
    out: list[int] = []
    for mark in marks:
        out.append(max(mark, out[-1]) if out else mark)
    return out


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table, _column in SOURCES:
        if postgres:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_logged ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_logged()")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_logged")
    op.drop_table('change_log')
