"""The application's own PostgreSQL role: it reads and writes what the application needs and
cannot update, delete or truncate the append-only tables (the audit trail, record versions,
timelines, checkpoints), nor drop their triggers (it owns no table). Migrations run as the
owner; the web application connects as this role."""

from __future__ import annotations

import re

from sqlalchemy import Engine, text

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# Tables whose rows are never changed or deleted (triggers guard them on both back-ends).
APPEND_ONLY = ("audit_entry", "audit_checkpoint", "record_version", "case_stage",
               "request_transition", "document_template", "exchange_package", "feed_run",
               "mail_attempt", "read_disclosure", "request_assignment", "calendar_day",
               "webhook_attempt", "exchange_receipt")


def grant_app_role(engine: Engine, role: str) -> list[str]:
    """Create the role (without a password: set one, or use peer/cert auth) if needed and
    grant it exactly what the application needs; returns the statements run."""
    if engine.dialect.name != "postgresql":
        raise ValueError("database roles exist on PostgreSQL only")
    if not _NAME.fullmatch(role):
        raise ValueError(f"{role!r} is not a plain role name")
    database = engine.url.database
    statements = [
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') "
        f'THEN CREATE ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE; END IF; END $$',
        f'GRANT CONNECT ON DATABASE "{database}" TO "{role}"',
        f'GRANT USAGE ON SCHEMA public TO "{role}"',
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"',
        f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"',
        f'REVOKE UPDATE, DELETE, TRUNCATE ON {", ".join(APPEND_ONLY)} FROM "{role}"',
        f'REVOKE ALL ON alembic_version FROM "{role}"',
        f'GRANT SELECT ON alembic_version TO "{role}"',
    ]
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    return statements
