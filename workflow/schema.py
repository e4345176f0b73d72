"""Create or upgrade the schema through the migrations (never `create_all`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic configuration pointing at the bundled migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to the newest revision (or to `revision`, up or down)."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if sqlite:
            # A migration that changes a table's constraints rebuilds it on SQLite (drop and
            # rename), which its referring rows would refuse: the keys are checked once, after.
            # The pragma acts outside a transaction only, so on the driver's connection.
            conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                current = MigrationContext.configure(conn).get_current_revision()
                move = (command.downgrade if revision != "head" and current is not None
                        and _is_after(cfg, current, revision) else command.upgrade)
                move(cfg, revision)
                if sqlite and (broken := conn.exec_driver_sql(
                        "PRAGMA foreign_key_check").fetchall()):
                    raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")


def _is_after(cfg: Config, current: str, target: str) -> bool:
    """Whether `current` comes after `target` in the chain of revisions."""
    scripts = ScriptDirectory.from_config(cfg)
    return any(rev.revision == target for rev in scripts.iterate_revisions(current, "base"))


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None when it has no schema yet."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    """The newest revision the code knows."""
    cfg = alembic_config("sqlite://")
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head
