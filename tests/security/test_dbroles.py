"""On PostgreSQL the application's role cannot change or remove audit rows (grant and trigger),
while it works normally with everything else."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import _pg
from workflow.security.dbroles import APPEND_ONLY


@pytest.fixture
def app_role(backend, runner, database_url):
    if backend != "postgresql":
        pytest.skip("database roles are a PostgreSQL matter")
    role = f"custody_app_{uuid.uuid4().hex[:8]}"
    result = runner.invoke(args=["grant-app-role", role])
    assert result.exit_code == 0, result.output
    yield role
    name = make_url(database_url).database
    with psycopg.connect(make_url(database_url).set(drivername="postgresql").render_as_string(
            hide_password=False), autocommit=True) as conn:
        conn.execute(f'REASSIGN OWNED BY "{role}" TO postgres')
        conn.execute(f'DROP OWNED BY "{role}"')
    _pg(f'REVOKE ALL ON DATABASE "{name}" FROM "{role}"')
    _pg(f'DROP ROLE IF EXISTS "{role}"')


def test_the_application_role_cannot_update_or_delete_audit_rows(app_role, database_url):
    dsn = make_url(database_url).set(drivername="postgresql", username=app_role).render_as_string(
        hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM audit_entry").fetchone()[0] > 0
        conn.execute("UPDATE person SET place_of_origin = place_of_origin WHERE id = 1")
        for table in APPEND_ONLY:
            for statement in (f"UPDATE {table} SET id = id" if table != "audit_entry"
                              else "UPDATE audit_entry SET actor_name = 'x'",
                              f"DELETE FROM {table}", f"TRUNCATE {table}"):
                if table == "document_template" and statement.startswith("UPDATE"):
                    statement = "UPDATE document_template SET name = name"
                if table == "audit_checkpoint" and statement.startswith("UPDATE"):
                    statement = "UPDATE audit_checkpoint SET seq = seq"
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(statement)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DROP TRIGGER audit_entry_append_only ON audit_entry")
        conn.execute("INSERT INTO audit_head (id, seq, hash) SELECT 99, 0, '' WHERE false")


def test_the_application_works_as_its_role(app_role, database_url, tmp_path):
    from tests.conftest import Auth
    from web import create_app

    url = make_url(database_url).set(username=app_role).render_as_string(hide_password=False)
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "test-secret",
                      "WTF_CSRF_ENABLED": False})
    app.instance_path = str(tmp_path)
    client = app.test_client()
    assert Auth(client).login("clerk.hanoi").status_code == 302  # writes audit entries
    assert client.post("/search", data={"q": "Nguyen"}, follow_redirects=True).status_code == 200
    app.extensions["custody_engine"].dispose()
