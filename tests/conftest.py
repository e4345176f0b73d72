"""Fixtures: a fresh database per test on SQLite and on PostgreSQL, built once per session through
the migrations and the demo loader, then copied (SQLite) or cloned from a template (PostgreSQL)."""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from tests.helpers import code_for, enrol_everyone, kiosk_person, register_kiosk
from web import create_app
from web.kiosk.device import COOKIE as KIOSK_COOKIE
from workflow.context import SYSTEM
from workflow.db import make_engine, make_session_factory
from workflow.demo.world import DEMO_KIOSK_PIN, DETAINEE_ACCOUNT, load_demo
from workflow.schema import upgrade

# The shared worlds and their fixtures (`world`, `objects`): tests/worlds.py.
pytest_plugins = ["tests.worlds"]

PG_URL = os.environ.get("TEST_DATABASE_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
DEMO_PERSONS = 400
KIOSK_ACCOUNT = DETAINEE_ACCOUNT.username
BACKENDS = ["sqlite", "postgresql"]


def _pg_admin_dsn() -> str:
    return make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_available() -> bool:
    try:
        with psycopg.connect(_pg_admin_dsn(), connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def _pg(sql: str) -> None:
    with psycopg.connect(_pg_admin_dsn(), autocommit=True) as conn:
        conn.execute(sql)


def _build(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine)
    with make_session_factory(engine)() as session:
        load_demo(session, SYSTEM, persons=DEMO_PERSONS, seed=2017)
        enrol_everyone(session, "test-secret")  # the app fixture's secret key
        session.commit()
    engine.dispose()


@pytest.fixture(scope="session", autouse=True)
def softhsm_tokens(tmp_path_factory) -> Path:
    """SoftHSM2's token directory for this test process (the system's needs root): officials'
    development tokens are made here."""
    directory = tmp_path_factory.mktemp("softhsm")
    (directory / "tokens").mkdir()
    conf = directory / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {directory / 'tokens'}\n"
                    "objectstore.backend = file\nlog.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    return directory


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request) -> str:
    """Each database test runs once per back-end."""
    if request.param == "postgresql" and not _pg_available():
        if os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL is required but does not answer at {PG_URL}")
        pytest.skip(f"PostgreSQL does not answer at {PG_URL}")
    return request.param


@pytest.fixture(scope="session")
def template_url(backend, tmp_path_factory) -> Iterator[str]:
    """A database with the schema and the demo data, built once per session and back-end."""
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.db"
        url = f"sqlite:///{path}"
        _build(url)
        yield url
        return
    name = f"custody_tpl_{uuid.uuid4().hex[:10]}"
    _pg(f'CREATE DATABASE "{name}"')
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    _build(url)
    yield url
    _pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def _copy_of(backend: str, template_url: str, directory: Path) -> Iterator[str]:
    """A private copy of the template database."""
    if backend == "sqlite":
        target = directory / "test.db"
        shutil.copyfile(Path(make_url(template_url).database), target)
        yield f"sqlite:///{target}"
        return
    template = make_url(template_url).database
    name = f"custody_t_{uuid.uuid4().hex[:12]}"
    # Copying the template costs the server ~0.3 s of CPU a test (it is not the disk: fsync off
    # changes nothing), which is why tests that can share one database do (`module_app`).
    _pg(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    # A test database need not survive a crash: commits skip the wait for the disk.
    yield make_url(PG_URL).set(database=name).update_query_dict(
        {"options": "-csynchronous_commit=off"}).render_as_string(hide_password=False)
    _pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _app(database_url: str, instance: Path):
    app = create_app({"TESTING": True, "DATABASE_URL": database_url,
                      "SECRET_KEY": "test-secret", "WTF_CSRF_ENABLED": False})
    app.instance_path = str(instance)
    return app


@pytest.fixture
def database_url(backend, template_url, tmp_path) -> Iterator[str]:
    """A private copy of the template database for one test."""
    with _copy_of(backend, template_url, tmp_path) as url:
        yield url


@pytest.fixture
def app(database_url, tmp_path):
    """The application on the test's own database; CSRF off except where a test turns it on."""
    app = _app(database_url, tmp_path)
    yield app
    app.extensions["custody_engine"].dispose()


@pytest.fixture(scope="module")
def module_app(backend, template_url, tmp_path_factory):
    """The application on a database that the tests of one module share: for tables of cases
    that each make objects of their own and change nothing another case reads."""
    directory = tmp_path_factory.mktemp("module")
    with _copy_of(backend, template_url, directory) as url:
        app = _app(url, directory)
        yield app
        app.extensions["custody_engine"].dispose()


@pytest.fixture
def client(app):
    """A test client."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner bound to the app."""
    return app.test_cli_runner()


@pytest.fixture
def db(database_url):
    """An autocommit session on the test database for arranging and checking: it never holds a
    lock or an old snapshot while the app works (call `expire_all()` to re-read objects)."""
    if database_url.startswith("sqlite"):
        engine = create_engine(database_url, connect_args={"isolation_level": None,
                                                           "timeout": 30})
    else:
        engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with Session(engine, expire_on_commit=False) as session:
        yield session
    engine.dispose()


def password_of(username: str) -> str:
    """The demo password of a demo account."""
    return f"{username}#2026"


class Auth:
    """Sign in and out through the real forms."""

    def __init__(self, client) -> None:
        self.client = client

    def login(self, username: str, password: str | None = None, next: str | None = None):
        """Password, then (when the password was right) the authenticator's code; the demo
        detainee signs in at a kiosk of their facility instead."""
        if username == KIOSK_ACCOUNT:
            return self.kiosk()
        response = self.client.post(f"/login?next={next}" if next else "/login", data={
            "username": username, "acknowledge": "y",
            "password": password or password_of(username)})
        if response.status_code != 302 or "/login/code" not in response.location:
            return response
        return self.code(username)

    def code(self, username: str):
        """The second step with a fresh code of the account's authenticator."""
        with self.client.application.extensions["custody_sessions"]() as session:
            code = code_for(session, username)
        return self.client.post("/login/code", data={"code": code})

    def kiosk(self, number: str | None = None, pin: str = DEMO_KIOSK_PIN):
        """Make this client a kiosk of the demo detainee's facility, then sign in there with
        the record number and the PIN (no authenticator)."""
        app = self.client.application
        _device, secret = register_kiosk(app)
        self.client.set_cookie(KIOSK_COOKIE, secret)
        if number is None:
            with app.extensions["custody_sessions"]() as session:
                number = str(kiosk_person(session))
        return self.client.post("/kiosk/", data={"number": number, "pin": pin})

    def logout(self):
        return self.client.post("/logout")

    def purpose(self, person_id: int, code: str = "keeping", note: str = ""):
        """State what the signed-in reader opens the person's record for (asked once a
        person, before the record of one's own scope is shown)."""
        return self.client.post(f"/persons/{person_id}/purpose",
                                data={"purpose": code, "note": note})


@pytest.fixture
def auth(client) -> Auth:
    """Sign-in helper for the test client."""
    return Auth(client)


def ids_in(html: bytes, pattern: str = r"/persons/(\d+)") -> list[int]:
    """Object ids linked from a page."""
    return [int(x) for x in re.findall(pattern, html.decode())]


# Jobs' tests put them on queues of their own on the shared Redis (db 13).
REDIS = "redis://127.0.0.1:6379/13"


@pytest.fixture
def queue_name(monkeypatch):
    """A job queue of the test's own on the shared Redis (skipped where Redis is not running)."""
    from redis import Redis
    from rq import Queue

    from workflow.jobs import queues

    try:
        Redis.from_url(REDIS, socket_connect_timeout=1).ping()
    except Exception:  # noqa: BLE001 - no Redis here
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    name = f"custody-test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr(queues, "QUEUE_NAME", name)
    yield name
    Queue(name, connection=Redis.from_url(REDIS)).delete(delete_jobs=True)
