"""`custody worker`: the scheduled work, run by the installation itself (see `web.worker`)."""

from __future__ import annotations

import os
import signal
import threading

import click
from flask import current_app
from flask.cli import with_appcontext

from web import jobs, worker


@click.command("worker")
@click.option("--once", is_flag=True, help="Run what is due now, then stop (for a test or cron).")
@click.option("--status", "show_status", is_flag=True, help="Show the latest runs and stop.")
@click.option("--tick", default=20, show_default=True, type=click.IntRange(min=1, max=300),
              help="Seconds between looks at the schedule.")
@with_appcontext
def worker_command(once: bool, show_status: bool, tick: int) -> None:
    """Run the scheduled work: the sweep every 15 minutes, mail every 2 (and the daily digest),
    webhooks every minute, the extracts' retention daily, and with BACKUP_DIR a rotated
    encrypted backup daily and its restore drill weekly. Several workers may run: each slot is
    run by one of them."""
    app = current_app._get_current_object()
    if show_status:
        for run in worker.status(app):
            took = (f"{(run.finished_at - run.started_at).total_seconds():.1f} s"
                    if run.finished_at else worker.unfinished(run))
            first = (run.summary or "").splitlines()[:1]
            click.echo(f"{run.started_at:%Y-%m-%d %H:%M:%S} UTC  {run.task:<17} "
                       f"{run.outcome:<8} {took:>9}  {first[0] if first else ''}")
        return
    enabled = [t.name for t in worker.TASKS if t.enabled(app.config)]
    queue = app.config.get("QUEUE_URL")
    click.echo(f"Worker {worker.worker_name()}: {', '.join(enabled)}"
               + ("; jobs from the queue." if queue else "."))
    jobs.use(app)
    stop = threading.Event()
    parent = os.getppid()

    def schedule() -> None:
        while True:
            for outcome in worker.run_due(app):
                click.echo(f"{outcome.task}: {'done' if outcome.ok else 'FAILED'}")
            _recover(app)
            if once or stop.wait(tick):
                break
            if os.environ.get(worker.BESIDE_SERVER) and os.getppid() != parent:
                if queue:  # the queue's worker stops as on Ctrl-C, after the job it runs
                    os.kill(os.getpid(), signal.SIGINT)
                break  # the server it was started beside is gone

    if not queue:
        if not once:
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())
        schedule()
    elif once:
        schedule()
        _queue_worker(app, queue).work(burst=True)
    else:
        # The schedule looks in a thread; the queue's worker takes jobs in the main thread,
        # where it handles the signals (a warm stop: the job it runs is finished first).
        looking = threading.Thread(target=schedule, name="schedule", daemon=True)
        looking.start()
        _queue_worker(app, queue).work()
        stop.set()
    click.echo("Worker stopped.")


def _recover(app) -> None:
    """Queue again the jobs cut short with a worker or lost on the queue."""
    try:
        again = jobs.recover(app)
    except Exception:  # noqa: BLE001 - the database is away: looked at again next tick
        return
    if again:
        click.echo(f"jobs queued again: {len(again)}")


def _queue_worker(app, url: str):
    """RQ's worker on the installation's queue, running each job in this process."""
    from redis import Redis
    from rq import Queue, SimpleWorker

    from workflow.jobs.queues import QUEUE_NAME

    connection = Redis.from_url(url)
    return SimpleWorker([Queue(QUEUE_NAME, connection=connection)], connection=connection)
