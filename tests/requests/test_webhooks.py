"""Webhooks delivered to a real receiver on loopback (http.server in a thread): registered by
the body's own software, each state change of its requests POSTed after the commit and signed
with HMAC-SHA256, a failed delivery tried again later, every attempt recorded, nothing sent for
a transaction rolled back, and nothing personal in what is sent."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select, text

from tests.helpers import system_token
from tests.web.test_api import body
from tests.worlds import FLOW, World, fresh_person
from workflow.db import utcnow
from workflow.models import WebhookAttempt, WebhookOutbox
from workflow.records.enums import CaseStage
from workflow.requests import filing
from workflow.requests.enums import Channel, ProvisionForm, SubjectKind
from workflow.requests.filing import RequestInput
from workflow.webhooks import delivery


class Receiver(BaseHTTPRequestHandler):
    """Keeps what it was sent; answers 500 to the next `fail` deliveries."""

    def do_POST(self) -> None:  # noqa: N802 - the standard library's name
        server = self.server
        data = self.rfile.read(int(self.headers["Content-Length"]))
        if server.fail:
            server.fail -= 1
            self.send_response(500)
        else:
            server.received.append((dict(self.headers), data))
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        """Quiet."""


@pytest.fixture
def receiver(app):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.received, server.fail = [], 0
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/custody"
    app.config["WEBHOOKS_HTTP_HOSTS"] = ["127.0.0.1"]
    yield server
    server.shutdown()
    server.server_close()


def deliver(runner) -> str:
    result = runner.invoke(args=["webhooks", "deliver"])
    assert result.exit_code == 0, result.output
    return result.output


def registered(client, headers, url: str) -> dict:
    response = client.post("/api/v1/webhooks", json={"url": url}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def verified(secret: str, headers: dict, data: bytes) -> bool:
    """What a receiver does: recompute the HMAC of `<timestamp>.<body>` and compare."""
    mac = hmac.new(secret.encode(), headers["X-Custody-Timestamp"].encode() + b"." + data,
                   hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers["X-Custody-Signature"], f"sha256={mac}")


def test_state_changes_are_posted_signed_after_the_commit(app, client, db, runner, receiver):
    software = system_token(app)
    hook = registered(client, software, receiver.url)
    assert len(hook["secret"]) >= 32
    assert "secret" not in client.get("/api/v1/webhooks", headers=software).get_json()[0]
    filed = client.post("/api/v1/requests", json=body(db, submit=True), headers=software)
    request = filed.get_json()
    assert receiver.received == []  # nothing leaves before the deliverer runs
    assert "delivered: 2, failed" in deliver(runner)  # submitted, then routed
    states = []
    for headers, data in receiver.received:
        assert verified(hook["secret"], headers, data)
        assert not verified("x" * 32, headers, data)
        assert abs(int(headers["X-Custody-Timestamp"]) - utcnow().timestamp()) < 60
        payload = json.loads(data)
        assert set(payload) == {"id", "event", "occurred_at", "request"}
        assert set(payload["request"]) == {"id", "number", "state", "previous_state"}
        assert payload["request"]["id"] == request["id"]
        assert payload["request"]["number"] == request["number"]
        assert str(payload["id"]) == headers["X-Custody-Delivery"]
        states.append((payload["request"]["previous_state"], payload["request"]["state"]))
        # Nothing personal: not the person's name or number, not the requester's.
        for secret in (body(db)["identity_number"], "Kiểm sát", "system.vks"):
            assert secret not in data.decode()
    assert states == [("draft", "submitted"), ("submitted", request["state"])]
    assert "delivered: 0" in deliver(runner)  # delivered once
    # Another body's requests are not told to this body's receiver.
    stranger = system_token(app, "system.vks.hcm", "VKS-HOCHIMINH")
    client.post("/api/v1/requests", json=body(db, submit=True), headers=stranger)
    assert "delivered: 0" in deliver(runner)
    # Another body cannot see or disable this webhook.
    assert client.get("/api/v1/webhooks", headers=stranger).get_json() == []
    assert client.post(f"/api/v1/webhooks/{hook['id']}/disable",
                       headers=stranger).status_code == 404
    deliveries = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=software)
    assert [d["attempts"][0]["status"] for d in deliveries.get_json()] == [204, 204]


def test_a_failed_delivery_is_tried_again_later_and_every_attempt_kept(app, client, db, runner,
                                                                       receiver):
    software = system_token(app)
    hook = registered(client, software, receiver.url)
    client.post("/api/v1/requests", json=body(db, submit=True), headers=software)
    receiver.fail = 1
    assert "delivered: 1, failed (tried again later): 1" in deliver(runner)
    [failed] = db.scalars(select(WebhookOutbox).where(WebhookOutbox.attempts == 1,
                                                      WebhookOutbox.delivered_at.is_(None)))
    assert failed.last_error == "HTTP 500"
    wait = failed.next_attempt_at - db.scalar(select(WebhookAttempt.attempted_at).where(
        WebhookAttempt.outbox_id == failed.id))
    assert wait == delivery.FIRST_RETRY
    assert "delivered: 0, failed (tried again later): 0" in deliver(runner)  # not due yet
    with app.extensions["custody_sessions"]() as session:
        later = utcnow() + dt.timedelta(minutes=2)
        assert delivery.due(session, later) == [failed.id]
        assert delivery.deliver(session, failed.id, later) is True
        session.commit()
    attempts = db.execute(select(WebhookAttempt.status, WebhookAttempt.error).where(
        WebhookAttempt.outbox_id == failed.id).order_by(WebhookAttempt.id)).all()
    assert [tuple(a) for a in attempts] == [(500, "HTTP 500"), (204, None)]
    assert len(receiver.received) == 2 and all(
        verified(hook["secret"], h, d) for h, d in receiver.received)
    now = utcnow()
    assert delivery.retry_at(now, 3) - now == 4 * delivery.FIRST_RETRY  # the wait doubles
    # The attempts are append-only, in the database itself.
    engine = app.extensions["custody_engine"]
    with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
        conn.execute(text("UPDATE webhook_attempt SET status = 200"))


def test_nothing_is_sent_for_a_change_rolled_back_nor_to_a_disabled_webhook(
        app, client, db, runner, receiver):
    software = system_token(app)
    hook = registered(client, software, receiver.url)
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        person = fresh_person(world, db, CaseStage.CLOSED)
        actor = world.actor("system.vks")
        draft = world.act(filing.file_request, actor, RequestInput(
            channel=Channel.NETWORK, subject_kind=SubjectKind.PERSON,
            purpose="Kiểm sát việc tạm giam", legal_basis="Điều 12 NĐ 121",
            provision=ProvisionForm.PDF, categories=["episodes"],
            identity_number=person.identifiers[-1].value))
        draft_id = draft.id
        filing.submit(session, FLOW, actor, draft_id)
        assert session.scalars(select(WebhookOutbox)).all()  # owed inside the transaction
        session.rollback()
    assert db.scalars(select(WebhookOutbox)).all() == []
    assert "delivered: 0" in deliver(runner) and receiver.received == []
    # Owed, then disabled before delivery: not sent.
    with app.extensions["custody_sessions"]() as session:
        World(session).act(filing.submit, FLOW, World(session).actor("system.vks"), draft_id)
    assert len(db.scalars(select(WebhookOutbox)).all()) == 2  # submitted, routed
    assert client.post(f"/api/v1/webhooks/{hook['id']}/disable",
                       headers=software).status_code == 200
    assert "delivered: 0" in deliver(runner) and receiver.received == []


@pytest.mark.parametrize("url", ["http://example.vn/hook", "https://10.0.0.5/hook",
                                 "https://127.0.0.1/hook", "https://localhost/hook",
                                 "ftp://example.vn/x", "https://user:pw@example.vn/x"])
def test_a_webhook_goes_over_https_to_a_public_address_only(app, client, url):
    software = system_token(app)
    response = client.post("/api/v1/webhooks", json={"url": url}, headers=software)
    assert response.status_code == 422, response.get_json()
    assert client.post("/api/v1/webhooks", json={"url": "https://hooks.vks.example.vn/c"},
                       headers=software).status_code == 201


def test_an_administrator_manages_a_bodys_webhooks_from_the_command_line(app, runner, db):
    args = ["webhooks", "register", "--org", "VKS-HANOI", "--url", "https://hooks.vks.vn/a"]
    refused = runner.invoke(args=[*args, "--as", "requester.vks"])  # a person of the body
    assert refused.exit_code != 0 and "an administrator manages" in refused.output
    made = runner.invoke(args=[*args, "--as", "admin"])
    assert made.exit_code == 0, made.output
    hook_id = made.output.split()[1]
    assert len(made.output.rsplit("secret: ", 1)[1].strip()) >= 32
    software = system_token(app)
    [listed] = app.test_client().get("/api/v1/webhooks", headers=software).get_json()
    assert str(listed["id"]) == hook_id and listed["active"] is True
    off = runner.invoke(args=["webhooks", "disable", "--as", "admin", "--org", "VKS-HANOI",
                              hook_id])
    assert off.exit_code == 0, off.output
    assert app.test_client().get("/api/v1/webhooks", headers=software).get_json()[0][
        "active"] is False
