"""The keys trusted for each sending body, and the check of a package against them: the signature,
the order of sequences, and every record inside the sender's scope on the day."""

from __future__ import annotations

import datetime as dt
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from workflow.audit import chain as audit
from workflow.audit.checkpoints import key_id, public_pem
from workflow.context import Actor
from workflow.errors import Forbidden, InvalidInput
from workflow.exchange.policy import can_configure
from workflow.exchange.wire import FORMAT, MODELS, RECORD_REFS, canonical, linked_record, org_codes
from workflow.i18n import N_
from workflow.models import (
    CustodyEpisode,
    ExchangePartner,
    ExchangeRetiredKey,
)
from workflow.organisations.scope import Scope


def register_partner(session: Session, actor: Actor, code: str, public_key_pem: str,
                     overlap: dt.timedelta = dt.timedelta(0)) -> ExchangePartner:
    """Trust a body's packages signed with this key; a key it replaces still verifies what was
    signed up to the end of the overlap."""
    if not can_configure(actor.user):
        raise Forbidden(N_("Keys are trusted by the administrators of the database."))
    if overlap < dt.timedelta(0):
        raise InvalidInput(N_("The overlap of two keys cannot be negative."))
    try:
        key = serialization.load_pem_public_key(public_key_pem.encode())
    except ValueError as error:
        raise InvalidInput(N_("This is not a public key in PEM.")) from error
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInput(N_("Exchange keys are Ed25519 keys."))
    partner = session.scalar(select(ExchangePartner).where(ExchangePartner.code == code))
    if partner is None:
        partner = ExchangePartner(code=code, public_key="", key_id="")
        session.add(partner)
        session.flush()
    elif partner.key_id != key_id(key):
        session.add(ExchangeRetiredKey(partner_id=partner.id, key_id=partner.key_id,
                                       public_key=partner.public_key, retired_at=actor.now,
                                       accepted_until=actor.now + overlap))
    session.execute(delete(ExchangeRetiredKey).where(  # a key trusted again is current again
        ExchangeRetiredKey.partner_id == partner.id, ExchangeRetiredKey.key_id == key_id(key)))
    partner.public_key, partner.key_id = public_pem(key), key_id(key)
    session.flush()
    audit.record(session, actor, "exchange.trust", object_type="partner", object_id=code,
                 details={"key_id": partner.key_id, "overlap_days": overlap.days})
    return partner


def verified(session: Session, code: str, document: dict, made_at: object) -> dict:
    """The document without its signature, once the signature verifies with a key of the body
    `code` that was in force when the document says it was made."""
    signature = document.get("signature")
    if not isinstance(signature, dict):
        raise InvalidInput(N_("The package names no source or carries no signature."))
    partner = session.scalar(select(ExchangePartner).where(ExchangePartner.code == code))
    if partner is None:
        raise InvalidInput(N_("No key is registered for %(source)s: its packages are not "
                              "accepted."), source=code)
    pem = partner.public_key
    if signature.get("key_id") != partner.key_id:
        retired = session.scalar(select(ExchangeRetiredKey).where(
            ExchangeRetiredKey.partner_id == partner.id,
            ExchangeRetiredKey.key_id == signature.get("key_id")))
        if retired is not None:
            if moment(made_at) is None or moment(made_at) > retired.accepted_until:
                raise InvalidInput(N_("Signed with the key %(key)s of %(source)s after that key "
                                      "was replaced: ask for it again signed with the current "
                                      "key."), key=retired.key_id, source=code)
            pem = retired.public_key
    body = {k: v for k, v in document.items() if k != "signature"}
    key = serialization.load_pem_public_key(pem.encode())
    try:
        key.verify(bytes.fromhex(str(signature.get("value", ""))), canonical(body))
    except (InvalidSignature, ValueError) as error:
        raise InvalidInput(N_("The package's signature does not verify: it was changed after "
                              "signing, or signed with another key. Nothing was applied."),
                           ) from error
    return body


def moment(value: object) -> dt.datetime | None:
    """A timezone-aware ISO 8601 moment of a signed document, or None."""
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def verified_package(session: Session, package: object) -> tuple[dict, str]:
    """The package's body once its form and signature are checked, and its SHA-256."""
    if not isinstance(package, dict) or package.get("format") != FORMAT:
        raise InvalidInput(N_("This is not an exchange package (format %(format)s)."),
                           format=FORMAT)
    source = package.get("source")
    if not isinstance(source, str):
        raise InvalidInput(N_("The package names no source or carries no signature."))
    body = verified(session, source, package, package.get("created_at"))
    if not isinstance(body.get("sequence"), int) or not isinstance(body.get("records"), list) \
            or not isinstance(body.get("stages"), list) or not isinstance(body.get("marks"), dict):
        raise InvalidInput(N_("The package is incomplete."))
    for i, item in enumerate(body["records"]):
        if not isinstance(item, dict) or item.get("type") not in MODELS \
                or not isinstance(item.get("id"), int) or not isinstance(item.get("version"), int) \
                or not isinstance(item.get("data"), dict) \
                or not all(isinstance(item["data"].get(ref), int | None) for ref in RECORD_REFS):
            raise InvalidInput(N_("Record %(n)s of the package is malformed."), n=i + 1)
    if not all(isinstance(item, dict) and isinstance(item.get("id"), int)
               for item in body["stages"]):
        raise InvalidInput(N_("A case stage of the package is malformed."))
    return body, hashlib.sha256(canonical(body)).hexdigest()


def outside_scope(session: Session, body: dict, scope: Scope) -> str | None:
    """The first record of the package that is not the sender's to send, if any.

    Episodes must be at the sender's facilities. Every other record must belong to one of them:
    to an episode of the package, or to a record received from the sender before whose local
    episode is still in its scope. A record naming one never received is left to the conflict
    report (it cannot be applied); a new person or case tied to no episode is refused."""
    source = body["source"]
    orgs = {code: oid for oid, code in org_codes(session).items()}
    episodes = [r for r in body["records"] if r["type"] == "episode"]
    for item in episodes:
        facility = orgs.get(item["data"].get("facility"))
        if facility is None or not scope.covers(facility):
            return f"episode {item['id']}"
    sent = {"episode": {r["id"] for r in episodes},
            "person": {r["data"].get("person_id") for r in episodes} - {None},
            "case": {r["data"].get("case_id") for r in episodes} - {None}}
    columns = {"episode": CustodyEpisode.id, "person": CustodyEpisode.person_id,
               "case": CustodyEpisode.case_id}
    known: dict[tuple[str, int], bool | None] = {}

    def held(kind: str, source_id: object) -> bool | None:
        # True: in scope; False: outside it; None: never received from this sender.
        if not isinstance(source_id, int):
            return None
        if source_id in sent[kind]:
            return True
        if (kind, source_id) not in known:
            link = linked_record(session, source, kind, source_id)
            known[kind, source_id] = None if link is None else any(
                scope.covers(f) for f in session.scalars(select(CustodyEpisode.facility_id)
                                                         .where(columns[kind] == link.local_id)))
        return known[kind, source_id]

    for item in body["records"]:
        kind, data = item["type"], item["data"]
        if kind in ("person", "case"):
            inside = held(kind, item["id"]) is True
        elif kind == "document" and data.get("episode_id") is not None:
            inside = held("episode", data["episode_id"]) is not False
        elif kind in ("identifier", "document"):
            inside = held("person", data.get("person_id")) is not False
        elif kind == "event":
            inside = held("episode", data.get("episode_id")) is not False
        else:
            inside = True
        if not inside:
            return f"{kind} {item['id']}"
    for item in body["stages"]:
        if held("case", item.get("case_id")) is False:
            return f"stage {item['id']}"
    return None
