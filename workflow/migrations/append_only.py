"""Database triggers that refuse UPDATE and DELETE on append-only tables, per back-end."""

from __future__ import annotations

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""


def trigger_statements(dialect: str, table: str) -> list[str]:
    """The statements that make `table` append-only on this dialect."""
    if dialect == "postgresql":
        return [
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION refuse_change()",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()",
        ]
    return [
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, 'table {table} is append-only: UPDATE refused'); END",
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, 'table {table} is append-only: DELETE refused'); END",
    ]


def drop_statements(dialect: str, table: str) -> list[str]:
    """The statements that undo `trigger_statements` (downgrades, and tests that play attacker)."""
    if dialect == "postgresql":
        return [
            f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
            f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
        ]
    return [
        f"DROP TRIGGER IF EXISTS {table}_no_update",
        f"DROP TRIGGER IF EXISTS {table}_no_delete",
    ]


def protect(op, tables: tuple[str, ...]) -> None:
    """Install the triggers from inside a migration."""
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(PG_FUNCTION)
    for table in tables:
        for stmt in trigger_statements(dialect, table):
            op.execute(stmt)


def unprotect(op, tables: tuple[str, ...]) -> None:
    """Remove the triggers from inside a migration."""
    dialect = op.get_bind().dialect.name
    for table in tables:
        for stmt in drop_statements(dialect, table):
            op.execute(stmt)
