"""The API for requesting bodies' own systems: a released extract read as data, and the
body's webhooks (registered, listed, disabled, their deliveries), for its service account's
bearer token. The same gates, errors and audit as every other route of the API."""

from __future__ import annotations

from flask import current_app
from flask_smorest import Page

from web import db
from web.api.schemas import (
    DeliveryOut,
    ErrorOut,
    ExtractDataOut,
    WebhookCreatedOut,
    WebhookIn,
    WebhookOut,
)
from web.api.views import _actor, bp
from web.documents.views import settings
from workflow.documents import reading
from workflow.webhooks import registry

NOT_AS_DATA = ("A secret extract, or an extract for a named recipient outside the requesting "
               "body: it is handed over as its PDF only (audited).")
ENDED = "Revoked, expired or its downloads used up (each read counts as one download)."


def http_hosts() -> frozenset[str]:
    """The hosts a webhook may be sent to over plain HTTP (configuration; none by default)."""
    hosts = current_app.config["WEBHOOKS_HTTP_HOSTS"] or ()
    if isinstance(hosts, str):
        hosts = hosts.split(",")
    return frozenset(host.strip().lower() for host in hosts if host.strip())


def _org_id() -> int:
    return _actor().user.organisation_id


@bp.route("/documents/<int:document_id>/contents", methods=["GET"])
@bp.response(200, ExtractDataOut)
@bp.alt_response(403, schema=ErrorOut, description=NOT_AS_DATA)
@bp.alt_response(410, schema=ErrorOut, description=ENDED)
def extract_contents(document_id: int):
    """A released extract's contents as data, for its recipients of the requesting body while
    it may be downloaded: the fields and withholding of its PDF; each read is a download
    (counted against its limit and audited)."""
    return reading.read_extract(db.session(), settings(), _actor(), document_id)


@bp.route("/webhooks", methods=["GET"])
@bp.response(200, WebhookOut(many=True))
@bp.paginate(Page)
def webhooks():
    """Your body's webhooks, active first."""
    return registry.webhooks_of(db.session(), _actor(), _org_id())


@bp.route("/webhooks", methods=["POST"])
@bp.arguments(WebhookIn)
@bp.response(201, WebhookCreatedOut)
def register_webhook(data):
    """Register an address to be told, signed with HMAC-SHA256, of every state change of your
    body's requests (the secret, generated unless given, is returned this once)."""
    return registry.register(db.session(), _actor(), _org_id(), data["url"], data.get("secret"),
                             http_hosts=http_hosts())


@bp.route("/webhooks/<int:webhook_id>/disable", methods=["POST"])
@bp.response(200, WebhookOut)
def disable_webhook(webhook_id: int):
    """Stop sending to a webhook (what it is still owed is not sent either)."""
    return registry.disable(db.session(), _actor(), _org_id(), webhook_id)


@bp.route("/webhooks/<int:webhook_id>/deliveries", methods=["GET"])
@bp.response(200, DeliveryOut(many=True))
@bp.paginate(Page)
def webhook_deliveries(webhook_id: int):
    """What was owed to a webhook, newest first, with every attempt to deliver it."""
    return registry.deliveries(db.session(), _actor(), _org_id(), webhook_id)
