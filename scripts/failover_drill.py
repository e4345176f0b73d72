"""A failover drill on loopback: two `custody serve` nodes behind HAProxy (deploy/haproxy.cfg),
sessions in PostgreSQL and rate limits in Redis, a PostgreSQL primary with a synchronous
streaming standby; requesters file and approvers approve through the proxy while the primary is
stopped and the standby promoted (README, "Deployment").

    .venv/bin/python scripts/failover_drill.py [--keep] [--approvers N] [--before S] ...

Makes its own primary and standby (initdb, pg_basebackup) in a scratch folder on free ports,
with the Debian PostgreSQL binaries run as the `postgres` user when started as root; never
touches another server. The nodes reach the database through one libpq multi-host URL
(`host=primary&host=standby&target_session_attrs=read-write`), so after the promotion they find
the new primary by themselves, as a deployment's nodes do.

Steps: the standby made synchronous (a commit returns once the standby has it); `custody init`
and `custody demo` through the nodes' URL; approvers and requesters with known authenticators,
and requests awaiting approval; both nodes and the proxy started; everyone signs in through the
proxy (password, authenticator code, CSRF tokens); requesters file and approvers approve; the
primary is stopped at once (`pg_ctl stop -m immediate`, as a crash), the standby promoted after
a detection delay, and the work goes on. Then: every filing and approval the pages confirmed
(302 to the request, 302 to the done page) is in the promoted standby with its audit entry, the
audit chain verifies (as `custody audit verify` does) against each node's witness log, and every
error is counted with when it began and ended. Prints the figures; exit status 1 when a check
fails."""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pyotp
import redis
import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PROXY_CONFIG = ROOT / "deploy" / "haproxy.cfg"
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
REDIS_URL = os.environ.get("DRILL_REDIS_URL", "redis://127.0.0.1:6379/14")
SECRET = "failover-drill-secret"  # noqa: S105 - a scratch installation
PASSWORD = "một cụm từ đủ dài cho diễn tập"  # noqa: S105
STANDBY_NAME = "standby"
DONE = re.compile(r"/requests/(\d+)/done/approve$")
FILED = re.compile(r"/requests/(\d+)$")
CSRF = re.compile(r'name="approve-csrf_token"[^>]*value="([^"]+)"')
VERSION = re.compile(r'name="version" value="(\d+)"')


def postgres_bin() -> Path | None:
    """The newest Debian PostgreSQL server binaries, if installed."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
                   key=lambda p: int(p.parent.parent.name))
    return found[-1].parent if found else None


def haproxy_available() -> bool:
    """Whether HAProxy is installed."""
    return Path(HAPROXY).exists()


def free_port() -> int:
    """A TCP port free on the loopback now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    """A PostgreSQL cluster of the drill's own, run as `postgres` when this runs as root."""

    def __init__(self, pgbin: Path, data: Path, port: int) -> None:
        self.pgbin, self.data, self.port = pgbin, data, port

    def run(self, tool: str, *args: str) -> None:
        command = [str(self.pgbin / tool), *args]
        if os.geteuid() == 0:  # the server refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, stdout=subprocess.DEVNULL,  # noqa: S603
                              stderr=subprocess.PIPE, text=True, check=False)
        if done.returncode:
            raise RuntimeError(f"{tool} failed: {done.stderr[-2000:]}")

    def configure(self, **settings: str) -> None:
        """Append settings to postgresql.conf (the last one of a name wins)."""
        with (self.data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.writelines(f"{name} = '{value}'\n" for name, value in settings.items())

    def start(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.data.parent / f"{self.port}.log"),
                 "-w", "start")

    def stop(self, mode: str) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def promote(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-w", "promote")

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"


@dataclass
class Answer:
    """One action of the load: when it started and ended, what it was and how it went."""

    started: float
    ended: float
    what: str
    ok: bool
    detail: str = ""


@dataclass
class Result:
    """What the drill measured and found."""

    filed: list[int] = field(default_factory=list)  # filings confirmed (302 to the request)
    approved: list[int] = field(default_factory=list)  # approvals confirmed (302 to done)
    # What the new primary holds afterwards: each trigger's requests, with their audit entries.
    present: dict[str, set[int]] = field(default_factory=dict)
    audited: dict[str, set[int]] = field(default_factory=dict)
    answers: list[Answer] = field(default_factory=list)
    stopped_at: float = 0.0
    promoted_at: float = 0.0
    recovered_at: float | None = None
    load_started: float = 0.0
    under_way_at: float = 0.0  # the first filing and approval confirmed
    load_ended: float = 0.0
    duration: float = 0.0
    sync_state: str = ""
    remaining: list[int] = field(default_factory=list)
    served: dict[str, int] = field(default_factory=dict)
    chain: dict[str, str] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)  # seconds each step of the setup took

    @property
    def errors(self) -> list[Answer]:
        return [a for a in self.answers if not a.ok]

    @property
    def missing(self) -> dict[str, list[int]]:
        """Confirmed writes without their transition or audit entry afterwards."""
        return {trigger: [i for i in confirmed if i not in self.present.get(trigger, set())
                          or i not in self.audited.get(trigger, set())]
                for trigger, confirmed in (("submit", self.filed), ("approve", self.approved))}

    @property
    def after_promotion(self) -> int:
        """Actions answered well that began once the standby was promoted."""
        return sum(1 for a in self.answers if a.ok and a.started > self.promoted_at)

    @property
    def downtime(self) -> float | None:
        """Seconds from the primary's stop to the first action answered well after it."""
        return None if self.recovered_at is None else self.recovered_at - self.stopped_at

    def outside_outage(self, grace: float) -> list[Answer]:
        """Errors that ended before the primary stopped or began after it was promoted + `grace`
        seconds (an action under way when the primary stopped may fail: it is in the window)."""
        return [a for a in self.errors
                if a.ended < self.stopped_at or a.started > self.promoted_at + grace]


class Drill:
    """The scratch installation: folders, clusters, nodes and proxy; `close` removes it all."""

    def __init__(self, pgbin: Path, keep: bool = False) -> None:
        self.keep = keep
        self.work = Path(tempfile.mkdtemp(prefix="custody-failover-"))
        self.work.chmod(0o711)  # the postgres user reaches its folder below
        pgdir = self.work / "pg"
        pgdir.mkdir()
        if os.geteuid() == 0:
            shutil.chown(pgdir, "postgres", "postgres")
        self.primary = Cluster(pgbin, pgdir / "primary", free_port())
        self.standby = Cluster(pgbin, pgdir / "standby", free_port())
        self.prefix = f"drill-{uuid.uuid4().hex[:12]}"
        self.processes: list[subprocess.Popen] = []
        self.proxy_port = free_port()
        self.stats_socket = self.work / "haproxy.sock"
        softhsm = self.work / "softhsm"
        (softhsm / "tokens").mkdir(parents=True)
        (softhsm / "softhsm2.conf").write_text(
            f"directories.tokendir = {softhsm / 'tokens'}\nobjectstore.backend = file\n"
            "log.level = ERROR\n")
        self.url = ("postgresql+psycopg://postgres@/custody"
                    f"?host=127.0.0.1:{self.primary.port}&host=127.0.0.1:{self.standby.port}"
                    "&target_session_attrs=read-write")

    def env(self, witness: str) -> dict[str, str]:
        """What every node and command of the installation shares, and its own witness log."""
        return dict(os.environ, DATABASE_URL=self.url, SECRET_KEY=SECRET,
                    CUSTODY_AUDIT_SIGNING_KEY=str(self.work / "audit-signing-key.pem"),
                    CUSTODY_AUDIT_WITNESS_LOG=str(self.work / f"witness-{witness}.log"),
                    CUSTODY_EXCHANGE_SIGNING_KEY=str(self.work / "exchange-signing-key.pem"),
                    SOFTHSM2_CONF=str(self.work / "softhsm" / "softhsm2.conf"),
                    CUSTODY_RATELIMIT_STORAGE_URI=f'"{REDIS_URL}"',
                    CUSTODY_RATELIMIT_KEY_PREFIX=f'"{self.prefix}"',
                    CUSTODY_PROXIES="1",  # HAProxy in front: X-Forwarded-For names the client
                    # Two requesters file a request every second or so: over a person's limit.
                    CUSTODY_RATELIMIT_FILING='"100000 per hour"', CUSTODY_LOG_FORMAT="text")

    def custody(self, *args: str, witness: str = "setup") -> str:
        """A `custody` command on the installation; its output."""
        done = subprocess.run([str(BIN / "custody"), *args], env=self.env(witness),  # noqa: S603
                              cwd=ROOT, capture_output=True, text=True, check=False)
        if done.returncode:
            raise RuntimeError(f"custody {' '.join(args)} failed: {done.stderr[-2000:]}")
        return done.stdout

    def databases(self) -> str:
        """The primary, a synchronous standby streaming from it; the state of the standby."""
        self.primary.run("initdb", "-D", str(self.primary.data), "-A", "trust", "-U", "postgres",
                         "-E", "UTF8", "--no-sync")
        self.primary.configure(port=str(self.primary.port), listen_addresses="127.0.0.1",
                               unix_socket_directories=str(self.primary.data.parent))
        self.primary.start()
        self.primary.run("pg_basebackup", "-h", "127.0.0.1", "-p", str(self.primary.port),
                         "-U", "postgres", "-D", str(self.standby.data), "-R", "-X", "stream")
        # The standby names itself to the primary (cluster_name is the walreceiver's
        # application_name) and, promoted, waits for no standby of its own.
        self.standby.configure(port=str(self.standby.port), cluster_name=STANDBY_NAME,
                               synchronous_standby_names="")
        self.standby.start()
        import psycopg

        with psycopg.connect(self.primary.dsn, autocommit=True) as conn:
            conn.execute(f"ALTER SYSTEM SET synchronous_standby_names = '{STANDBY_NAME}'")
            conn.execute("SELECT pg_reload_conf()")
            conn.execute("CREATE DATABASE custody")
            for _ in range(100):
                row = conn.execute("SELECT sync_state FROM pg_stat_replication "
                                   "WHERE application_name = %s", (STANDBY_NAME,)).fetchone()
                if row and row[0] == "sync":
                    return row[0]
                time.sleep(0.1)
        raise RuntimeError("the standby never became synchronous")

    def serve(self, name: str, port: int, workers: int) -> None:
        """One `custody serve` node (gunicorn) on the loopback."""
        (self.work / f"{name}-metrics").mkdir()
        with (self.work / f"{name}.log").open("w") as log:
            self.processes.append(subprocess.Popen(  # noqa: S603
                [str(BIN / "custody"), "serve", "--port", str(port), "--workers", str(workers)],
                env=dict(self.env(name),
                         PROMETHEUS_MULTIPROC_DIR=str(self.work / f"{name}-metrics")),
                stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True))

    def proxy(self, node_ports: list[int]) -> str:
        """HAProxy with the deployed configuration; its address once both nodes are up."""
        env = dict(os.environ, CUSTODY_PROXY_BIND=f"127.0.0.1:{self.proxy_port}",
                   CUSTODY_NODE1=f"127.0.0.1:{node_ports[0]}",
                   CUSTODY_NODE2=f"127.0.0.1:{node_ports[1]}",
                   CUSTODY_PROXY_STATS=str(self.stats_socket))
        with (self.work / "haproxy.log").open("w") as log:
            self.processes.append(subprocess.Popen(  # noqa: S603
                [HAPROXY, "-f", str(PROXY_CONFIG), "-db"], env=env, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True))
        for _ in range(300):
            if self.processes[-1].poll() is not None:
                raise RuntimeError(f"HAProxy ended; see {self.work / 'haproxy.log'}")
            if all(s["status"] == "UP" for s in self.servers().values()) and self.servers():
                return f"http://127.0.0.1:{self.proxy_port}"
            time.sleep(0.2)
        raise RuntimeError(f"the nodes never came up behind the proxy; see {self.work}")

    def servers(self) -> dict[str, dict[str, str]]:
        """HAProxy's figures for each node (`show stat`)."""
        try:
            with socket.socket(socket.AF_UNIX) as sock:
                sock.connect(str(self.stats_socket))
                sock.sendall(b"show stat\n")
                data = b""
                while chunk := sock.recv(65536):
                    data += chunk
        except OSError:
            return {}
        rows = csv.DictReader(data.decode().lstrip("# ").splitlines())
        return {r["svname"]: r for r in rows if r["pxname"] == "nodes"
                and r["svname"] not in ("BACKEND", "FRONTEND")}

    def close(self) -> None:
        """Stop everything started, drop the Redis counters; remove the folder unless kept."""
        for process in reversed(self.processes):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        for cluster in (self.standby, self.primary):
            if (cluster.data / "postmaster.pid").exists():
                with contextlib.suppress(RuntimeError):
                    cluster.stop("immediate")
        with contextlib.suppress(redis.RedisError):
            store = redis.Redis.from_url(REDIS_URL)
            for key in store.scan_iter(f"*/{self.prefix}/*"):  # LIMITS:LIMITER/<prefix>/…
                store.delete(key)
        if self.keep:
            print(f"kept: {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)


def prepare(drill: Drill, approvers: int, requesters: int,
            pending: int) -> tuple[dict[str, list[dict]], list[int], list[str]]:
    """Approvers and requesters with known authenticators, requests filed and awaiting the
    approvers, and the identity numbers of persons the requesters may ask about."""
    from sqlalchemy import select

    from workflow.context import SYSTEM, Actor
    from workflow.documents.enums import Authority
    from workflow.enums import Role, Secrecy
    from workflow.models import CustodyEpisode, Organisation, Person, User
    from workflow.requests import filing, kernel
    from workflow.requests.enums import Channel, ProvisionForm, SubjectKind
    from workflow.security import accounts, mfa

    app = _app(drill, "setup")
    try:
        with app.extensions["custody_sessions"]() as session:
            def org(code: str) -> Organisation:
                return session.scalars(select(Organisation).where(Organisation.code == code)).one()

            # Persons held only at the camp and in no case that needs a consent: a request
            # about them waits for the province's approval alone.
            camp = org("TTG-HANOI")
            persons = [p for p in session.scalars(select(Person).join(CustodyEpisode).where(
                CustodyEpisode.facility_id == camp.id).order_by(Person.id)).unique()
                if {e.facility_id for e in p.episodes} == {camp.id}
                and all(e.case is None or not e.case.stage_on(SYSTEM.today).stage.needs_consent
                        for e in p.episodes)]
            if not persons:
                raise RuntimeError("the demo holds no person the drill's requests can name")
            identities = [p.identifiers[-1].value for p in persons]
            fernet = app.extensions["custody_mfa"]
            made: dict[str, list[dict]] = {"approver": [], "requester": []}
            kinds = {"approver": ("CA-HANOI", Role.APPROVER, approvers),
                     "requester": ("VKS-HANOI", Role.REQUESTER, requesters)}
            for kind, (code, role, count) in kinds.items():
                for i in range(count):
                    user = accounts.create_user(
                        session, SYSTEM, username=f"drill.{kind}.{i:02d}",
                        full_name=f"Diễn tập {i}", organisation_id=org(code).id, roles={role},
                        password=PASSWORD, clearance=Secrecy.TOP_SECRET)
                    # An official who decides has a recorded position and signing authority.
                    user.position, user.signs_as = "Trưởng phòng", Authority.BY_ORDER
                    secret = pyotp.random_base32()
                    mfa.install(session, user, secret, fernet, SYSTEM.now)
                    made[kind].append({"username": user.username, "secret": secret,
                                       "id": user.id})
            session.commit()
            who = Actor(session.get(User, made["requester"][0]["id"]), "drill")
            flow, ids = kernel.Workflow(), []
            for i in range(pending):
                filed = filing.file_request(session, who, filing.RequestInput(
                    channel=Channel.NETWORK, subject_kind=SubjectKind.PERSON,
                    purpose="Kiểm sát việc tạm giam", legal_basis="Điều 12 Nghị định 121/2017",
                    provision=ProvisionForm.PDF, categories=["a_orders"],
                    identity_number=identities[i % len(identities)]))
                filing.submit(session, flow, who, filed.id)
                ids.append(filed.id)
            session.commit()
    finally:
        app.extensions["custody_engine"].dispose()
    return made, ids, identities


def sign_in(base: str, account: dict) -> tuple[requests.Session, int]:
    """Password then code through the proxy, as a browser; the sign-in limit left after it."""
    browser = requests.Session()
    page = browser.get(f"{base}/login", timeout=30).text
    answer = browser.post(f"{base}/login", data={
        "csrf_token": _token(page, "csrf_token"), "username": account["username"],
        "password": PASSWORD, "acknowledge": "y"}, allow_redirects=False, timeout=30)
    if answer.status_code != 302:
        raise RuntimeError(f"sign-in refused: {answer.status_code}")
    remaining = int(answer.headers.get("X-RateLimit-Remaining", "-1"))
    page = browser.get(f"{base}/login/code", timeout=30).text
    answer = browser.post(f"{base}/login/code", data={
        "csrf_token": _token(page, "csrf_token"),
        "code": pyotp.TOTP(account["secret"]).now()}, allow_redirects=False, timeout=30)
    if answer.status_code != 302 or "/login" in answer.headers.get("Location", ""):
        raise RuntimeError(f"code refused: {answer.status_code}")
    return browser, remaining


def _token(page: str, name: str) -> str:
    found = re.search(rf'name="{name}"[^>]*value="([^"]+)"', page)
    return found.group(1) if found else ""


class Load:
    """Requesters filing requests and approvers approving them, through the proxy: each request
    goes to one approver, once. What answered and every write that was confirmed."""

    def __init__(self, base: str, requesters: list[requests.Session],
                 approvers: list[requests.Session], pending: list[int],
                 identities: list[str]) -> None:
        self.base, self.identities = base, identities
        self.ids: queue.SimpleQueue[int] = queue.SimpleQueue()
        for request_id in pending:
            self.ids.put(request_id)
        self.answers: list[Answer] = []
        self.filed: list[tuple[float, int]] = []
        self.approved: list[tuple[float, int]] = []
        self.stop = threading.Event()
        # Set once a filing and an approval were confirmed: each node's workers have served
        # their first pages (the first is slow: modules are imported on first use).
        self.under_way = threading.Event()
        self.threads = [threading.Thread(target=self._work, args=(self._file, b, i), daemon=True)
                        for i, b in enumerate(requesters)]
        self.threads += [threading.Thread(target=self._work, args=(self._approve, b, i),
                                          daemon=True) for i, b in enumerate(approvers)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def _work(self, action, browser: requests.Session, number: int) -> None:
        count = 0
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                answer = action(browser, number + count)
            except requests.RequestException as error:
                answer = Answer(started, 0, "connection", False, type(error).__name__)
            count += 1
            if answer is None:  # nothing to approve yet
                continue
            answer.started, answer.ended = started, time.monotonic()
            self.answers.append(answer)
            if not answer.ok:
                time.sleep(0.25)  # as a person would try again, not a tight loop at an outage

    def _file(self, browser: requests.Session, count: int) -> Answer:
        page = browser.get(f"{self.base}/requests/new", timeout=30)
        if page.status_code != 200:
            return Answer(0, 0, "filing page", False, str(page.status_code))
        answer = browser.post(f"{self.base}/requests/new", data={
            "csrf_token": _token(page.text, "csrf_token"), "channel": "network",
            "subject_kind": "person",
            "identity_number": self.identities[count % len(self.identities)],
            "categories": ["a_orders"], "purpose": "Kiểm sát việc tạm giam",
            "legal_basis": "Điều 12 Nghị định 121/2017/NĐ-CP", "provision": "pdf",
            "urgency": "normal", "action": "submit"}, allow_redirects=False, timeout=30)
        filed = FILED.search(answer.headers.get("Location", ""))
        if answer.status_code != 302 or not filed:
            return Answer(0, 0, "file", False, str(answer.status_code))
        self.filed.append((time.monotonic(), int(filed.group(1))))
        if self.approved:
            self.under_way.set()
        self.ids.put(int(filed.group(1)))
        return Answer(0, 0, "file", True)

    def _approve(self, browser: requests.Session, _count: int) -> Answer | None:
        try:
            request_id = self.ids.get(timeout=0.5)
        except queue.Empty:
            return None
        url = f"{self.base}/requests/{request_id}"
        page = browser.get(url, timeout=30)
        token, version = CSRF.search(page.text), VERSION.search(page.text)
        if page.status_code != 200 or not token or not version:
            return Answer(0, 0, "request page", False, str(page.status_code))
        answer = browser.post(url, data={
            "approve-csrf_token": token.group(1), "action": "approve",
            "version": version.group(1), "approve-categories": ["a_orders"]},
            allow_redirects=False, timeout=30)
        if answer.status_code != 302 or not DONE.search(answer.headers.get("Location", "")):
            return Answer(0, 0, "approve", False, str(answer.status_code))
        self.approved.append((time.monotonic(), request_id))
        if self.filed:
            self.under_way.set()
        return Answer(0, 0, "approve", True)


def shared_limit_probe(base_a: str, base_b: str, rounds: int = 2) -> list[int]:
    """Wrong sign-ins sent straight to each node in turn, the form from one and the post to
    the other: what the sign-in limit says is left after each (one count: 29, 28, 27, …)."""
    left = []
    with requests.Session() as browser:
        for i in range(rounds * 2):
            form, post = (base_a, base_b) if i % 2 == 0 else (base_b, base_a)
            page = browser.get(f"{form}/login", timeout=30).text
            answer = browser.post(f"{post}/login", data={
                "csrf_token": _token(page, "csrf_token"), "username": "drill.nobody",
                "password": "not this one", "acknowledge": "y"}, timeout=30)
            left.append(int(answer.headers.get("X-RateLimit-Remaining", "-1")))
    return left


def _app(drill: Drill, witness: str):
    """The application as the drill's commands see it (its engine on the multi-host URL)."""
    from web import create_app

    env = drill.env(witness)
    os.environ.setdefault("SOFTHSM2_CONF", env["SOFTHSM2_CONF"])  # not the checkout's instance/
    return create_app({"DATABASE_URL": drill.url, "SECRET_KEY": SECRET,
                       "AUDIT_SIGNING_KEY": env["CUSTODY_AUDIT_SIGNING_KEY"],
                       "AUDIT_WITNESS_LOG": env["CUSTODY_AUDIT_WITNESS_LOG"]})


def check(drill: Drill, result: Result) -> None:
    """What the database holds afterwards of the confirmed writes, and the audit chain checked
    as `custody audit verify` does, against each witness log (each node keeps its own)."""
    from sqlalchemy import select

    from workflow.audit import chain
    from workflow.models import AuditEntry, RequestTransition

    app = _app(drill, "setup")
    public = app.extensions["custody_audit_sealer"].key.public_key()
    try:
        with app.extensions["custody_sessions"]() as session:
            for trigger in ("submit", "approve"):
                result.present[trigger] = set(session.scalars(
                    select(RequestTransition.request_id).where(
                        RequestTransition.trigger == trigger)))
                result.audited[trigger] = {int(i) for i in session.scalars(
                    select(AuditEntry.object_id).where(
                        AuditEntry.action == f"request.{trigger}"))}
            for witness in ("setup", "node1", "node2"):
                path = Path(drill.env(witness)["CUSTODY_AUDIT_WITNESS_LOG"])
                verified = chain.verify(session, public, path)
                result.chain[witness] = (
                    f"intact: {verified.checked} entries, {len(path.read_text().splitlines())} "
                    "witnessed commits" if verified.ok
                    else f"BROKEN at {verified.broken_seq}: {verified.problem}")
    finally:
        app.extensions["custody_engine"].dispose()


def run(approvers: int = 4, requesters: int = 2, pending: int = 20, persons: int = 60,
        workers: int = 2, before: float = 6.0, detect: float = 2.0, after: float = 8.0,
        keep: bool = False) -> Result:
    """The whole drill; the figures and what the checks found."""
    pgbin = postgres_bin()
    if pgbin is None:
        raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql")
    started = time.monotonic()
    result = Result()
    drill = Drill(pgbin, keep)
    clock = [started]

    def done(phase: str) -> None:
        clock.append(time.monotonic())
        result.phases[phase] = clock[-1] - clock[-2]

    try:
        result.sync_state = drill.databases()
        done("primary and standby")
        drill.custody("init")
        # The nodes start while the data is loaded (they need the schema only).
        ports = [free_port(), free_port()]
        for name, port in zip(("node1", "node2"), ports, strict=True):
            drill.serve(name, port, workers)
        drill.custody("demo", "--persons", str(persons))
        done("custody init, demo")
        accounts, ids, identities = prepare(drill, approvers, requesters, pending)
        done("accounts, requests")
        base = drill.proxy(ports)
        done("nodes, proxy")
        result.remaining = shared_limit_probe(*(f"http://127.0.0.1:{p}" for p in ports))
        with ThreadPoolExecutor(max_workers=4) as pool:
            signed = {kind: [browser for browser, _ in pool.map(partial(sign_in, base), people)]
                      for kind, people in accounts.items()}
        done("sign-ins")
        load = Load(base, signed["requester"], signed["approver"], ids, identities)
        result.load_started = time.monotonic()
        load.start()
        try:
            if not load.under_way.wait(timeout=120):
                raise RuntimeError("no filing and approval were confirmed within 2 minutes")
            result.under_way_at = time.monotonic()
            time.sleep(before)
            result.stopped_at = time.monotonic()
            drill.primary.stop("immediate")
            time.sleep(detect)
            drill.standby.promote()
            result.promoted_at = time.monotonic()
            time.sleep(after)
        finally:
            load.finish()
        result.load_ended = time.monotonic()
        result.answers = load.answers
        result.filed = [i for _, i in load.filed]
        result.approved = [i for _, i in load.approved]
        result.recovered_at = min((a.ended for a in load.answers
                                   if a.ok and a.started > result.stopped_at), default=None)
        result.served = {name: int(row["stot"]) for name, row in drill.servers().items()}
        done("load")
        check(drill, result)
        done("checks")
    finally:
        drill.close()
    result.duration = time.monotonic() - started
    return result


def report(result: Result, grace: float) -> list[str]:
    """Print the figures; the failed checks (empty when all passed)."""
    errors = result.errors
    kinds: dict[str, int] = {}
    for error in errors:
        kinds[f"{error.what} {error.detail}"] = kinds.get(f"{error.what} {error.detail}", 0) + 1
    downtime = "never recovered" if result.downtime is None else f"{result.downtime:.1f} s"
    missing = result.missing
    print(f"standby: {result.sync_state}; sign-in limit left after wrong sign-ins sent to the "
          f"nodes in turn: {result.remaining}")
    print(f"load: {len(result.answers)} actions in {result.load_ended - result.load_started:.1f}"
          f" s; requests the proxy passed to each node: {result.served}")
    print(f"first filing and approval confirmed at "
          f"+{result.under_way_at - result.load_started:.1f} s; primary stopped at "
          f"+{result.stopped_at - result.load_started:.1f} s, standby "
          f"promoted at +{result.promoted_at - result.load_started:.1f} s; downtime (stop to "
          f"the first action answered well after it): {downtime}; actions answered well "
          f"after the promotion: {result.after_promotion}")
    for trigger, confirmed in (("submit", result.filed), ("approve", result.approved)):
        print(f"{trigger}: {len(confirmed)} confirmed, "
              f"{len(confirmed) - len(missing[trigger])} present afterwards with their audit "
              f"entries (missing: {missing[trigger]})")
    if errors:
        def at(moment: float) -> str:
            return f"+{moment - result.load_started:.1f} s"

        print(f"errors began between {at(min(e.started for e in errors))} and "
              f"{at(max(e.started for e in errors))}, ended between "
              f"{at(min(e.ended for e in errors))} and {at(max(e.ended for e in errors))}")
    print(f"errors: {len(errors)} {kinds}; outside the outage window (stop to promotion + "
          f"{grace:g} s): {len(result.outside_outage(grace))}")
    for witness, line in result.chain.items():
        print(f"audit chain against the {witness} witness log: {line}")
    print(f"drill {result.duration:.0f} s: " + ", ".join(
        f"{phase} {seconds:.0f} s" for phase, seconds in result.phases.items()))
    failed = []
    if any(missing.values()):
        failed.append("confirmed writes are missing")
    if not result.after_promotion:
        failed.append("nothing was answered well after the promotion")
    if result.outside_outage(grace):
        failed.append("errors outside the outage window")
    if not all(line.startswith("intact") for line in result.chain.values()):
        failed.append("the audit chain does not verify")
    if len(set(result.remaining)) != len(result.remaining):
        failed.append("the nodes count the sign-in limit apart")
    return failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--approvers", type=int, default=4, help="approvers deciding at once")
    parser.add_argument("--requesters", type=int, default=2, help="requesters filing at once")
    parser.add_argument("--pending", type=int, default=20, help="requests awaiting approval")
    parser.add_argument("--persons", type=int, default=60, help="demo persons")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per node")
    parser.add_argument("--before", type=float, default=6.0,
                        help="seconds of load once under way, before the primary is stopped")
    parser.add_argument("--detect", type=float, default=2.0,
                        help="seconds from the primary's stop to the promotion")
    parser.add_argument("--after", type=float, default=8.0, help="seconds of load after it")
    parser.add_argument("--grace", type=float, default=10.0,
                        help="seconds after the promotion errors may still happen")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args()
    result = run(args.approvers, args.requesters, args.pending, args.persons, args.workers,
                 args.before, args.detect, args.after, args.keep)
    failed = report(result, args.grace)
    for problem in failed:
        print(f"FAILED: {problem}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
