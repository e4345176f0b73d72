"""Scans of signed request forms: checked by content, stored under a server-chosen name, and
written to disk only when the request's transaction commits (a rejected form leaves nothing)."""

from __future__ import annotations

import uuid
from pathlib import Path

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from web import db
from workflow.errors import InvalidInput
from workflow.i18n import N_

SIGNATURES = {b"%PDF-": ".pdf", b"\xff\xd8\xff": ".jpg", b"\x89PNG\r\n\x1a\n": ".png"}
_PENDING = "uploads.pending"


def store_scan(upload: FileStorage | None) -> str | None:
    """Check an uploaded scan and name it; the file is written when the transaction commits.
    Returns its stored name (None: no file)."""
    if upload is None or not upload.filename:
        return None
    head = upload.stream.read(8)
    upload.stream.seek(0)
    suffix = next((ext for magic, ext in SIGNATURES.items() if head.startswith(magic)), None)
    if suffix is None:
        raise InvalidInput(N_("The scan must be a PDF, JPEG or PNG file."))
    name = f"{uuid.uuid4().hex}{suffix}"
    sess = db.session()
    if _PENDING not in sess.info:
        # Once per list of pending files: the commit writes it, a rollback forgets it.
        event.listen(sess, "before_commit", _write, once=True)
        event.listen(sess, "after_rollback", _forget, once=True)
    folder = Path(current_app.instance_path) / "uploads"
    sess.info.setdefault(_PENDING, []).append((folder, name, upload.read()))
    return name


def pending_mark() -> int:
    """How many files wait for the commit: a savepoint that fails drops those it added."""
    return len(db.session().info.get(_PENDING, []))


def forget_since(mark: int) -> None:
    """Drop the files added since the mark (their form was rejected)."""
    del db.session().info.get(_PENDING, [])[mark:]


def _write(sess: Session) -> None:
    # Before the commit: if a file cannot be written, nothing that names it is committed.
    for folder, name, content in sess.info.pop(_PENDING, []):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)


def _forget(sess: Session) -> None:
    sess.info.pop(_PENDING, None)
