"""Liveness, readiness, metrics and logs: what a load balancer, Prometheus and an operator
see, and that none of it holds personal data or writes to the audit trail."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from tests.conftest import Auth
from tests.worlds import person_at
from web import create_app
from web.ops import logs
from web.ops.views import address_allowed
from workflow import health
from workflow.audit import chain, checkpoints
from workflow.context import SYSTEM
from workflow.db import utcnow
from workflow.models import AuditEntry, AuditHead

OUTSIDE = {"REMOTE_ADDR": "203.0.113.9"}
ROOT = Path(__file__).resolve().parents[2]


def _statements(app) -> list[str]:
    """The SQL statements the app's engine runs from now on."""
    seen: list[str] = []
    event.listen(app.extensions["custody_engine"], "before_cursor_execute",
                 lambda _conn, _cur, statement, *_args: seen.append(statement))
    return seen


def _bare_app(tmp_path, url: str):
    return create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "test-secret",
                       "READINESS_TIMEOUT_SECONDS": 5})


def test_healthz_answers_anyone_without_a_cookie_or_the_database(app, client, db):
    statements = _statements(app)
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}
    assert "Set-Cookie" not in response.headers and statements == []
    # Signed in, the session is not checked either: the probe reads and writes nothing.
    Auth(client).login("clerk.hanoi")
    before = db.scalar(select(func.count()).select_from(AuditEntry))
    statements.clear()
    response = client.get("/healthz")
    assert response.status_code == 200 and statements == [] and "Set-Cookie" not in \
        response.headers
    assert db.scalar(select(func.count()).select_from(AuditEntry)) == before


def test_readyz_is_ready_on_a_migrated_database_and_audits_nothing(client, db):
    before = db.scalar(select(func.count()).select_from(AuditEntry))
    response = client.get("/readyz")
    assert response.status_code == 200, response.json
    assert response.json == {"status": "ready", "checks": [
        {"name": "database", "status": "ok"}, {"name": "schema", "status": "ok"},
        {"name": "audit_chain", "status": "ok"}]}
    assert "Set-Cookie" not in response.headers
    assert db.scalar(select(func.count()).select_from(AuditEntry)) == before


def test_readyz_fails_with_reasons_when_the_schema_is_behind(tmp_path):
    app = _bare_app(tmp_path, f"sqlite:///{tmp_path / 'empty.db'}")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    checks = {c["name"]: c for c in response.json["checks"]}
    assert checks["database"]["status"] == "ok"
    assert checks["schema"]["status"] == "failed" and "head" in checks["schema"]["reason"]
    assert checks["audit_chain"]["status"] == "failed"
    assert str(tmp_path) not in response.text and "sqlite" not in response.text.lower()
    app.extensions["custody_engine"].dispose()


def test_readyz_fails_when_the_database_does_not_answer(tmp_path):
    app = _bare_app(tmp_path, "postgresql+psycopg://nobody:secret@127.0.0.1:1/none")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json == {"status": "not ready", "checks": [
        {"name": "database", "status": "failed", "reason": "the database does not answer"}]}
    for secret in ("127.0.0.1", "nobody", "secret", "postgresql", "psycopg"):
        assert secret not in response.text
    # Metrics still answer, and say the database did not.
    metrics = app.test_client().get("/metrics").text
    assert "custody_database_up 0.0" in metrics and "custody_audit_lag_seconds" not in metrics


@pytest.mark.parametrize("store", ["redis://127.0.0.1:1/0", "redis://127.0.0.1:6379/0"])
def test_readyz_checks_the_shared_rate_limit_store(database_url, store):
    """With several workers the limits hold only while their shared store answers."""
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "x",
                      "RATELIMIT_STORAGE_URI": store})
    response = app.test_client().get("/readyz")
    checks = {c["name"]: c for c in response.json["checks"]}
    if store.endswith(":1/0"):
        assert response.status_code == 503 and checks["rate_limit_store"] == {
            "name": "rate_limit_store", "status": "failed",
            "reason": "the shared rate-limit store does not answer"}
        assert "redis" not in response.text
    elif checks["rate_limit_store"]["status"] == "failed":
        pytest.skip("no Redis answers on 127.0.0.1:6379")
    else:
        assert response.status_code == 200
    app.extensions["custody_engine"].dispose()


def test_a_hanging_check_fails_in_time_and_is_not_started_twice():
    deadline: health.Deadline[str] = health.Deadline()
    started = []

    def hang() -> str:
        started.append(1)
        time.sleep(0.5)
        return "answered"

    begun = time.perf_counter()
    assert deadline.run(hang, 0.05, "late") == "late"
    assert deadline.run(hang, 0.05, "late") == "late"
    assert time.perf_counter() - begun < 0.4 and started == [1]
    assert deadline.run(hang, 2, "late") == "answered"  # the same run, finished meanwhile


def test_metrics_are_hidden_from_addresses_not_allowed(client, db):
    before = db.scalar(select(func.count()).select_from(AuditEntry))
    response = client.get("/metrics", environ_base=OUTSIDE)
    assert response.status_code == 404 and "custody_" not in response.text
    # Relayed by a reverse proxy on this machine: the loopback peer is not the client.
    for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
        assert client.get("/metrics", headers={header: "203.0.113.9"}).status_code == 404
    assert db.scalar(select(func.count()).select_from(AuditEntry)) == before
    assert address_allowed("10.1.2.3", ["10.0.0.0/8"])
    assert address_allowed("::ffff:127.0.0.1", ["127.0.0.1"])
    assert not address_allowed("203.0.113.9", ["127.0.0.1", "::1", "not an address"])
    assert not address_allowed(None, ["127.0.0.1"])


def test_metrics_count_requests_by_endpoint_never_by_path(client, db):
    for _ in range(3):
        client.get("/requests/123")
        client.get("/persons/98765")
    client.get("/no/such/page/4242")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    text = response.text
    assert re.search(r'custody_request_duration_seconds_count\{endpoint="requests.show",'
                     r'method="GET",status="3xx"\} [1-9]', text)
    assert 'endpoint="unmatched"' in text
    labels = [value for block in re.findall(r"\{([^}]*)\}", text)
              for value in re.findall(r'="([^"]*)"', block)]
    assert labels and not [v for v in labels if re.search(r"123|98765|4242|/", v)]
    head = db.scalar(select(AuditHead.seq))
    assert f"custody_audit_entries_total {float(head)}" in text
    for line in ('custody_outbox_undelivered{outbox="mail",state="pending"}',
                 'custody_outbox_undelivered{outbox="webhooks",state="given_up"}',
                 "custody_audit_lag_seconds", "custody_audit_unsigned_entries",
                 "custody_database_up 1.0"):
        assert line in text
    assert "python_info" not in text  # no versions


def test_audit_lag_counts_from_the_oldest_entry_after_the_last_checkpoint(app, db):
    engine = health.probe_engine(app.extensions["custody_engine"])
    with app.extensions["custody_sessions"]() as session:
        checkpoints.create(session, SYSTEM, app.extensions["custody_audit_sealer"].key)
        session.commit()
    signed = health.figures(engine, utcnow())
    assert signed.audit_unsigned == 0 and signed.audit_lag_seconds == 0.0
    assert signed.audit_entries == db.scalar(select(AuditHead.seq))
    with app.extensions["custody_sessions"]() as session:
        chain.record(session, SYSTEM, "test.entry")
        session.commit()
    waited = db.scalar(select(AuditEntry.occurred_at).order_by(AuditEntry.seq.desc()).limit(1))
    later = health.figures(engine, waited + dt.timedelta(seconds=90))
    assert later.audit_unsigned == 1 and later.audit_lag_seconds == 90.0


@pytest.fixture
def json_lines(capsys):
    """The JSON log lines written while the test runs, parsed."""
    root = logging.getLogger()
    # Only this one: `custody serve` run by another test of the process may have left its own.
    handlers, level = list(root.handlers), root.level
    root.handlers[:] = [h for h in handlers if h.get_name() != logs.HANDLER_NAME]
    handler = logs.handler("json")
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    capsys.readouterr()

    def read() -> list[dict]:
        return [json.loads(line) for line in capsys.readouterr().err.splitlines()
                if line.strip()]

    yield read
    root.handlers[:], root.level = handlers, level


def test_log_lines_are_json_with_the_request_id_and_no_personal_data(client, db, json_lines):
    person = person_at(db, "TTG-HANOI")
    Auth(client).login("clerk.hanoi")
    searched = client.post("/search", data={"q": person.full_name}, follow_redirects=True)
    assert searched.status_code == 200
    Auth(client).purpose(person.id)
    opened = client.get(f"/persons/{person.id}", headers={"X-Request-Id": "lb-7f3a9c2e-0001"})
    assert opened.status_code == 200 and opened.headers["X-Request-Id"] == "lb-7f3a9c2e-0001"
    lines = json_lines()
    assert lines, "no log line was written"
    for line in lines:
        assert {"time", "level", "logger", "message", "request_id"} <= set(line)
    text = json.dumps(lines, ensure_ascii=False)
    for private in ("clerk.hanoi", person.full_name, "/persons", "?s=", "#2026"):
        assert private not in text, private
    assert str(person.id) not in [str(v) for line in lines for v in line.values()]
    access = [line for line in lines if line["logger"] == "custody.access"]
    assert all(line["message"] == f"{line['method']} {line['endpoint']} {line['status']}"
               for line in access)
    assert {"records.search_persons", "records.person", "auth.login_code"} <= {
        line["endpoint"] for line in access}
    opened_line = next(line for line in access if line["request_id"] == "lb-7f3a9c2e-0001")
    assert opened_line["endpoint"] == "records.person" and opened_line["status"] == 200
    assert opened_line["method"] == "GET" and opened_line["duration_ms"] >= 0


def test_an_unsafe_request_id_is_replaced_and_a_job_carries_the_request_id(client, json_lines):
    response = client.get("/healthz", headers={"X-Request-Id": "Nguyễn Văn An <script>"})
    made = response.headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert [line["request_id"] for line in json_lines()] == [made]
    with logs.carried_request_id(made):
        assert logs.current_request_id() == made
        logging.getLogger("custody.job").info("extract rendered")
    assert logs.current_request_id() is None
    assert json_lines()[0]["request_id"] == made


def test_an_exception_is_logged_without_its_message(json_lines):
    try:
        raise ValueError("Nguyễn Văn An, 001085012345")
    except ValueError:
        logging.getLogger("custody.test").exception("it failed")
    (line,) = json_lines()
    assert line["exception"].startswith("builtins.ValueError at ")
    assert "Nguy" not in line["exception"] and "001085012345" not in json.dumps(line)


SERVE_AND_SCRAPE = """
import sys
from web import create_app
app = create_app({"TESTING": True, "DATABASE_URL": sys.argv[1], "SECRET_KEY": "x"})
client = app.test_client()
if sys.argv[2] == "serve":
    for _ in range(2):
        client.get("/healthz")
else:
    sys.stdout.write(client.get("/metrics").text)
"""


def test_workers_add_up_their_metrics_in_multiprocess_mode(tmp_path):
    """Two processes (gunicorn's workers) answer two requests each; a third, scraped, counts
    all four: the histogram lives in the shared directory, not in the process answering."""
    shared = tmp_path / "prometheus"
    shared.mkdir()
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(shared), PYTHONPATH=str(ROOT))
    url = f"sqlite:///{tmp_path / 'empty.db'}"

    def run(role: str) -> str:
        return subprocess.run([sys.executable, "-c", SERVE_AND_SCRAPE, url, role], env=env,
                              cwd=tmp_path, capture_output=True, text=True, check=True,
                              timeout=120).stdout

    run("serve")
    run("serve")
    scraped = run("scrape")
    assert ('custody_request_duration_seconds_count{endpoint="ops.healthz",method="GET",'
            'status="2xx"} 4.0') in scraped
    assert list(shared.glob("histogram_*.db"))


def test_serve_logs_json_through_gunicorn_and_starts_the_metrics_afresh(app, monkeypatch,
                                                                        tmp_path):
    from gunicorn.app.base import BaseApplication

    shared = tmp_path / "prometheus"
    shared.mkdir()
    (shared / "histogram_123.db").write_bytes(b"old")
    (shared / "notes.txt").write_text("not ours")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(shared))
    seen = {}
    monkeypatch.setattr(BaseApplication, "run", lambda self: seen.update(
        accesslog=self.cfg.accesslog, logconfig=self.cfg.logconfig_dict))
    root = logging.getLogger()
    before = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in logs.APP_LOGGERS}
    try:
        assert app.test_cli_runner().invoke(args=["serve"]).exit_code == 0
        ours = [h for h in root.handlers if h.get_name() == logs.HANDLER_NAME]
        assert len(ours) == 1 and isinstance(ours[0].formatter, logs.JsonFormatter)
    finally:
        root.handlers[:], root.level = before
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
    assert seen["accesslog"] is None  # gunicorn's would write the URL
    assert seen["logconfig"]["root"]["handlers"] == [logs.HANDLER_NAME]
    assert seen["logconfig"]["loggers"]["gunicorn.error"]["propagate"] is True
    assert sorted(p.name for p in shared.iterdir()) == ["notes.txt"]
