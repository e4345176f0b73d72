"""The long-extract jobs attacked: who sees a job's panel and its failure, a job asked by an
official whose rights change before it runs, acts posted while a job waits, the audit of what a
job does, and what a new user reads when a job could not be finished."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from tests.helpers import version_of
from tests.operations import test_jobs
from tests.operations.test_jobs import (
    _extracts,
    _jobs,
    _prepared_and_asked_to_release,
    _serials,
    _signed_in,
    _work,
)
from tests.worlds import World, arrange
from workflow.context import Actor
from workflow.documents import extracts, rendering
from workflow.documents.enums import IssuedState
from workflow.enums import Role
from workflow.models import AccessRequest, AuditEntry, User
from workflow.models.users import UserRole
from workflow.requests import decisions
from workflow.requests.enums import RequestState

queued_app = test_jobs.queued_app  # the application whose long extracts go on a Redis queue


def _asked_to_prepare(app, db) -> tuple[int, object]:
    """A request approved and consented, its long extract asked for by approver.hanoi."""
    with app.extensions["custody_sessions"]() as session:
        _person, request = arrange(World(session), db)
        request_id = request.id
    from tests.conftest import Auth

    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.9.8.7"  # the official's own address
    Auth(client).login("approver.hanoi")
    asked = client.post(f"/requests/{request_id}",
                        data={"action": "prepare", "version": version_of(db, request_id)})
    assert asked.status_code == 302 and asked.location.endswith(f"/requests/{request_id}")
    assert _jobs(db, request_id)[-1].state == "queued"
    return request_id, client


def _user(db, username: str) -> User:
    db.expire_all()
    return db.scalars(select(User).where(User.username == username)).one()


def _page(client, request_id: int) -> str:
    return client.get(f"/requests/{request_id}").get_data(as_text=True)


def test_who_may_not_act_sees_neither_the_job_nor_why_it_failed(queued_app, queue_name, db):
    request_id, _ = _asked_to_prepare(queued_app, db)
    onlookers = {name: _signed_in(queued_app, name) for name in ("requester.vks",
                                                                 "consent.hanoi")}
    for name, client in onlookers.items():
        page = _page(client, request_id)
        assert 'id="job"' not in page and 'http-equiv="refresh"' not in page, name
    # The job fails for good: the asker lost their account before it ran.
    asker = _user(db, "approver.hanoi")
    asker.active = False
    db.commit()
    _work(queued_app, queue_name)
    assert _jobs(db, request_id)[-1].state == "failed"
    asker.active = True
    db.commit()
    assert "Không hoàn thành được" in _page(_signed_in(queued_app, "approver.hanoi"), request_id)
    for name, client in onlookers.items():
        page = _page(client, request_id)
        assert 'id="job"' not in page and "Không hoàn thành được" not in page, name


def _remove_approver_role(db, user: User) -> None:
    db.execute(delete(UserRole).where(UserRole.user_id == user.id,
                                      UserRole.role == Role.APPROVER))


def _move_to_another_body(db, user: User) -> None:
    user.organisation_id = _user(db, "requester.vks").organisation_id


def _withdraw_signing_authority(db, user: User) -> None:
    user.signs_as = None


@pytest.mark.parametrize("change", [_remove_approver_role, _move_to_another_body,
                                    _withdraw_signing_authority])
def test_a_job_asked_before_the_officials_rights_changed_does_not_act(
        queued_app, queue_name, db, change):
    request_id, client = _asked_to_prepare(queued_app, db)
    change(db, _user(db, "approver.hanoi"))
    db.commit()
    _work(queued_app, queue_name)
    [job] = _jobs(db, request_id)
    assert job.state == "failed" and job.attempts == 1  # a refusal: never retried
    assert _extracts(db, request_id) == []
    assert db.scalars(select(AuditEntry).where(
        AuditEntry.action == "extract.prepare",
        AuditEntry.object_id == str(request_id))).all() == []


def test_the_acts_a_job_does_are_audited_as_who_asked_from_where(queued_app, queue_name, db):
    request_id, _ = _asked_to_prepare(queued_app, db)
    _work(queued_app, queue_name)
    asker = _user(db, "approver.hanoi")
    entries = db.scalars(select(AuditEntry).where(
        AuditEntry.object_id == str(request_id),
        AuditEntry.action.in_(("extract.queue", "extract.prepare")))
        .order_by(AuditEntry.seq)).all()
    assert [e.action for e in entries] == ["extract.queue", "extract.prepare"]
    assert {(e.actor_id, e.ip) for e in entries} == {(asker.id, "10.9.8.7")}
    [job] = _jobs(db, request_id)
    assert job.error is None and job.state == "done"


def test_acts_posted_while_a_release_job_waits_do_not_number_twice_nor_stick(
        queued_app, queue_name, db):
    request_id, release = _prepared_and_asked_to_release(queued_app, queue_name, db)
    client = _signed_in(queued_app, "approver.hanoi")
    url = f"/requests/{request_id}"
    [draft] = _extracts(db, request_id)
    # The same release posted again (a double click, a stale tab), and a new preparation.
    again = client.post(url, data={"action": "release", "release-document_id": str(draft.id),
                                   "release-sha256": draft.sha256, "release-valid_days": "7",
                                   "release-download_limit": "2",
                                   "version": version_of(db, request_id), "confirmed": "yes"})
    assert again.status_code == 422
    prepare = client.post(url, data={"action": "prepare", "confirmed": "yes",
                                     "version": version_of(db, request_id)})
    assert prepare.status_code == 422
    assert len(_jobs(db, request_id)) == 2  # the prepare job, done, and the one release
    # The draft is withdrawn meanwhile (revoke is not refused while a job waits).
    with queued_app.extensions["custody_sessions"]() as session:
        extracts.revoke(session, Actor(session.get(User, release.user_id), "10.0.0.2"),
                        request_id, draft.id, reason="Rút lại bản dự thảo để lập lại")
        session.commit()
    serial = _serials(db, draft.org_id)
    _work(queued_app, queue_name)
    job = _jobs(db, request_id)[-1]
    assert job.state == "failed" and job.attempts == 1
    [revoked] = _extracts(db, request_id)
    assert revoked.state is IssuedState.REVOKED and revoked.number is None
    assert _serials(db, draft.org_id) == serial
    assert db.get(AccessRequest, request_id).state is RequestState.APPROVED
    page = _page(client, request_id)
    assert 'http-equiv="refresh"' not in page and 'value="prepare"' in page  # not stuck


def test_a_job_ended_by_a_fault_is_told_in_vietnamese(queued_app, queue_name, db,
                                                      monkeypatch):
    request_id, client = _asked_to_prepare(queued_app, db)

    def dies(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(rendering.Renderer, "render_parts", dies)
    _work(queued_app, queue_name)  # three attempts, then failed for good
    [job] = _jobs(db, request_id)
    assert job.state == "failed" and job.attempts == job.max_attempts
    page = _page(client, request_id)
    assert "Không lập được phiếu cung cấp thông tin" in page
    assert "MemoryError" not in page
    job.error = "WorkerLost"  # what `recover` records for a worker lost three times
    db.commit()
    assert "WorkerLost" not in _page(client, request_id)


def test_a_job_whose_request_was_withdrawn_does_not_invite_to_try_again(
        queued_app, queue_name, db):
    request_id, client = _asked_to_prepare(queued_app, db)
    with queued_app.extensions["custody_sessions"]() as session:
        requester = session.scalars(select(User).where(User.username == "requester.vks")).one()
        decisions.withdraw(session, Actor(requester, "10.0.0.3"), request_id,
                           reason="Không cần nữa")
        session.commit()
    _work(queued_app, queue_name)
    assert _jobs(db, request_id)[-1].state == "failed"
    assert db.get(AccessRequest, request_id).state is RequestState.WITHDRAWN
    page = _page(client, request_id)
    assert 'http-equiv="refresh"' not in page
    assert "đồng chí có thể làm lại" not in page


def test_a_release_posted_on_one_request_cannot_name_another_requests_draft(
        queued_app, queue_name, db):
    """While the other request's release job waits, its draft named on this request's form is
    refused, and no job is queued for either."""
    other_id, other_job = _prepared_and_asked_to_release(queued_app, queue_name, db)
    [other_draft] = _extracts(db, other_id)
    with queued_app.extensions["custody_sessions"]() as session:
        _person, request = arrange(World(session), db)
        request_id = request.id
    client = _signed_in(queued_app, "approver.hanoi")
    client.post(f"/requests/{request_id}",
                data={"action": "prepare", "version": version_of(db, request_id)})
    forged = client.post(f"/requests/{request_id}", data={
        "action": "release", "release-document_id": str(other_draft.id),
        "release-sha256": other_draft.sha256, "release-valid_days": "7",
        "release-download_limit": "2", "version": version_of(db, request_id),
        "confirmed": "yes"})
    assert forged.status_code in (403, 404, 409, 422)
    assert [j.kind for j in _jobs(db, request_id)] == ["extract.prepare"]
    assert [j.kind for j in _jobs(db, other_id)] == ["extract.prepare", "extract.release"]
    _work(queued_app, queue_name)
    assert [d.state for d in _extracts(db, other_id)] == [IssuedState.RELEASED]
    assert [d.state for d in _extracts(db, request_id)] == [IssuedState.PREPARED]


def test_a_running_job_tells_it_is_alive_as_its_parts_are_rendered(
        queued_app, queue_name, db, backend, monkeypatch):
    """Else `recover` (every tick of `custody worker`) takes a job rendering for longer than
    HEARTBEAT_LOST for one cut short, and a second run renders it again beside the first."""
    if backend == "sqlite":
        pytest.skip("SQLite's one writer holds the lock while it renders: nothing reads it")
    monkeypatch.setattr(extracts, "PART_LINES", 12)  # several parts
    request_id, _ = _asked_to_prepare(queued_app, db)
    real, seen = rendering.Renderer.render_parts, []

    def watched(self, template, values, parts, progress=None):
        done = real(self, template, values, parts, progress)
        with queued_app.extensions["custody_sessions"]() as other:  # what `recover` reads
            job = _jobs(other, request_id)[-1]
            seen.append((job.state, job.heartbeat_at > job.started_at))
        return done

    monkeypatch.setattr(rendering.Renderer, "render_parts", watched)
    _work(queued_app, queue_name)
    last = _jobs(db, request_id)[-1]
    assert (last.state, last.error) == ("done", None)
    assert seen == [("running", True)]


def test_two_prepares_posted_at_once_queue_one_job(queued_app, queue_name, db, backend):
    if backend != "postgresql":
        pytest.skip("two writers at once: PostgreSQL")
    import threading

    with queued_app.extensions["custody_sessions"]() as session:
        _person, request = arrange(World(session), db)
        request_id = request.id
    clients = [_signed_in(queued_app, "approver.hanoi") for _ in range(2)]
    version = version_of(db, request_id)
    start, codes = threading.Barrier(2), []

    def post(client):
        start.wait()
        codes.append(client.post(f"/requests/{request_id}",
                                 data={"action": "prepare", "version": version}).status_code)

    threads = [threading.Thread(target=post, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) in ([302, 409], [302, 422])
    assert len(_jobs(db, request_id)) == 1
    _work(queued_app, queue_name)
    assert [d.state for d in _extracts(db, request_id)] == [IssuedState.PREPARED]


def test_a_job_refused_when_it_runs_is_audited_as_who_asked(queued_app, queue_name, db):
    from workflow.audit.chain import Outcome

    request_id, _ = _asked_to_prepare(queued_app, db)
    asker = _user(db, "approver.hanoi")
    _remove_approver_role(db, asker)
    db.commit()
    since = db.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1))
    _work(queued_app, queue_name)
    assert _jobs(db, request_id)[-1].state == "failed"
    db.expire_all()
    refused = db.scalars(select(AuditEntry).where(AuditEntry.seq > since,
                                                  AuditEntry.outcome == Outcome.DENIED)).all()
    assert [(e.actor_id, e.ip) for e in refused] == [(asker.id, "10.9.8.7")]


def test_the_queueing_reads_in_words_on_the_audit_trail(app):
    import json

    from web.audit_trail.display import details

    entry = AuditEntry(action="extract.queue",
                       details=json.dumps({"job": 7, "kind": "extract.release", "parts": 3}))
    with app.test_request_context():
        shown = dict(details(entry))
    assert shown["Công việc (số)"] == "7"
    assert "extract.release" not in shown.values()
    refused = AuditEntry(action="access.refused",
                         details=json.dumps({"kind": "records.import", "request": None}))
    with app.test_request_context():
        assert "Nhập tệp hồ sơ" in dict(details(refused)).values()  # a job refused as it ran


def test_a_job_never_taken_does_not_block_the_request_for_good(queued_app, queue_name, db):
    import datetime as dt

    from workflow.db import utcnow
    from workflow.jobs import runs

    request_id, client = _asked_to_prepare(queued_app, db)
    [job] = _jobs(db, request_id)
    job.created_at = utcnow() - dt.timedelta(days=3)  # asked three days ago, never taken
    db.commit()
    with queued_app.extensions["custody_sessions"]() as session:
        for hours in range(0, 72, 1):  # the worker's looks over those three days
            runs.recover(session, now=job.created_at + dt.timedelta(hours=hours, minutes=6))
        session.commit()
    [job] = _jobs(db, request_id)
    assert not job.active
    assert 'http-equiv="refresh"' not in _page(client, request_id)


def test_a_failed_jobs_panel_goes_once_the_extract_is_released_otherwise(
        queued_app, queue_name, db, database_url, tmp_path):
    request_id, release = _prepared_and_asked_to_release(queued_app, queue_name, db)
    asker = _user(db, "approver.hanoi")
    asker.active = False  # the release job is refused
    db.commit()
    _work(queued_app, queue_name)
    assert _jobs(db, request_id)[-1].state == "failed"
    asker.active = True
    db.commit()
    # The same extract released in the request (as with the official's PIN, whatever its
    # length; here by an installation whose threshold it does not pass).
    direct = test_jobs._app(database_url, tmp_path / "direct", EXTRACT_QUEUE_OVER_PAGES=10_000)
    client = _signed_in(direct, "approver.hanoi")
    [draft] = _extracts(db, request_id)
    done = client.post(f"/requests/{request_id}", data={
        "action": "release", "release-document_id": str(draft.id),
        "release-sha256": draft.sha256, "release-valid_days": "7",
        "release-download_limit": "2", "version": version_of(db, request_id),
        "confirmed": "yes"})
    assert done.status_code == 302
    assert db.get(AccessRequest, request_id).state is RequestState.RELEASED
    page = _page(client, request_id)
    direct.extensions["custody_engine"].dispose()
    assert "Không hoàn thành được" not in page


def test_the_jobs_error_column_keeps_no_account_name(queued_app, queue_name, db):
    request_id, _release = _prepared_and_asked_to_release(queued_app, queue_name, db,
                                                          named="consent.hanoi")
    named = _user(db, "consent.hanoi")
    named.active = False  # the named recipient leaves before the job runs
    db.commit()
    _work(queued_app, queue_name)
    job = _jobs(db, request_id)[-1]
    assert job.state == "failed"
    assert "consent.hanoi" not in job.error


# --- a file of records imported by a job --------------------------------------------------------


def test_an_import_is_followed_by_its_uploader_alone(queued_app, queue_name, db):
    from tests.records.test_import_jobs import _sent

    client, job = _sent(queued_app, db)
    url = f"/persons/import/{job.id}"
    others = {name: _signed_in(queued_app, name)
              for name in ("clerk.ntg", "clerk.hcm", "requester.vks", "approver.hanoi")}

    def shown_to_others() -> dict[str, int]:
        seen = {}
        for name, other in others.items():
            page = other.get(url)
            assert "tep.csv" not in page.get_data(as_text=True), name
            seen[name] = page.status_code
        return seen

    # Another facility's clerk, of this province or another: as if there were no such import;
    # who enters no records: not theirs to ask.
    refused = {"clerk.ntg": 404, "clerk.hcm": 404, "requester.vks": 403, "approver.hanoi": 403}
    assert client.get(url).status_code == 200 and shown_to_others() == refused
    _work(queued_app, queue_name)
    assert "Đã đăng ký 3 người" in client.get(url).get_data(as_text=True)
    assert shown_to_others() == refused  # nor the report once it is there


def test_a_forged_import_job_id_shows_nothing(queued_app, queue_name, db):
    from tests.records.test_import_jobs import _sent

    request_id, _ = _asked_to_prepare(queued_app, db)
    [extract_job] = _jobs(db, request_id)  # another kind of job, another user's
    client, job = _sent(queued_app, db)
    for forged in (job.id + 1000, extract_job.id, 0):
        assert client.get(f"/persons/import/{forged}").status_code == 404, forged
    assert client.get("/persons/import/-1").status_code == 404


def test_another_clerk_of_the_same_facility_neither_reads_nor_runs_an_import(
        queued_app, queue_name, db):
    from tests.helpers import org
    from tests.records.test_import_jobs import _imported, _sent
    from workflow.context import SYSTEM
    from workflow.errors import Forbidden, NotFound
    from workflow.models import Job
    from workflow.records import bulk_import
    from workflow.security import accounts

    _client, job = _sent(queued_app, db)
    with queued_app.extensions["custody_sessions"]() as session:
        colleague = accounts.create_user(
            session, SYSTEM, username="clerk.hanoi.2", full_name="Cán bộ hồ sơ thứ hai",
            organisation_id=org(session, "TTG-HANOI").id, roles={Role.CLERK},
            password="một cụm từ đủ dài")
        actor = Actor(colleague, "10.0.0.2")
        with pytest.raises(NotFound):
            bulk_import.import_job(session, actor, job.id)
        with pytest.raises(Forbidden):  # even handed the job: it imports as its uploader only
            bulk_import.apply_import(session, actor, session.get(Job, job.id))
        session.rollback()
    assert _imported(db) == 0
