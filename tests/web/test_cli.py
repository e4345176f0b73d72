"""The `custody` command: migrations, deterministic demo data, accounts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from tests.helpers import count
from web import create_app
from workflow import schema
from workflow.context import SYSTEM
from workflow.db import Base, make_engine, make_session_factory
from workflow.demo import world as demo
from workflow.models import (
    AccessRequest,
    AuditEntry,
    Mandate,
    Organisation,
    Person,
    RestrictionEpisode,
    User,
)
from workflow.organisations.tree import build_tree

ROOT = Path(__file__).resolve().parents[2]


def test_init_is_idempotent_and_leaves_the_schema_at_head(runner, app):
    result = runner.invoke(args=["init"])
    assert result.exit_code == 0, result.output
    assert schema.current_revision(app.extensions["custody_engine"]) == schema.head_revision()


@pytest.fixture
def new_installation(tmp_path):
    """An installation that has just been set up: an empty database file."""
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path}/new.db",
                      "SECRET_KEY": "new-installation"})
    app.instance_path = str(tmp_path / "instance")
    yield app
    app.extensions["custody_engine"].dispose()


def _in(app, stmt):
    with app.extensions["custody_sessions"]() as session:
        return session.execute(stmt).all()


def test_init_orgs_gives_a_new_installation_the_reference_tree(new_installation, tmp_path):
    cli = new_installation.test_cli_runner()
    made = cli.invoke(args=["init", "--orgs"])
    assert made.exit_code == 0, made.output
    with make_session_factory(make_engine(f"sqlite:///{tmp_path}/reference.db"))() as scratch:
        schema.upgrade(scratch.get_bind())
        reference = sorted(build_tree(scratch))
    codes = sorted(code for (code,) in _in(new_installation, select(Organisation.code)))
    assert codes == reference and "TTCSDL" in codes and "QP-QL" in codes
    assert f"Organisation tree loaded: {len(codes)} organisations." in made.output
    (entry,) = _in(new_installation, select(AuditEntry.details).where(
        AuditEntry.action == "admin.tree_load"))
    assert json.loads(entry.details) == {"total": len(codes)}
    # The receiving centre can now make its exchange account under its own body.
    account = cli.invoke(args=["create-user", "--username", "exchange.centre", "--full-name",
                               "Trao đổi dữ liệu", "--org", "TTCSDL", "--role", "exchange",
                               "--system", "--password", "một câu đủ dài để đăng nhập"])
    assert account.exit_code == 0, account.output
    # A second load is refused, audited, and changes nothing; plain `init` still upgrades.
    again = cli.invoke(args=["init", "--orgs"])
    assert again.exit_code == 1 and "holds organisations already" in again.output
    assert len(_in(new_installation, select(Organisation.id))) == len(codes)
    (refusal,) = _in(new_installation, select(AuditEntry.object_id).where(
        AuditEntry.action == "access.refused"))
    assert refusal.object_id == "init --orgs"
    assert cli.invoke(args=["init"]).exit_code == 0


def test_init_without_orgs_leaves_the_tree_empty(new_installation):
    assert new_installation.test_cli_runner().invoke(args=["init"]).exit_code == 0
    assert _in(new_installation, select(func.count()).select_from(Organisation)) == [(0,)]


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
    assert names[0] == names[1] and len(names[0]) == 50 + demo.RESTRICTED_PERSONS


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


def _only_at(session, person: Person, code: str) -> bool:
    """Held at the facility, and never anywhere else."""
    camp = session.scalar(select(Organisation.id).where(Organisation.code == code))
    return {e.facility_id for e in person.episodes} == {camp}


@pytest.mark.parametrize("seed", [99, 1, 4, 13, 2024])
def test_a_small_demo_has_its_kiosk_person_and_requests_whatever_the_seed(tmp_path, seed):
    engine = make_engine(f"sqlite:///{tmp_path}/demo.db")
    schema.upgrade(engine)
    with make_session_factory(engine)() as session:
        summary = demo.load_demo(session, SYSTEM, persons=40, seed=seed)
        session.commit()
        # The persons asked for, held, and those under residence restriction at Ba Đình.
        assert count(session, Person) == 40 + demo.RESTRICTED_PERSONS
        assert {r.commune.code for r in session.scalars(select(RestrictionEpisode))} == {
            "CAX-HANOI-BADINH"}
        assert count(session, RestrictionEpisode) == demo.RESTRICTED_PERSONS
        kiosk = session.scalars(select(User).where(
            User.username == demo.DETAINEE_ACCOUNT.username)).one()
        assert kiosk.person_id == summary["kiosk_person"]
        camp = session.scalar(select(Organisation.id).where(Organisation.code == "TTG-HANOI"))
        assert any(e.end_date is None and e.facility_id == camp
                   for e in session.get(Person, kiosk.person_id).episodes)
        # The lawyer and the relative act for the kiosk's person.
        assert {m.person_id for m in session.scalars(select(Mandate))} == {
            kiosk.person_id}
        requests = session.scalars(select(AccessRequest)).all()
        assert len(requests) == len(demo.REQUEST_PLANS)
        subjects = {r.subject_person_id for r in requests}
        assert len(subjects) == len(requests) and kiosk.person_id not in subjects
        assert all(_only_at(session, session.get(Person, pid), "TTG-HANOI")
                   for pid in subjects)
    engine.dispose()


def test_the_demo_command_of_the_issue_loads(new_installation):
    cli = new_installation.test_cli_runner()
    assert cli.invoke(args=["init"]).exit_code == 0
    result = cli.invoke(args=["demo", "--persons", "40", "--seed", "99"])
    assert result.exit_code == 0, result.output
    assert "Loaded 40 persons" in result.output and "Detainee kiosk" in result.output
    assert len(_in(new_installation, select(AccessRequest.id))) == len(demo.REQUEST_PLANS)
