"""Long extracts produced off the request path: queued on Redis for `custody worker` (RQ), the
page showing how far the job is and finishing by itself; a job that fails is retried, one cut
short with its worker is found again, and a job run twice never numbers a document twice. With
no queue (the quick start), the job runs at once, after the request that asked for it."""

from __future__ import annotations

import threading

import pytest
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import func, select

from tests.conftest import REDIS
from tests.helpers import version_of
from tests.worlds import World, arrange, text_of
from web import create_app
from workflow.db import utcnow
from workflow.documents import extracts, rendering
from workflow.documents.enums import IssuedKind, IssuedState
from workflow.jobs import runs
from workflow.models import AccessRequest, AuditEntry, DocumentRegister, IssuedDocument, Job
from workflow.requests.enums import RequestState


def _app(database_url, tmp_path, **config):
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "test-secret",
                      "WTF_CSRF_ENABLED": False, "EXTRACT_QUEUE_OVER_PAGES": 0} | config)
    app.instance_path = str(tmp_path)
    return app


@pytest.fixture
def queued_app(database_url, tmp_path, queue_name):
    """The application with every extract produced by a job on a Redis queue."""
    app = _app(database_url, tmp_path, QUEUE_URL=REDIS)
    app.extensions["custody_jobs"].name = queue_name
    yield app
    app.extensions["custody_engine"].dispose()


def _work(app, queue_name) -> None:
    """What `custody worker` does with the queue, until it is empty."""
    from web import jobs

    jobs.use(app)
    connection = Redis.from_url(REDIS)
    SimpleWorker([Queue(queue_name, connection=connection)],
                 connection=connection).work(burst=True)


def _signed_in(app, username: str):
    from tests.conftest import Auth

    client = app.test_client()
    Auth(client).login(username)
    return client


def _jobs(db, request_id: int) -> list[Job]:
    db.expire_all()
    return list(db.scalars(select(Job).where(Job.request_id == request_id).order_by(Job.id)))


def _extracts(db, request_id: int) -> list[IssuedDocument]:
    db.expire_all()
    return list(db.scalars(select(IssuedDocument).where(
        IssuedDocument.request_id == request_id,
        IssuedDocument.kind == IssuedKind.EXTRACT).order_by(IssuedDocument.id)))


def test_a_long_extract_is_prepared_and_released_by_the_worker_while_the_page_shows_it(
        queued_app, queue_name, db, tmp_path, monkeypatch):
    monkeypatch.setattr(extracts, "PART_LINES", 12)  # several parts, to show progress by
    with queued_app.extensions["custody_sessions"]() as session:
        _person, request = arrange(World(session), db, extra_events=0)
        request_id, number = request.id, request.number
    client = _signed_in(queued_app, "approver.hanoi")
    url = f"/requests/{request_id}"
    asked = client.post(url, data={"action": "prepare", "version": version_of(db, request_id)})
    assert asked.status_code == 302 and asked.location.endswith(url)
    [job] = _jobs(db, request_id)
    assert job.kind == "extract.prepare" and job.state == "queued" and job.parts_total > 1
    assert _extracts(db, request_id) == []  # nothing rendered in the request
    page = client.get(url).get_data(as_text=True)
    assert "Đang lập phiếu cung cấp thông tin" in page
    assert f'<meta http-equiv="refresh" content="3; url={url}">' in page  # looks again
    assert 'name="action" value="prepare"' not in page  # nothing else until it is done
    again = client.post(url, data={"action": "prepare", "version": version_of(db, request_id)})
    assert again.status_code == 422 and "đang được lập" in again.get_data(as_text=True)
    assert len(_jobs(db, request_id)) == 1

    told = []
    writer = runs.progress_writer

    def watched(sessions, job_id):
        tell = writer(sessions, job_id)

        def both(done, total):
            tell(done, total)
            with sessions() as other:  # what the page reads meanwhile
                told.append(other.get(Job, job_id).parts_done)
        return both

    monkeypatch.setattr(runs, "progress_writer", watched)
    _work(queued_app, queue_name)
    [job] = _jobs(db, request_id)
    assert job.state == "done" and job.attempts == 1 and job.parts_done == job.parts_total
    if db.bind.dialect.name != "sqlite":  # SQLite's one writer holds the lock while it renders
        assert told == list(range(1, job.parts_total + 1))
    [draft] = _extracts(db, request_id)
    assert draft.state is IssuedState.PREPARED and job.document_id == draft.id
    page = client.get(url).get_data(as_text=True)
    assert 'http-equiv="refresh"' not in page and draft.sha256 in page
    assert client.get(f"/documents/{draft.id}/preview.pdf").status_code == 200

    draft_sha256 = draft.sha256  # (the same row, once released)
    release = {"action": "release", "release-document_id": str(draft.id),
               "release-sha256": draft.sha256, "release-valid_days": "7",
               "release-download_limit": "2", "version": version_of(db, request_id),
               "confirmed": "yes"}
    asked = client.post(url, data=release)
    assert asked.status_code == 302 and asked.location.endswith(url)
    assert db.get(AccessRequest, request_id).state is RequestState.APPROVED
    assert "Đang cấp số, ký và phát hành phiếu" in client.get(url).get_data(as_text=True)
    _work(queued_app, queue_name)
    db.expire_all()
    assert db.get(AccessRequest, request_id).state is RequestState.RELEASED
    [released] = _extracts(db, request_id)
    assert released.state is IssuedState.RELEASED and released.download_limit == 2
    assert released.contents["draft_sha256"] == draft_sha256 != released.sha256
    text = text_of(released.pdf, tmp_path)
    assert number in text and f"Số: {released.number}" in text and "DỰ THẢO" not in text
    actions = db.scalars(select(AuditEntry.action).where(
        AuditEntry.object_id == str(request_id)).order_by(AuditEntry.seq)).all()
    assert actions.count("extract.queue") == 2 and "extract.prepare" in actions


def test_a_job_that_fails_is_retried_and_a_refusal_is_told_on_the_page(
        queued_app, queue_name, db, monkeypatch):
    with queued_app.extensions["custody_sessions"]() as session:
        _person, request = arrange(World(session), db)
        request_id = request.id
    client = _signed_in(queued_app, "approver.hanoi")
    url = f"/requests/{request_id}"
    client.post(url, data={"action": "prepare", "version": version_of(db, request_id)})
    real, calls = rendering.Renderer.render_pages, []

    def fails_once(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise MemoryError  # the worker's first attempt dies
        return real(self, *args, **kwargs)

    monkeypatch.setattr(rendering.Renderer, "render_pages", fails_once)
    _work(queued_app, queue_name)  # the retry is queued again and taken in the same run
    [job] = _jobs(db, request_id)
    assert job.state == "done" and job.attempts == 2 and job.error is None
    [draft] = _extracts(db, request_id)
    assert draft.state is IssuedState.PREPARED

    # The official loses the right to release before the job runs: refused, never retried.
    client.post(url, data={"action": "prepare", "version": version_of(db, request_id),
                           "confirmed": "yes"})
    from workflow.models import User

    user = db.scalars(select(User).where(User.username == "approver.hanoi")).one()
    user.active = False
    db.commit()
    _work(queued_app, queue_name)
    job = _jobs(db, request_id)[-1]
    assert job.state == "failed" and job.attempts == 1 and job.finished_at is not None
    user.active = True
    db.commit()
    page = client.get(url).get_data(as_text=True)
    assert "Không lập được phiếu cung cấp thông tin" in page
    assert 'http-equiv="refresh"' not in page and 'value="prepare"' in page  # try again
    assert [d.state for d in _extracts(db, request_id)] == [IssuedState.PREPARED]


def test_a_job_cut_short_with_its_worker_is_found_again_and_run(queued_app, queue_name, db):
    with queued_app.extensions["custody_sessions"]() as session:
        _person, request = arrange(World(session), db)
        request_id = request.id
    client = _signed_in(queued_app, "approver.hanoi")
    client.post(f"/requests/{request_id}",
                data={"action": "prepare", "version": version_of(db, request_id)})
    Queue(queue_name, connection=Redis.from_url(REDIS)).empty()  # lost with Redis, say
    [job] = _jobs(db, request_id)
    # Its worker claimed it and died: running, and silent for longer than a heartbeat.
    job.state, job.attempts = "running", 1
    job.heartbeat_at = job.started_at = utcnow() - runs.HEARTBEAT_LOST * 2
    db.commit()
    from web import jobs

    assert jobs.recover(queued_app) == [job.id]
    assert jobs.recover(queued_app) == []  # found once
    _work(queued_app, queue_name)
    [job] = _jobs(db, request_id)
    assert job.state == "done" and job.attempts == 2
    assert [d.state for d in _extracts(db, request_id)] == [IssuedState.PREPARED]


def _prepared_and_asked_to_release(app, queue_name, db, named: str = "") -> tuple[int, Job]:
    """A long extract prepared by the worker, previewed, and its release asked for (to the
    accounts `named`, if any): the request and the release job waiting on the queue."""
    with app.extensions["custody_sessions"]() as session:
        _person, request = arrange(World(session), db)
        request_id = request.id
    client = _signed_in(app, "approver.hanoi")
    url = f"/requests/{request_id}"
    client.post(url, data={"action": "prepare", "version": version_of(db, request_id)})
    _work(app, queue_name)
    [draft] = _extracts(db, request_id)
    client.get(f"/documents/{draft.id}/preview.pdf")
    client.post(url, data={"action": "release", "release-document_id": str(draft.id),
                           "release-sha256": draft.sha256, "release-valid_days": "7",
                           "release-download_limit": "2", "release-named": named,
                           "version": version_of(db, request_id), "confirmed": "yes"})
    release = _jobs(db, request_id)[-1]
    assert release.kind == "extract.release" and release.state == "queued"
    return request_id, release


def _serials(db, org_id: int) -> int:
    db.expire_all()
    return db.scalar(select(func.coalesce(func.max(DocumentRegister.last_serial), 0)).where(
        DocumentRegister.org_id == org_id))


def test_a_release_job_run_again_never_numbers_the_extract_twice(queued_app, queue_name, db):
    from web import jobs

    request_id, release = _prepared_and_asked_to_release(queued_app, queue_name, db)
    done = jobs.run(queued_app, release.id)
    assert done.state == "done"
    [released] = _extracts(db, request_id)
    number, sha, org_id = released.number, released.sha256, released.org_id
    serial = _serials(db, org_id)
    assert jobs.run(queued_app, release.id) is None  # claimed once: a second run does nothing
    # Even queued again by mistake (a worker thought lost, a message delivered twice):
    job = db.get(Job, release.id)
    job.state = "queued"
    db.commit()
    assert jobs.run(queued_app, release.id).state == "done"
    [again] = _extracts(db, request_id)
    assert (again.number, again.sha256) == (number, sha) and _serials(db, org_id) == serial


def _at_once(app, job_id: int, workers: int = 2) -> list[str]:
    """Run the job's work in `workers` threads let go together, as workers that took the same
    message at once would: what each ended with ("done", or its error's class name)."""
    from web import jobs
    from workflow.context import Actor
    from workflow.jobs import kinds
    from workflow.models import User

    env, outcomes, start = jobs.environment(app), [], threading.Barrier(workers)

    def worker():
        with app.app_context(), app.extensions["custody_sessions"]() as session:
            mine = session.get(Job, job_id)
            actor = Actor(session.get(User, mine.user_id), mine.ip)
            start.wait()
            try:
                kinds.HANDLERS[mine.kind](session, env, actor, mine, None)
                session.commit()
                outcomes.append("done")
            except Exception as error:  # noqa: BLE001
                session.rollback()
                outcomes.append(type(error).__name__)

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_two_workers_running_one_release_at_once_number_it_once(queued_app, queue_name, db,
                                                                backend):
    if backend != "postgresql":
        pytest.skip("two writers at once: PostgreSQL")

    request_id, release = _prepared_and_asked_to_release(queued_app, queue_name, db)
    assert _at_once(queued_app, release.id) == ["done", "done"]  # the second found it released
    [released] = _extracts(db, request_id)
    assert released.state is IssuedState.RELEASED
    assert _serials(db, released.org_id) == released.serial


def test_without_a_queue_the_job_runs_at_once_after_the_request(app, database_url, tmp_path,
                                                                 db):
    quick = _app(database_url, tmp_path)  # no QUEUE_URL: the quick start
    with quick.extensions["custody_sessions"]() as session:
        _person, request = arrange(World(session), db)
        request_id = request.id
    client = _signed_in(quick, "approver.hanoi")
    url = f"/requests/{request_id}"
    asked = client.post(url, data={"action": "prepare", "version": version_of(db, request_id)})
    assert asked.status_code == 302
    [job] = _jobs(db, request_id)
    [draft] = _extracts(db, request_id)
    assert job.state == "done" and job.document_id == draft.id
    page = client.get(url).get_data(as_text=True)
    assert draft.sha256 in page and 'http-equiv="refresh"' not in page
    quick.extensions["custody_engine"].dispose()


def test_readiness_asks_the_queue_and_the_metrics_count_the_jobs(queued_app, queue_name, db,
                                                                  database_url, tmp_path):
    with queued_app.extensions["custody_sessions"]() as session:
        _person, request = arrange(World(session), db)
        request_id = request.id
    client = _signed_in(queued_app, "approver.hanoi")
    client.post(f"/requests/{request_id}",
                data={"action": "prepare", "version": version_of(db, request_id)})
    scraped = queued_app.test_client().get("/metrics").get_data(as_text=True)
    assert 'custody_jobs{state="queued"} 1.0' in scraped
    _work(queued_app, queue_name)
    scraped = queued_app.test_client().get("/metrics").get_data(as_text=True)
    assert 'custody_jobs{state="done"} 1.0' in scraped
    assert 'custody_jobs{state="queued"} 0.0' in scraped
    ready = queued_app.test_client().get("/readyz").get_json()
    assert {"name": "job_queue", "status": "ok"} in ready["checks"]
    away = _app(database_url, tmp_path / "away", QUEUE_URL="redis://127.0.0.1:9/0")
    answer = away.test_client().get("/readyz")
    assert answer.status_code == 503
    assert {"name": "job_queue", "status": "failed",
            "reason": "the job queue (Redis) does not answer"} in answer.get_json()["checks"]
    away.extensions["custody_engine"].dispose()
