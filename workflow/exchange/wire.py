"""The package format on the wire: the record types in their order, the references between them,
canonical JSON, and the Ed25519 signature over it."""

from __future__ import annotations

import json
from collections.abc import Mapping

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.audit.checkpoints import key_id
from workflow.models import (
    Case,
    CustodyEpisode,
    CustodyEvent,
    ExchangeLink,
    Organisation,
    Person,
    PersonIdentifier,
    RecordDocument,
)

FORMAT = "custody-exchange/1"
RECEIPT_FORMAT = "custody-receipt/1"
ASK_FORMAT = "custody-ask/1"  # a receiver asks for records again
ASK_LIMIT = 1000  # records one request may name (the rest wait for the next request)
RECEIPT_OUTCOMES = ("applied", "already applied", "refused")
MODELS: dict[str, type] = {"person": Person, "case": Case, "identifier": PersonIdentifier,
                           "episode": CustodyEpisode, "event": CustodyEvent,
                           "document": RecordDocument}
ORDER = list(MODELS)  # a record comes after those it refers to
RECORD_REFS = {"person_id": "person", "episode_id": "episode", "case_id": "case"}
# Organisations travel by code: ids differ between databases, codes do not.
ORG_REFS = {"facility_id": "facility", "other_facility_id": "other_facility",
            "handling_org_id": "handling_org"}
NOT_COPIED = {"id", "version", "created_at", "created_by_id", "name_key", "given_key",
              "merged_into_id"}


def canonical(body: Mapping) -> bytes:
    """The bytes that are signed and hashed: sorted keys, no spaces, UTF-8."""
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def sign(body: dict, key: Ed25519PrivateKey) -> dict:
    """The body with its signature."""
    return {**body, "signature": {"key_id": key_id(key), "value": key.sign(canonical(body)).hex()}}


def org_codes(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Organisation.id, Organisation.code)).all())


def linked_record(session: Session, source: str, record_type: str, source_id: object
          ) -> ExchangeLink | None:
    return session.scalar(select(ExchangeLink).where(
        ExchangeLink.source == source, ExchangeLink.record_type == record_type,
        ExchangeLink.source_id == source_id))
