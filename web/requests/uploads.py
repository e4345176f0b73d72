"""Scans of signed request forms: checked by content, stored under a server-chosen name."""

from __future__ import annotations

import uuid
from pathlib import Path

from flask import current_app
from werkzeug.datastructures import FileStorage

from workflow.errors import InvalidInput
from workflow.i18n import N_

SIGNATURES = {b"%PDF-": ".pdf", b"\xff\xd8\xff": ".jpg", b"\x89PNG\r\n\x1a\n": ".png"}


def store_scan(upload: FileStorage | None) -> str | None:
    """Keep an uploaded scan outside the web root; returns its stored name (None: no file)."""
    if upload is None or not upload.filename:
        return None
    head = upload.stream.read(8)
    upload.stream.seek(0)
    suffix = next((ext for magic, ext in SIGNATURES.items() if head.startswith(magic)), None)
    if suffix is None:
        raise InvalidInput(N_("The scan must be a PDF, JPEG or PNG file."))
    folder = Path(current_app.instance_path) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{uuid.uuid4().hex}{suffix}"
    upload.save(folder / name)
    return name
