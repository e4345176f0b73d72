"""The application's side of the jobs (workflow.jobs): which queue carries them — Redis when
CUSTODY_QUEUE_URL names one, for `custody worker` to take, else the in-process fallback that
runs a job as soon as the transaction asking for it commits (the SQLite quick start) — and the
function a worker runs for a job id."""

from __future__ import annotations

from flask import Flask

from web.worker import worker_name
from workflow.jobs import kinds, queues, runs
from workflow.models import Job

# The application a worker runs jobs in: `custody worker` sets it before it takes any.
_app: Flask | None = None


def init_app(app: Flask) -> None:
    """Give every session of the application the dispatcher of its committed jobs."""
    url = app.config.get("QUEUE_URL")
    dispatcher = (queues.OnRedis(url) if url
                  else queues.AtOnce(lambda job_id: run(app, job_id)))
    app.extensions["custody_jobs"] = dispatcher
    app.extensions["custody_sessions"].kw.setdefault("info", {})[queues.DISPATCHER] = dispatcher


def environment(app: Flask) -> runs.Environment:
    """What the jobs' work needs of this application."""
    sessions = app.extensions["custody_sessions"]
    return runs.Environment(
        settings=app.extensions["custody_documents"], flow=app.extensions["custody_workflow"],
        sessions=sessions,
        live_progress=app.extensions["custody_engine"].dialect.name != "sqlite")


def run(app: Flask, job_id: int) -> Job | None:
    """Run one job in this process (None: another worker has it, or it is over)."""
    with app.app_context():
        return runs.run(app.extensions["custody_sessions"], environment(app), kinds.HANDLERS,
                        job_id, worker_name())


def recover(app: Flask) -> list[int]:
    """Find jobs cut short with their worker or lost on the queue, and queue them again."""
    with app.extensions["custody_sessions"]() as session:
        again = runs.recover(session)
        session.commit()
        return again


def perform(job_id: int) -> None:
    """What RQ runs in `custody worker` for a job put on the queue."""
    global _app
    if _app is None:
        from web import create_app

        _app = create_app()
    run(_app, job_id)


def use(app: Flask) -> None:
    """The application this process's worker runs jobs in."""
    global _app
    _app = app
