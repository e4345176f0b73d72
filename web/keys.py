"""The installation's Ed25519 signing keys, in files outside the database."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask, current_app

from workflow.audit.checkpoints import load_or_create_key

AUDIT = ("AUDIT_SIGNING_KEY", "audit-signing-key.pem")
EXCHANGE = ("EXCHANGE_SIGNING_KEY", "exchange-signing-key.pem")
AUDIT_WITNESS = ("AUDIT_WITNESS_LOG", "audit-witness.log")


def signing_key(which: tuple[str, str], app: Flask | None = None) -> Ed25519PrivateKey:
    """The key a setting names, by default a file in instance/ (created on first use)."""
    return load_or_create_key(instance_file(which, app))


def instance_file(which: tuple[str, str], app: Flask | None = None) -> Path:
    """The file a setting names, by default one in instance/."""
    app = app or current_app
    setting, default_name = which
    return Path(app.config.get(setting) or Path(app.instance_path) / default_name)
