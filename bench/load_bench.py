"""A load run: 200 simulated users (requesters, approvers, clerks; Locust) sign in with two
factors and search, file, approve and download for 5 minutes against gunicorn on PostgreSQL.
Prints p95 per page, the error count, the idle p95 of the sign-in page measured in the same run
as the baseline, and where the CPU went.

    python bench/load_bench.py [--users 200] [--minutes 5] [--pause 5-15] [--spawn-rate 2]
                               [--workers W] [--threads 4] [--steady]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pyotp
import requests
from common import scratch_url
from sqlalchemy import select

from web.cli.server import default_workers
from workflow import schema
from workflow.context import SYSTEM, Actor
from workflow.db import make_engine, make_session_factory
from workflow.demo.world import load_demo
from workflow.documents import extracts, issuing
from workflow.documents.enums import Authority
from workflow.enums import Role, Secrecy
from workflow.models import CustodyEpisode, Organisation, Person, User
from workflow.requests import decisions, filing, kernel
from workflow.requests.enums import Channel, ProvisionForm, SubjectKind
from workflow.security import accounts, mfa

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret"  # noqa: S105 - a scratch database
PASSWORD = "một cụm từ đủ dài cho bài đo"  # noqa: S105
MIX = {"requester": ("VKS-HANOI", Role.REQUESTER, 0.7),
       "approver": ("CA-HANOI", Role.APPROVER, 0.2),
       "clerk": ("TTG-HANOI", Role.CLERK, 0.1)}


def prepare(url: str, users: int) -> dict:
    """Demo data, the load accounts with known authenticators, an extract per requester."""
    engine = make_engine(url)
    schema.upgrade(engine)
    sessions = make_session_factory(engine)
    settings = issuing.ExtractSettings(passphrase=SECRET, download_limit=20)
    flow = kernel.Workflow()
    with sessions() as session:
        load_demo(session, SYSTEM, persons=3000, seed=2017)
        camp = session.scalars(select(Organisation).where(Organisation.code == "TTG-HANOI")).one()
        persons = [p for p in session.scalars(select(Person).join(CustodyEpisode).where(
            CustodyEpisode.facility_id == camp.id).order_by(Person.id)).unique()
            if {e.facility_id for e in p.episodes} == {camp.id}
            and all(e.case is None or not e.case.stage_on(SYSTEM.today).stage.needs_consent
                    for e in p.episodes)][:60]
        fernet = mfa.cipher(SECRET)
        made: dict[str, list[dict]] = {kind: [] for kind in MIX}
        for kind, (org_code, role, share) in MIX.items():
            org = session.scalars(select(Organisation).where(Organisation.code == org_code)).one()
            for i in range(max(1, round(users * share))):
                user = accounts.create_user(
                    session, SYSTEM, username=f"load.{kind}.{i:03d}", full_name=f"Tải {kind} {i}",
                    organisation_id=org.id, roles={role}, password=PASSWORD,
                    # Approvers cleared for what the demo records hold, so they can decide.
                    clearance=Secrecy.TOP_SECRET if role is Role.APPROVER else Secrecy.NONE)
                if role is Role.APPROVER:  # a decision issues a document its signer signs
                    user.position, user.signs_as = "Phó Giám đốc", Authority.DEPUTY
                secret = pyotp.random_base32()
                mfa.install(session, user, secret, fernet, SYSTEM.now)
                made[kind].append({"username": user.username, "secret": secret, "id": user.id})
        session.commit()
        approver = accounts.create_user(session, SYSTEM, username="load.releaser",
                                        full_name="Cấp phiếu", roles={Role.APPROVER},
                                        organisation_id=session.scalars(select(Organisation).where(
                                            Organisation.code == "CA-HANOI")).one().id,
                                        password=PASSWORD, clearance=Secrecy.TOP_SECRET)
        approver.position, approver.signs_as = "Phó Giám đốc", Authority.DEPUTY
        session.commit()
        for i, account in enumerate(made["requester"]):
            who = Actor(session.get(User, account["id"]), "bench")
            data = filing.RequestInput(
                channel=Channel.NETWORK, subject_kind=SubjectKind.PERSON,
                purpose="Kiểm sát việc tạm giam", legal_basis="Điều 12 Nghị định 121/2017",
                provision=ProvisionForm.PDF, categories=["a_orders", "episodes"],
                identity_number=persons[i % len(persons)].identifiers[-1].value)
            filed = filing.file_request(session, who, data)
            filing.submit(session, flow, who, filed.id)
            releaser = Actor(approver, "bench")
            decisions.approve(session, releaser, filed.id)
            document = extracts.prepare_extract(session, settings, releaser, filed.id)
            extracts.preview(session, releaser, document.id)
            extracts.release_extract(session, flow, settings, releaser, filed.id,
                                     document_id=document.id, sha256=document.sha256,
                                     # A secret one goes in the copies printed on it.
                                     download_limit=None if document.secrecy is not Secrecy.NONE
                                     else 20)
            account["extract"] = document.id
            session.commit()
        identities = [p.identifiers[-1].value for p in persons]
    engine.dispose()
    return {"password": PASSWORD, "users": made, "identities": identities}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(url: str, port: int, workers: int, threads: int, log: Path) -> subprocess.Popen:
    """gunicorn through `custody serve`, rate limits out of the way."""
    env = dict(os.environ, DATABASE_URL=url, SECRET_KEY=SECRET,
               CUSTODY_RATELIMIT_SIGN_IN='"100000 per minute"',
               CUSTODY_RATELIMIT_CODE='"100000 per minute"',
               # Workers count limits in one store, as `custody serve` requires of several.
               CUSTODY_RATELIMIT_STORAGE_URI='"redis://127.0.0.1:6379/0"',
               CUSTODY_RATELIMIT_KEY_PREFIX=f'"bench-{port}"')
    process = subprocess.Popen([str(ROOT / ".venv/bin/custody"), "serve", "--port", str(port),  # noqa: S603
                                "--workers", str(workers), "--threads", str(threads)],
                               env=env, cwd=ROOT,
                               stdout=log.open("w"), stderr=subprocess.STDOUT)
    for _ in range(150):
        try:
            if requests.get(f"http://127.0.0.1:{port}/login", timeout=1).ok:
                return process
        except requests.ConnectionError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"the server did not start; see {log}")


def idle_baseline(base: str, n: int = 200) -> float:
    """p95 in ms of the sign-in page on the idle server."""
    with requests.Session() as browser:
        samples = []
        for _ in range(n):
            started = time.perf_counter()
            browser.get(f"{base}/login")
            samples.append((time.perf_counter() - started) * 1000)
    return statistics.quantiles(samples, n=20)[-1]


def _tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and its children."""
    total = 0.0
    root = psutil.Process(pid)
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def _postgres_cpu() -> float:
    """CPU seconds of the PostgreSQL server's processes now running."""
    total = 0.0
    for process in psutil.process_iter(["name", "cpu_times"]):
        if process.info["name"] in ("postgres", "postmaster") and process.info["cpu_times"]:
            total += process.info["cpu_times"].user + process.info["cpu_times"].system
    return total


def _readings(server: int, locust: int) -> tuple | None:
    """Time, machine CPU times, and CPU seconds of the server, PostgreSQL and Locust (None once
    Locust has ended)."""
    try:
        load = _tree_cpu(locust)
    except psutil.NoSuchProcess:
        return None
    return (time.perf_counter(), psutil.cpu_times(), _tree_cpu(server), _postgres_cpu(), load)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--minutes", type=float, default=5)
    # By default as `custody serve` runs.
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    # A person reads the page before the next click: 5-15 s. 1-3 s is a stress run (200 users
    # then ask for about 100 requests a second, what two cores serve flat out).
    parser.add_argument("--pause", default="5-15", help="seconds between a user's actions")
    # 200 people signing in within 100 s; at 10 a second the password checks alone (argon2id,
    # ~0.2 s of CPU each) ask for more than two cores.
    parser.add_argument("--spawn-rate", type=float, default=2, help="users starting a second")
    parser.add_argument("--steady", action="store_true",
                        help="count only from when every user has signed in")
    args = parser.parse_args()
    url, drop = scratch_url("postgresql", None)
    work = Path(tempfile.mkdtemp(prefix="custody-load-"))
    server = None
    try:
        started = time.perf_counter()
        accounts_file = work / "accounts.json"
        accounts_file.write_text(json.dumps(prepare(url, args.users)), "utf-8")
        print(f"prepared in {time.perf_counter() - started:.0f} s: {args.users} accounts, "
              "an extract per requester")
        port = _free_port()
        server = serve(url, port, args.workers, args.threads, work / "gunicorn.log")
        base = f"http://127.0.0.1:{port}"
        baseline = idle_baseline(base)
        mark = work / "signed-in"
        locust = subprocess.Popen([str(ROOT / ".venv/bin/locust"), "-f",  # noqa: S603
                                   str(ROOT / "bench/locustfile.py"), "--headless",
                                   "-u", str(args.users), "-r", str(args.spawn_rate),
                                   "-t", f"{int(args.minutes * 60)}s", "--host", base,
                                   "--only-summary", "--csv", str(work / "load")],
                                  env=dict(os.environ, LOAD_ACCOUNTS=str(accounts_file),
                                           LOAD_PAUSE=args.pause,
                                           **({"LOAD_MARK": str(mark)} if args.steady else {})),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while args.steady and not mark.exists() and locust.poll() is None:
            time.sleep(0.5)
        # Where the CPU went (over the same window as the figures): the server, PostgreSQL and
        # Locust share the machine's cores. The last reading before Locust ends is kept.
        before = after = _readings(server.pid, locust.pid)
        if before is None:
            raise SystemExit("Locust ended at once; run it by hand to see why")
        while locust.poll() is None:
            after = _readings(server.pid, locust.pid) or after
            time.sleep(1)
        report(work / "load_stats.csv", baseline, args)
        cpu_report(before, after, work / "load_stats.csv")
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        drop()


def report(stats_file: Path, baseline: float, args) -> None:
    """p95 per page and the failures, as a table."""
    rows = list(csv.DictReader(stats_file.open(encoding="utf-8")))
    print(f"load: {args.users} users pausing {args.pause} s, {args.minutes:g} min"
          f"{' (counted after all signed in)' if args.steady else ''}, gunicorn "
          f"{args.workers}×{args.threads} workers×threads on PostgreSQL; idle sign-in page p95 "
          f"{baseline:.0f} ms (baseline)")
    print(f"{'page or action':<28}{'requests':>9}{'failures':>9}{'median':>9}{'p95':>8}"
          f"{'p95/base':>10}")
    for row in rows:
        if row["Name"] == "Aggregated" or row["Request Count"] == "0":
            continue  # (with --steady, the sign-in rows are empty)
        p95 = float(row["95%"])
        print(f"{row['Name']:<28}{row['Request Count']:>9}{row['Failure Count']:>9}"
              f"{float(row['Median Response Time']):>9.0f}{p95:>8.0f}{p95 / baseline:>10.1f}")
    total = next(r for r in rows if r["Name"] == "Aggregated")
    print(f"{'all':<28}{total['Request Count']:>9}{total['Failure Count']:>9}"
          f"{float(total['Median Response Time']):>9.0f}{float(total['95%']):>8.0f}")


def cpu_report(before: tuple, after: tuple, stats_file: Path) -> None:
    """Machine load and CPU per request of the server, PostgreSQL and Locust over the run."""
    wall = after[0] - before[0]
    spent = {field: getattr(after[1], field) - getattr(before[1], field)
             for field in after[1]._fields}
    busy = 1 - (spent["idle"] + spent.get("iowait", 0)) / sum(spent.values())
    served = int(next(r for r in csv.DictReader(stats_file.open(encoding="utf-8"))
                      if r["Name"] == "Aggregated")["Request Count"])
    parts = {"server (gunicorn)": after[2] - before[2], "PostgreSQL": after[3] - before[3],
             "Locust": after[4] - before[4]}
    print(f"machine busy {busy:.0%} of {psutil.cpu_count()} cores over {wall:.0f} s; "
          f"{served / wall:.0f} requests/s")
    for name, seconds in parts.items():
        print(f"  {name:<20}{seconds:8.0f} CPU s{seconds / wall:8.2f} cores"
              f"{seconds * 1000 / served:8.1f} ms a request")


if __name__ == "__main__":
    sys.exit(main())
