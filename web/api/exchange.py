"""The exchange endpoints of the API: packages between the subsystems and agreed feeds (Decree
Arts. 6, 8, 13), for the exchange system account's bearer token."""

from __future__ import annotations

from flask import request

from web import db
from web.api.schemas import ExportIn, FeedOut, ImportReportOut, PackageSchema
from web.api.views import _actor, bp
from web.keys import EXCHANGE, signing_key
from workflow.exchange import feeds, incoming, outgoing


@bp.route("/exchange/packages/export", methods=["POST"])
@bp.arguments(ExportIn)
@bp.response(200, PackageSchema)
def export_package(data):
    """The next signed package of a managing body's scope (changes since its last one)."""
    return outgoing.export_package(db.session(), _actor(), data["source"], signing_key(EXCHANGE))


@bp.route("/exchange/packages", methods=["POST"])
@bp.arguments(PackageSchema)
@bp.response(200, ImportReportOut)
def import_package(_data):
    """Verify a package's signature and apply it; the same package twice changes nothing."""
    # The signature covers the document exactly as sent, so the raw JSON is what is verified.
    return incoming.import_package(db.session(), _actor(), request.get_json()).as_dict()


@bp.route("/exchange/agreements/<int:agreement_id>/feed", methods=["POST"])
@bp.response(200, FeedOut)
def run_feed(agreement_id: int):
    """The agreement's fields for every person changed since its last run, signed."""
    return feeds.run_feed(db.session(), _actor(), agreement_id, signing_key(EXCHANGE))
