"""Bulk imports, attacked: another clerk's job, a job of another kind, a file name with markup,
files too large, an uploader switched off before the job runs."""

from __future__ import annotations

import io
import tracemalloc

import pytest
from sqlalchemy import select

from tests.helpers import org
from tests.records.test_bulk_import import HEADER
from tests.records.test_import_jobs import (
    FILE,
    _import_jobs,
    _imported,
    _sent,
    _upload,
    _work,
    queued_app,  # noqa: F401
)
from workflow.context import SYSTEM, Actor
from workflow.enums import Role
from workflow.errors import InvalidInput, NotFound
from workflow.jobs import kinds, runs
from workflow.models import User
from workflow.records import bulk_import
from workflow.security.accounts import create_user


def _post(client, db, content: bytes, name: str, facility: str = "TTG-HANOI", **kw):
    return client.post("/persons/import", data={
        "facility_id": org(db, facility).id, "file": (io.BytesIO(content), name)},
        content_type="multipart/form-data", **kw)


def test_a_file_name_with_markup_is_shown_as_text(client, auth, db):
    auth.login("clerk.hanoi")
    page = _post(client, db, FILE, '<img src=x onerror=alert(1)><script>.csv',
                 follow_redirects=True)
    html = page.get_data(as_text=True)
    assert page.request.path.startswith("/persons/import/")
    assert "<script>" not in html and "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_another_clerk_or_another_kind_of_job_finds_no_import(client, auth, db):
    auth.login("clerk.hanoi")
    _post(client, db, FILE, "tep.csv")
    [job] = _import_jobs(db)
    uploader = db.get(User, job.user_id)
    colleague = create_user(db, SYSTEM, username="clerk.hanoi2", full_name="Cán bộ hai",
                            organisation_id=uploader.organisation_id, roles={Role.CLERK},
                            password="một câu đủ dài")
    with pytest.raises(NotFound):
        bulk_import.import_job(db, Actor(colleague), job.id)
    other = runs.submit(db, Actor(uploader), kinds.PREPARE, request_id=None)
    db.flush()
    with pytest.raises(NotFound):
        bulk_import.import_job(db, Actor(uploader), other.id)
    db.rollback()
    assert client.get(f"/persons/import/{job.id + 1000}").status_code == 404
    auth.logout()
    auth.login("clerk.hcm")
    assert client.get(f"/persons/import/{job.id}").status_code == 404


def test_files_too_large_are_refused_before_anything_is_kept(client, auth, db):
    auth.login("clerk.hanoi")
    assert _post(client, db, b"x" * (13 * 1024 * 1024), "big.csv").status_code == 413
    page = _post(client, db, FILE + b"#" * (6 * 1024 * 1024), "big.csv")
    assert page.status_code == 422 and "5 MB" in page.get_data(as_text=True)
    assert _import_jobs(db) == []


def test_an_uploader_switched_off_before_the_job_runs_imports_nothing(
        queued_app, queue_name, db):  # noqa: F811
    _, job = _sent(queued_app, db)
    db.get(User, job.user_id).active = False
    db.commit()
    _work(queued_app, queue_name)
    [job] = _import_jobs(db)
    assert job.state == "failed" and _imported(db) == 0
    assert _upload(db, job.id).content is None
    assert db.scalars(select(User).where(User.id == job.user_id)).one().active is False


def test_a_csv_file_of_a_million_tiny_rows_is_refused_without_holding_them_all():
    # Read in full, a 5 MB file of such rows took ~0.8 GB and 11 s of a request to refuse.
    content = HEADER.encode() + b"a\n" * (1024 * 1024)
    tracemalloc.start()
    try:
        with pytest.raises(InvalidInput, match="At most"):
            bulk_import.read_rows(content, "rows.csv")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40 * 1024 * 1024
