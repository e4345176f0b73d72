"""Setting up and serving: the schema, the demo data, and the production server (gunicorn)."""

from __future__ import annotations

import ipaddress
import os
import subprocess  # noqa: S404 - starts `custody worker` with fixed arguments
import sys

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from web.cli.common import app_engine, app_sealer, app_sessions, engine_of, run_service
from web.extensions import limits_shared
from web.ops import logs, metrics
from workflow import schema
from workflow.audit import checkpoints
from workflow.context import SYSTEM
from workflow.demo import world as demo
from workflow.errors import DomainError
from workflow.models import Person
from workflow.organisations import tree


@click.command("init")
@click.option("--orgs", is_flag=True,
              help="Also load the reference organisation tree (both branches, their facilities "
                   "and the outside bodies) into a new installation that holds none.")
@with_appcontext
def init_command(orgs: bool) -> None:
    """Create or upgrade the database schema through the migrations."""
    from web.cli.documents import ensure_credentials

    schema.upgrade(app_engine())
    click.echo(f"Database at revision {schema.current_revision(app_engine())}: "
               f"{app_engine().url.render_as_string(hide_password=True)}")
    if orgs:
        with app_sessions()() as session:
            loaded = run_service(session, SYSTEM, "init --orgs",
                                 lambda: tree.load_reference_tree(session, SYSTEM))
            session.commit()
        click.echo(f"Organisation tree loaded: {len(loaded)} organisations.")
    created, orgs = ensure_credentials()
    if created:
        click.echo(f"Development signing certificates: {created} created for {orgs} "
                   "organisations (import real ones with `custody pki import`).")


def _print_accounts(kiosk_person: int | None = None) -> None:
    click.echo("Demo accounts (username / password / role / organisation):")
    for account in demo.DEMO_ACCOUNTS + demo.OUTSIDE_ACCOUNTS:
        click.echo(f"  {account.username:<16} {account.password:<22} {account.role.value:<16} "
                   f"{account.org_code}")
    if kiosk_person is not None:
        click.echo(
            "Detainee kiosk: sign in as clerk.hanoi, open “Máy tra cứu” (/kiosk/devices), "
            "register this browser and start kiosk mode; then type record number "
            f"{kiosk_person} and PIN {demo.DEMO_KIOSK_PIN} (no authenticator app). A clerk "
            "ends kiosk mode with “Cán bộ: kết thúc chế độ tra cứu” on the kiosk's page.")


@click.command("demo")
@click.option("--persons", default=3000, show_default=True, help="How many persons to create.")
@click.option("--seed", default=2017, show_default=True, help="Random seed (same seed, same data).")
@click.option("--if-empty", is_flag=True, help="Do nothing when records exist already.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="With --port: where `custody serve` will answer, for the QR codes of the "
                   "demo's documents when CUSTODY_PUBLIC_BASE_URL is not set.")
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def demo_command(persons: int, seed: int, if_empty: bool, host: str, port: int) -> None:
    """Load deterministic demo data into an empty database."""
    current_app.config["SERVING_BASE_URL"] = serving_base_url(host, port)
    with app_sessions()() as session:
        has_records = session.scalar(select(func.count()).select_from(Person))
        if has_records and if_empty:
            click.echo(f"The database already holds {has_records} persons; demo not loaded.")
        else:
            try:
                summary = demo.load_demo(session, SYSTEM, persons=persons, seed=seed,
                                         documents=current_app.extensions["custody_documents"])
            except DomainError as error:
                raise click.ClickException(error.message) from error
            session.commit()
            click.echo(f"Loaded {summary['persons']} persons in {summary['organisations']} "
                       f"organisations, {summary['accounts']} demo accounts.")
            _print_accounts(summary["kiosk_person"])
            _demo_token()
            return
    _print_accounts()


def _demo_token() -> None:
    """Give the demo's Hanoi approver a development signing token (SoftHSM2), so that what
    they decide is signed with their own certificate and then sealed; skipped without it."""
    from web.cli.documents import enrol_token

    username = demo.DEMO_SIGNER
    try:
        enrol_token(username, demo.DEMO_SIGNING_PIN)
    except click.ClickException as error:
        click.echo(f"No signing token for {username}: {error.message}")
        return
    click.echo(f"Signing token: {username} signs decisions with their own certificate; type "
               f"PIN {demo.DEMO_SIGNING_PIN} when the check page asks for it.")


def default_workers() -> int:
    """gunicorn's advice for the number of workers: 2 × cores + 1."""
    return 2 * (os.cpu_count() or 1) + 1


PER_WORKER_LIMITS = ("Rate limits are counted in memory (CUSTODY_RATELIMIT_STORAGE_URI is "
                     "memory://): with {n} workers each would count its own, and a client "
                     "would get {n} times the limit. Set CUSTODY_RATELIMIT_STORAGE_URI to a "
                     "shared store (e.g. redis://127.0.0.1:6379/0) or serve with --workers 1.")


def _bare(host: str) -> str:
    return host.strip().removeprefix("[").removesuffix("]")


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach the address (`localhost`, 127.0.0.0/8, ::1)."""
    host = _bare(host)
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name other than localhost: others may reach it


def serving_base_url(host: str, port: int) -> str:
    """The address `custody serve --host H --port P` answers at."""
    host = _bare(host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


PER_WORKER_METRICS = ("PROMETHEUS_MULTIPROC_DIR is not set: each worker counts its own request "
                      "metrics, and /metrics shows those of whichever worker answers. Set it "
                      "to a directory of its own (e.g. instance/prometheus).")
PUBLIC_URL_UNSET = ("CUSTODY_PUBLIC_BASE_URL is not set and --host {host} is not a loopback "
                    "address: the QR codes and verification links of the documents issued will "
                    "carry the address each request came to (as its client wrote it), which "
                    "others may not reach. Set CUSTODY_PUBLIC_BASE_URL to the address people "
                    "verify documents at, e.g. https://csdl.example.vn.")


def public_url_warning(host: str, public_base_url: str | None) -> str | None:
    """What `custody serve` warns of before serving, if anything: serving beyond this machine
    without a configured public address."""
    if public_base_url or is_loopback(host):
        return None
    return PUBLIC_URL_UNSET.format(host=host)


@click.command("serve")
@with_appcontext
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
# gunicorn's advice of 2 × cores + 1 workers: a worker's threads share one interpreter lock, so
# an extract being drawn (seconds of Python) holds up only the requests of its own worker. The
# threads are for waits, such as a sign-in's password check on the low-priority lane.
# The limits (sign-in, codes, filing) hold only if every worker counts in the same store: with
# the in-memory default, one worker.
@click.option("--workers", type=click.IntRange(min=1),
              help="Default: 2 × cores + 1 with a shared rate-limit store, else 1.")
@click.option("--threads", default=4, show_default=True, type=int)
@click.option("--with-worker", is_flag=True,
              help="Also run `custody worker` (the scheduled work) beside the server, stopped "
                   "with it: one machine, one command (`make run`).")
def serve_command(host: str, port: int, workers: int | None, threads: int,
                  with_worker: bool) -> None:
    """Serve the application with gunicorn (a production WSGI server)."""
    from gunicorn.app.base import BaseApplication

    app = current_app._get_current_object()
    if workers is None:
        workers = default_workers() if limits_shared(app) else 1
    elif workers > 1 and not limits_shared(app):
        raise click.ClickException(PER_WORKER_LIMITS.format(n=workers))
    audit_key = app_sealer().key  # read once, here: the workers inherit it
    log_format = app.config["LOG_FORMAT"] or "json"
    logs.configure(log_format)
    metrics.clear_multiprocess_dir()
    for warning in (public_url_warning(host, app.config["PUBLIC_BASE_URL"]),
                    workers > 1 and not metrics.multiprocess() and PER_WORKER_METRICS):
        if warning:
            click.secho(f"Warning: {warning}", err=True, fg="yellow")
    # Without a public address, a document issued outside a request points here (the pages
    # and the API issue theirs within a request: they point where that request came to).
    app.config["SERVING_BASE_URL"] = serving_base_url(host, port)

    class Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", threads)
            # A sign-in's argon2 check and a long extract take seconds under load: allow them.
            self.cfg.set("timeout", 120)
            # Longer than a client's pause between clicks, so a kept-alive connection is not
            # closed just as the next request is sent on it (seen as resets under load).
            self.cfg.set("keepalive", 15)
            # The application writes the access line (endpoint, never the URL: it holds ids).
            self.cfg.set("accesslog", None)
            self.cfg.set("logconfig_dict", logs.gunicorn_config(log_format))
            # Each worker opens its own connections.
            self.cfg.set("post_fork", lambda _server, _worker: engine_of(app).dispose(False))

        def load(self) -> Flask:
            return app

    click.echo(f"Serving on {serving_base_url(host, port)} with {workers} worker(s) × {threads} "
               f"threads (audit key {checkpoints.key_id(audit_key)}); documents point to "
               f"{app.config['PUBLIC_BASE_URL'] or 'the address each request came to'}")
    scheduled = _start_worker(host, port) if with_worker else None
    try:
        Server().run()
    finally:
        if scheduled is not None:
            scheduled.terminate()
            try:
                scheduled.wait(timeout=30)
            except subprocess.TimeoutExpired:  # a long backup: it must not outlive the server
                scheduled.kill()


def _start_worker(host: str, port: int) -> subprocess.Popen:
    """`custody worker` in a process of its own (its own database connections), told where
    this server answers so that its mail links point here."""
    from web.worker import BESIDE_SERVER

    env = {**os.environ, "CUSTODY_SERVING_BASE_URL": serving_base_url(host, port),
           BESIDE_SERVER: "1"}
    click.echo("Scheduled work: `custody worker` runs beside the server.")
    return subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, "-c", "from web.cli import main; main()", "worker"], env=env)
