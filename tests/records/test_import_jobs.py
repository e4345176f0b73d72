"""A file of records sent from the page is checked at once and kept in the database, then
imported by a job acting as its uploader: the page follows it ("rows k of N") and shows the
report by itself; a job run again (a retry, a message delivered twice, two workers) imports the
file once; a job whose uploader lost the right meanwhile imports nothing, audited as refused."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select

from tests.helpers import org
from tests.operations import test_jobs
from tests.operations.test_jobs import _signed_in, _work
from tests.records.test_bulk_import import GOOD, HEADER
from web import jobs
from workflow.jobs import runs
from workflow.models import AuditEntry, Job, Person, RecordImport, User
from workflow.records import persons as person_ops

FILE = (HEADER + "\n".join(GOOD)).encode()
NAMES = ("Lê Văn Nhập", "Trần Thị Tệp", "Phạm Đức Hàng")
queued_app = test_jobs.queued_app  # the application whose jobs go on a Redis queue


def _send(client, db, content: bytes = FILE, name: str = "tep.csv"):
    return client.post("/persons/import", data={
        "facility_id": org(db, "TTG-HANOI").id, "file": (io.BytesIO(content), name)},
        content_type="multipart/form-data")


def _imported(db) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(Person).where(Person.full_name.in_(NAMES)))


def _import_jobs(db) -> list[Job]:
    db.expire_all()
    return list(db.scalars(select(Job).where(Job.kind == "records.import").order_by(Job.id)))


def _upload(db, job_id: int) -> RecordImport:
    db.expire_all()
    return db.scalars(select(RecordImport).where(RecordImport.job_id == job_id)).one()


def _sent(app, db) -> tuple[object, Job]:
    client = _signed_in(app, "clerk.hanoi")
    sent = _send(client, db)
    [job] = _import_jobs(db)
    assert sent.status_code == 302 and sent.location.endswith(f"/persons/import/{job.id}")
    return client, job


@pytest.mark.parametrize(("content", "name", "why"), [
    (b"ho_ten,ngay\nA,1\n", "tep.csv", "Tệp thiếu các cột"),
    (HEADER.encode(), "tep.csv", "Tệp không có bản ghi nào"),
    (b"\xff\xfe not text", "tep.csv", "không phải văn bản UTF-8"),
])
def test_a_file_that_cannot_be_imported_is_refused_at_once_and_nothing_kept(
        client, auth, db, content, name, why):
    auth.login("clerk.hanoi")
    page = _send(client, db, content, name)
    assert page.status_code == 422 and why in page.get_data(as_text=True)
    assert 'name="facility_id"' in page.get_data(as_text=True)  # the form, to send it again
    assert _import_jobs(db) == []
    assert db.scalar(select(func.count()).select_from(RecordImport)) == 0


def test_the_file_waits_in_the_database_and_its_page_follows_the_job_to_the_report(
        queued_app, queue_name, db, monkeypatch):
    client, job = _sent(queued_app, db)
    assert (job.state, job.parts_done, job.parts_total) == ("queued", 0, 3)
    assert _upload(db, job.id).content == FILE  # kept where the other node's worker finds it
    assert _imported(db) == 0  # nothing imported in the request
    url = f"/persons/import/{job.id}"
    page = client.get(url).get_data(as_text=True)
    assert "Tệp đang được nhập" in page and "Đã kiểm tra 0 trên 3 dòng." in page
    assert f'<meta http-equiv="refresh" content="3; url={url}">' in page

    told, writer = [], runs.progress_writer

    def watched(sessions, job_id):
        tell = writer(sessions, job_id)

        def both(done, total):
            tell(done, total)
            with sessions() as other:  # what the page reads meanwhile
                told.append((other.get(Job, job_id).parts_done, total))
        return both

    monkeypatch.setattr(runs, "progress_writer", watched)
    _work(queued_app, queue_name)
    [job] = _import_jobs(db)
    assert (job.state, job.attempts, job.parts_done) == ("done", 1, 3)
    if db.bind.dialect.name != "sqlite":  # SQLite's one writer holds the lock meanwhile
        assert told == [(1, 3), (2, 3)]
    assert _imported(db) == 3
    upload = _upload(db, job.id)
    assert upload.content is None and json.loads(upload.report_json)["imported"] == 3
    page = client.get(url).get_data(as_text=True)
    assert "Đã đăng ký 3 người từ tệp tep.csv." in page and 'http-equiv="refresh"' not in page
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "record.import")).one()
    assert json.loads(entry.details) == {"file": "tep.csv", "rows": 3, "imported": 3,
                                         "rejected": 0, "job": job.id}
    assert entry.actor_id == job.user_id


def test_a_rejected_row_is_reported_on_the_page_with_its_reason(queued_app, queue_name, db):
    client = _signed_in(queued_app, "clerk.hanoi")
    _send(client, db, (HEADER + GOOD[0] + "\nX,31/02/1990,male,VN,cccd,001090123459,detention,"
                       "2026-11-01,L").encode())
    _work(queued_app, queue_name)
    [job] = _import_jobs(db)
    assert job.state == "done" and _imported(db) == 0
    page = client.get(f"/persons/import/{job.id}").get_data(as_text=True)
    assert "Chưa nhập bản ghi nào: 1 trong 2 dòng bị từ chối" in page
    assert '<td class="num">3</td><td class="mono">birth_date</td>' in page


def test_an_import_job_run_again_imports_the_file_once(queued_app, queue_name, db):
    _client, job = _sent(queued_app, db)
    assert jobs.run(queued_app, job.id).state == "done"
    assert _imported(db) == 3
    assert jobs.run(queued_app, job.id) is None  # claimed once: a second run does nothing
    # Even queued again by mistake (a worker thought lost, a message delivered twice):
    again = db.get(Job, job.id)
    again.state = "queued"
    db.commit()
    assert jobs.run(queued_app, job.id).state == "done"
    assert _imported(db) == 3
    assert json.loads(_upload(db, job.id).report_json)["imported"] == 3  # the first run's
    assert db.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "record.import")) == 1


def test_an_import_that_fails_midway_is_undone_and_retried_whole(
        queued_app, queue_name, db, monkeypatch):
    _sent(queued_app, db)
    real, calls = person_ops.create_person, []

    def dies_on_the_second_row_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise MemoryError  # the worker's first attempt dies after one row
        return real(*args, **kwargs)

    monkeypatch.setattr(person_ops, "create_person", dies_on_the_second_row_once)
    _work(queued_app, queue_name)  # the retry is queued again and taken in the same run
    [job] = _import_jobs(db)
    assert (job.state, job.attempts, job.error) == ("done", 2, None)
    assert _imported(db) == 3 and len(calls) == 5  # one row made and undone, then all three


def test_two_workers_running_one_import_at_once_import_it_once(queued_app, queue_name, db,
                                                               backend):
    if backend != "postgresql":
        pytest.skip("two writers at once: PostgreSQL")
    _client, job = _sent(queued_app, db)
    # the second found the report of the first
    assert test_jobs._at_once(queued_app, job.id) == ["done", "done"]
    assert _imported(db) == 3
    assert json.loads(_upload(db, job.id).report_json)["imported"] == 3


def test_an_uploader_who_lost_the_facility_meanwhile_imports_nothing_audited_as_refused(
        queued_app, queue_name, db):
    client, job = _sent(queued_app, db)
    clerk = db.get(User, job.user_id)
    clerk.organisation_id = org(db, "TTG-HOCHIMINH").id  # moved before the job runs
    db.commit()
    _work(queued_app, queue_name)
    [job] = _import_jobs(db)
    assert (job.state, job.attempts) == ("failed", 1)  # a refusal: never retried
    upload = _upload(db, job.id)
    assert _imported(db) == 0 and upload.report_json is None
    assert upload.content is None  # no copy of the persons kept for nothing
    refused = db.scalars(select(AuditEntry).where(AuditEntry.action == "access.refused",
                                                  AuditEntry.object_type == "job")).one()
    assert (refused.object_id, refused.actor_id) == (str(job.id), clerk.id)
    assert json.loads(refused.details)["kind"] == "records.import"
    page = client.get(f"/persons/import/{job.id}").get_data(as_text=True)
    assert "Không nhập được tệp" in page and "hồ sơ của cơ sở mình" in page
    assert 'http-equiv="refresh"' not in page


def test_an_import_no_worker_took_in_time_fails_and_its_file_goes(queued_app, queue_name, db):
    from workflow.db import utcnow

    client, job = _sent(queued_app, db)
    waiting = db.get(Job, job.id)
    waiting.created_at = utcnow() - runs.QUEUE_GIVE_UP * 2
    db.commit()
    assert jobs.recover(queued_app) == []  # not queued again: failed
    [job] = _import_jobs(db)
    assert job.state == "failed" and _upload(db, job.id).content is None
    page = client.get(f"/persons/import/{job.id}").get_data(as_text=True)
    assert "Không nhập được tệp" in page and "gửi lại tệp" in page
