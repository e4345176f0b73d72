"""The exchange endpoints of the API: packages between the subsystems and agreed feeds (Decree
Arts. 6, 8, 13), for the exchange system account's bearer token."""

from __future__ import annotations

from flask import request

from web import db
from web.api.schemas import (
    AskedOut,
    AskSchema,
    ExportIn,
    FeedOut,
    ImportReportOut,
    PackageSchema,
    ReceiptOut,
    ReceiptSchema,
    SentPackageOut,
    SourceArgs,
)
from web.api.views import _actor, bp
from web.keys import EXCHANGE, signing_key
from workflow.context import Actor
from workflow.errors import DomainError
from workflow.exchange import conflicts, feeds, incoming, outgoing
from workflow.exchange.policy import can_receive


@bp.route("/exchange/packages/export", methods=["POST"])
@bp.arguments(ExportIn)
@bp.response(200, PackageSchema)
def export_package(data):
    """The next signed package of a managing body's scope (changes since its last one), or
    package `again` made again."""
    if data.get("again") is not None:
        return outgoing.reexport_package(db.session(), _actor(), data["source"], data["again"],
                                         signing_key(EXCHANGE))
    return outgoing.export_package(db.session(), _actor(), data["source"], signing_key(EXCHANGE))


@bp.route("/exchange/packages", methods=["POST"])
@bp.arguments(PackageSchema)
@bp.response(200, ImportReportOut)
def import_package(_data):
    """Verify a package's signature and apply it; the same package twice changes nothing."""
    # The signature covers the document exactly as sent, so the raw JSON is what is verified.
    package, actor = request.get_json(), _actor()
    try:
        report = incoming.import_package(db.session(), actor, package)
    except DomainError as refusal:
        # The sender learns what arrived and why it was refused, signed as an applied one is.
        if can_receive(actor.user):
            refusal.answer = {"receipt": _receipt(actor, package, refusal=refusal)}
        raise
    return report.as_dict() | {"receipt": _receipt(actor, package, report=report)}


def _receipt(actor: Actor, package: object, **outcome) -> dict:
    return incoming.receipt(actor.user.organisation.code, package, signing_key(EXCHANGE),
                            actor.now, **outcome)


@bp.route("/exchange/packages/sent", methods=["GET"])
@bp.arguments(SourceArgs, location="query")
@bp.response(200, SentPackageOut(many=True))
def sent_packages(args):
    """The body's packages, newest first, with the receipts its receivers gave back."""
    return [p.as_dict() for p in outgoing.sent_packages(db.session(), _actor(), args["source"])]


@bp.route("/exchange/receipts", methods=["POST"])
@bp.arguments(ReceiptSchema)
@bp.response(200, ReceiptOut)
def record_receipt(_data):
    """Keep a receiver's signed receipt for one of our packages."""
    kept = outgoing.record_receipt(db.session(), _actor(), request.get_json())
    return {"receiver": kept.receiver, "outcome": kept.outcome,
            "same_content": kept.sha256 == kept.package.sha256, "conflicts": kept.conflicts,
            "signed_at": kept.signed_at.isoformat()}


@bp.route("/exchange/asks/make", methods=["POST"])
@bp.arguments(SourceArgs)
@bp.response(200, AskSchema)
def make_ask(data):
    """The signed request to a sender for the records of its that the records officers here
    marked to be asked for again."""
    return conflicts.ask_document(db.session(), _actor(), data["source"], signing_key(EXCHANGE))


@bp.route("/exchange/asks", methods=["POST"])
@bp.arguments(AskSchema)
@bp.response(200, AskedOut)
def record_ask(_data):
    """Keep a receiver's signed request for records of ours: the next package carries them."""
    return {"records": outgoing.record_ask(db.session(), _actor(), request.get_json())}


@bp.route("/exchange/agreements/<int:agreement_id>/feed", methods=["POST"])
@bp.response(200, FeedOut)
def run_feed(agreement_id: int):
    """The agreement's fields for every person changed since its last run, signed."""
    return feeds.run_feed(db.session(), _actor(), agreement_id, signing_key(EXCHANGE))
