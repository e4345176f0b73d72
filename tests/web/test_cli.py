"""The `custody` command: migrations, deterministic demo data, accounts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from tests.helpers import count
from workflow import schema
from workflow.context import SYSTEM
from workflow.db import Base, make_engine, make_session_factory
from workflow.demo import world as demo
from workflow.models import Person, User

ROOT = Path(__file__).resolve().parents[2]


def test_init_is_idempotent_and_leaves_the_schema_at_head(runner, app):
    result = runner.invoke(args=["init"])
    assert result.exit_code == 0, result.output
    assert schema.current_revision(app.extensions["custody_engine"]) == schema.head_revision()


def test_migrations_build_exactly_the_models(database_url):
    engine = make_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_demo_data_is_deterministic(tmp_path):
    names = []
    for run in range(2):
        engine = make_engine(f"sqlite:///{tmp_path}/demo{run}.db")
        schema.upgrade(engine)
        with make_session_factory(engine)() as session:
            demo.load_demo(session, SYSTEM, persons=50, seed=7)
            session.commit()
            names.append(session.execute(select(Person.full_name, Person.birth_date)
                                         .order_by(Person.id)).all())
        engine.dispose()
    assert names[0] == names[1] and len(names[0]) == 50


def test_demo_refuses_a_database_with_records_and_if_empty_skips(runner, db):
    before = count(db, Person)
    result = runner.invoke(args=["demo", "--persons", "5"])
    assert result.exit_code != 0 and "already holds records" in result.output
    result = runner.invoke(args=["demo", "--if-empty"])
    assert result.exit_code == 0 and "clerk.hanoi#2026" in result.output
    assert count(db, Person) == before


def test_create_user_from_the_command_line(runner, db):
    result = runner.invoke(args=["create-user", "--username", "thanhtra.hcm", "--full-name",
                                 "Thanh tra TP.HCM", "--org", "CA-HOCHIMINH", "--role",
                                 "inspector", "--password", "correct horse battery"])
    assert result.exit_code == 0, result.output
    user = db.execute(select(User).where(User.username == "thanhtra.hcm")).scalar_one()
    assert {r.value for r in user.roles} == {"inspector"}
    bad = runner.invoke(args=["create-user", "--username", "x", "--full-name", "X", "--org",
                              "NOPE", "--role", "clerk", "--password", "correct horse"])
    assert bad.exit_code != 0 and "Unknown organisation" in bad.output


def test_every_command_is_listed_with_the_first_sentence_of_its_own_help(app):
    import click

    from web.cli import COMMANDS, command

    for name, (_, help_text) in COMMANDS.items():
        listed = click.Command(name, help=help_text).get_short_help_str(500)
        assert listed == command(name).get_short_help_str(500)
    extensions = {"openapi"}  # Flask-Smorest's, on the application's CLI
    assert set(app.cli.commands) - extensions == set(COMMANDS)


def test_listing_the_commands_neither_builds_the_application_nor_imports_them():
    listing = subprocess.run(  # noqa: S603 - a fresh interpreter, so nothing is imported yet
        [sys.executable, "-c", "import sys\nfrom web.cli import main\n"
         "main(['--help'], standalone_mode=False)\n"
         "print(sorted(m for m in sys.modules if m.startswith(('workflow', 'web.cli.', "
         "'sqlalchemy.orm', 'weasyprint'))))"],
        capture_output=True, text=True, check=True, cwd=ROOT)
    assert "sweep     " in listing.stdout and "Mark due-soon and overdue" in listing.stdout
    assert listing.stdout.strip().splitlines()[-1] == "[]"


def test_a_command_run_through_custody_builds_the_application_it_needs(tmp_path):
    from click.testing import CliRunner

    from web.cli import main

    database = f"sqlite:///{tmp_path / 'custody.db'}"
    result = CliRunner().invoke(main, ["init"], env={"DATABASE_URL": database,
                                                    "SECRET_KEY": "cli-test"})
    assert result.exit_code == 0, result.output
    assert schema.current_revision(make_engine(database)) == schema.head_revision()
