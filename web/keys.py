"""The installation's Ed25519 signing keys, in files outside the database."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import current_app

from workflow.checkpoints import load_or_create_key

AUDIT = ("AUDIT_SIGNING_KEY", "audit-signing-key.pem")
EXCHANGE = ("EXCHANGE_SIGNING_KEY", "exchange-signing-key.pem")


def signing_key(which: tuple[str, str]) -> Ed25519PrivateKey:
    """The key a setting names, by default a file in instance/ (created on first use)."""
    setting, default_name = which
    return load_or_create_key(Path(current_app.config.get(setting)
                                   or Path(current_app.instance_path) / default_name))
