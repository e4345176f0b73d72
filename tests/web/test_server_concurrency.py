"""The real server under load, on PostgreSQL: gunicorn with several workers, browsers' requests
over HTTP with CSRF tokens and two-factor sign-in. 50 approvers press "approve" at once: one
decision. 50 downloads of an extract allowed once: one file. A worker killed in the middle of a
decision leaves no decision without its audit entry, and a chain that verifies."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import signal
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

import psycopg
import pyotp
import pytest
import requests
from sqlalchemy import select
from sqlalchemy.engine import make_url

from tests.conftest import password_of
from tests.helpers import code_for, demo_secret, org, record_signing
from tests.worlds import World, arrange, ask, person_with_stage, prepare, release
from workflow.audit import chain as audit
from workflow.context import SYSTEM
from workflow.enums import Role
from workflow.models import AuditEntry, IssuedDocument, RequestStep, RequestTransition, User
from workflow.security import accounts, mfa

ROOT = Path(__file__).resolve().parents[2]
CROWD = 50
pytestmark = pytest.mark.concurrency


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(backend, app, database_url, tmp_path):
    """`custody serve` (gunicorn, 4 workers) on the test's PostgreSQL database."""
    if backend != "postgresql":
        pytest.skip("the multi-process server test runs on PostgreSQL")
    port = _free_port()
    # The audit key and witness log of the app fixture (its instance folder), not the checkout's.
    env = dict(os.environ, DATABASE_URL=database_url, SECRET_KEY="test-secret",
               CUSTODY_AUDIT_SIGNING_KEY=str(tmp_path / "audit-signing-key.pem"),
               CUSTODY_AUDIT_WITNESS_LOG=str(tmp_path / "audit-witness.log"),
               CUSTODY_RATELIMIT_SIGN_IN='"10000 per minute"',
               CUSTODY_RATELIMIT_CODE='"10000 per minute"',
               # Several workers count limits in one store (Redis runs on every machine here),
               # under this test's own prefix.
               CUSTODY_RATELIMIT_STORAGE_URI='"redis://127.0.0.1:6379/0"',
               CUSTODY_RATELIMIT_KEY_PREFIX=f'"test-{uuid.uuid4().hex[:12]}"')
    log = (tmp_path / "gunicorn.log").open("w")
    process = subprocess.Popen([str(ROOT / ".venv/bin/custody"), "serve", "--port", str(port),
                                "--workers", "4"], env=env, stdout=log, stderr=log, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if requests.get(f"{base}/login", timeout=1).status_code == 200:
                break
        except requests.ConnectionError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("the server did not start")
    yield base, process
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


def _csrf(page: str, name: str = "csrf_token") -> str:
    """The CSRF token of a form on the page (an action form's field carries its prefix)."""
    found = re.search(rf'name="{re.escape(name)}"[^>]*value="([^"]+)"', page)
    assert found, f"no {name} on the page: {page[:300]}"
    return found.group(1)


def sign_in(base: str, username: str, secret: str, password: str | None = None,
            code: str | None = None):
    """A browser-like session: the sign-in form with its CSRF token, then the code."""
    browser = requests.Session()
    token = _csrf(browser.get(f"{base}/login").text)
    answer = browser.post(f"{base}/login", data={
        "csrf_token": token, "username": username, "acknowledge": "y",
        "password": password or password_of(username)}, allow_redirects=False)
    assert answer.status_code == 302, answer.text[:300]
    code_page = browser.get(f"{base}/login/code").text
    answer = browser.post(f"{base}/login/code", data={
        "csrf_token": _csrf(code_page), "code": code or pyotp.TOTP(secret).now()},
        allow_redirects=False)
    assert answer.status_code == 302 and "/login" not in answer.headers["Location"]
    return browser


def test_fifty_approvers_at_once_make_one_decision(server, app, db):
    base, _process = server
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        fernet = mfa.cipher("test-secret")
        names = []
        for i in range(CROWD):
            user = accounts.create_user(
                session, SYSTEM, username=f"approver.x{i:02d}", full_name=f"Duyệt {i}",
                organisation_id=org(session, "CA-HANOI").id, roles={Role.APPROVER},
                password="một cụm từ đủ dài")
            record_signing(user)
            mfa.install(session, user, demo_secret(user.username), fernet, SYSTEM.now)
            names.append(user.username)
        session.commit()
        request_id = ask(world, "requester.vks", person_with_stage(world, None)).id
    browsers = [sign_in(base, n, demo_secret(n), "một cụm từ đủ dài") for n in names]
    pages = [b.get(f"{base}/requests/{request_id}").text for b in browsers]
    forms = [_csrf(page, "approve-csrf_token") for page in pages]
    version = _version(pages[0])
    barrier = threading.Barrier(CROWD)
    answers: list[int] = []

    def press(browser, token) -> None:
        barrier.wait()
        answers.append(browser.post(f"{base}/requests/{request_id}", data={
            "approve-csrf_token": token, "action": "approve", "version": version,
            "approve-categories": ["a_orders"]}, allow_redirects=False).status_code)

    threads = [threading.Thread(target=press, args=pair) for pair in zip(browsers, forms,
                                                                           strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(answers) == CROWD and not [a for a in answers if a >= 500], answers
    db.expire_all()
    decided = db.scalars(select(RequestStep).where(RequestStep.request_id == request_id,
                                                   RequestStep.outcome == "granted")).all()
    approvals = db.scalars(select(RequestTransition).where(
        RequestTransition.request_id == request_id,
        RequestTransition.trigger == "approve")).all()
    audited = db.scalars(select(AuditEntry).where(AuditEntry.action == "request.approve",
                                                  AuditEntry.object_id == str(request_id))).all()
    assert (len(decided), len(approvals), len(audited)) == (1, 1, 1)
    assert answers.count(302) >= 1
    assert _chain_ok(app)


def test_fifty_downloads_of_an_extract_allowed_once_give_one_file(server, app, db):
    base, _process = server
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        _person, request = arrange(world, db)
        document = release(world, prepare(world, request.id), download_limit=1)
        document_id, sha256 = document.id, document.sha256
    browser = sign_in(base, "requester.vks", demo_secret("requester.vks"))
    barrier = threading.Barrier(CROWD)
    answers: list[tuple[int, bytes]] = []

    def fetch() -> None:
        barrier.wait()
        got = browser.get(f"{base}/documents/{document_id}/download")
        answers.append((got.status_code, got.content))

    threads = [threading.Thread(target=fetch) for _ in range(CROWD)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] + [410] * (CROWD - 1), statuses
    assert [hashlib.sha256(body).hexdigest() for status, body in answers if status == 200] \
        == [sha256]
    db.expire_all()
    assert db.get(IssuedDocument, document_id).downloads == 1


def test_a_worker_killed_mid_decision_leaves_no_decision_and_a_sound_chain(server, app, db,
                                                                          database_url):
    base, process = server
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        request_id = ask(world, "requester.vks", person_with_stage(world, None)).id
    browser = sign_in(base, "approver.hanoi", demo_secret("approver.hanoi"))
    page = browser.get(f"{base}/requests/{request_id}").text
    token, version = _csrf(page, "approve-csrf_token"), _version(page)
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(
        hide_password=False)
    # Hold the inbox table: the decision is written (step, timeline, audit entry), then its
    # notice to the requester waits for the table inside the same transaction, where the
    # worker is killed.
    holder = psycopg.connect(dsn)
    holder.execute("LOCK TABLE notification IN EXCLUSIVE MODE")
    pressed = threading.Thread(target=lambda: _post_quietly(browser, base, request_id, token,
                                                             version))
    pressed.start()
    with psycopg.connect(dsn, autocommit=True) as watcher:
        for _ in range(100):
            waiting = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE '%INSERT INTO notification%'").fetchone()[0]
            if waiting:
                break
            time.sleep(0.1)
        assert waiting, "the decision never reached its notice"
    workers = _children(process.pid)
    assert workers
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    pressed.join(timeout=30)
    holder.rollback()
    holder.close()
    time.sleep(1)
    db.expire_all()
    steps = db.scalars(select(RequestStep).where(RequestStep.request_id == request_id)).all()
    assert [s.outcome.value for s in steps] == ["pending"]
    assert not db.scalars(select(RequestTransition).where(
        RequestTransition.request_id == request_id,
        RequestTransition.trigger == "approve")).all()
    assert not db.scalars(select(AuditEntry).where(AuditEntry.action == "request.approve",
                                                   AuditEntry.object_id == str(request_id))
                          ).all()
    assert _chain_ok(app)
    # The master started new workers: the same decision goes through now. (A code is accepted
    # once: the second sign-in takes one the first did not use.)
    for _ in range(50):
        with app.extensions["custody_sessions"]() as session:
            code = code_for(session, "approver.hanoi")
        try:
            again = sign_in(base, "approver.hanoi", demo_secret("approver.hanoi"), code=code)
            break
        except (requests.ConnectionError, AssertionError):
            time.sleep(0.3)
    page = again.get(f"{base}/requests/{request_id}").text
    done = again.post(f"{base}/requests/{request_id}", data={
        "approve-csrf_token": _csrf(page, "approve-csrf_token"), "action": "approve",
        "version": _version(page), "approve-categories": ["a_orders"]},
        allow_redirects=False)
    assert done.status_code == 302
    db.expire_all()
    assert db.scalars(select(User)).first() is not None
    assert _chain_ok(app)


def _chain_ok(app) -> bool:
    """The chain, every seal the workers made and the lines they appended to the witness log."""
    sealer = app.extensions["custody_audit_sealer"]
    assert sealer.witness_path.exists()
    with app.extensions["custody_sessions"]() as session:
        return audit.verify(session, sealer.key.public_key(), sealer.witness_path).ok


def _version(page: str) -> str:
    """The version of the request the page shows (its action forms send it back)."""
    return re.search(r'name="version" value="(\d+)"', page).group(1)


def _post_quietly(browser, base: str, request_id: int, token: str, version: str) -> None:
    # The worker dies under this request: that is the point.
    with contextlib.suppress(requests.RequestException):
        browser.post(f"{base}/requests/{request_id}", data={
            "approve-csrf_token": token, "action": "approve", "version": version,
            "approve-categories": ["a_orders"]}, timeout=30)


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (gunicorn's workers)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found
