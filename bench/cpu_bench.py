"""CPU per request, page by page, of the load run's mix (`load_bench.py`), with the number of SQL
statements each page sends, on PostgreSQL with the demo data; the app's own signed-in empty page
is measured in the same run as the baseline.

CPU time rather than wall time, so that other work on the machine's cores changes the figures
little: the server's share is this process's CPU time around each request (the WSGI app runs in
it, through Flask's test client), PostgreSQL's the CPU time its backends serving this database
spent meanwhile (/proc/PID/schedstat, nanoseconds). Pages are requested in turns, a round of every
page at a time, so that a busy spell falls on all of them alike.

    python bench/cpu_bench.py [--rounds 40] [--users 10] [--keep NAME]

`--keep NAME` keeps the scratch database (and its accounts in /tmp/NAME.json) for the next run;
`--copy NAME` runs on a fresh copy of that kept database (so that runs to be compared start
from the same data: each run files requests, which longer lists then show).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pyotp
from common import Baselines, scratch_url
from load_bench import PASSWORD, prepare
from sqlalchemy import event

# Requests a second of each page in the load run, relative to one another: 70% requesters
# (my requests 3, home 2, new request 1 + filing it, download 1, of 7 tasks), 20% approvers
# (the queue, a request, the approval), 10% clerks (the search form, searching, its results).
MIX = {"home": 0.2, "my requests": 0.3, "new request": 0.1, "file a request": 0.1,
       "extract download": 0.1, "approval queue": 0.2, "request": 0.2, "approve": 0.2,
       "search form": 0.1, "search": 0.1, "search results": 0.1}
BASELINE = "signed-in empty page"


def _backends(database: str) -> list[int]:
    """PostgreSQL's backend processes serving `database` (their title names it)."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                title = Path(entry.path, "cmdline").read_bytes()
            except OSError:
                continue
            if title.startswith(b"postgres: ") and f" {database} ".encode() in title:
                found.append(int(entry.name))
    return found


def _cpu_ns(pids: list[int]) -> int:
    """Nanoseconds of CPU the processes have used (those that ended count nothing more)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):  # it ended
            total += int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
    return total


class Meter:
    """CPU of the server and of PostgreSQL, and SQL statements, per request, by page."""

    def __init__(self, app, database: str) -> None:
        self.database = database
        self.server: dict[str, list[float]] = defaultdict(list)
        self.postgres: dict[str, list[float]] = defaultdict(list)
        self.statements: dict[str, list[int]] = defaultdict(list)
        self.count = 0
        self.sent: dict[str, list[str]] = {}  # the statements of each page's last request
        self.sending: list[str] = []

        @event.listens_for(app.extensions["custody_engine"], "before_cursor_execute")
        def counted(_conn, _cursor, statement, *_):
            self.count += 1
            self.sending.append(statement)

    def open(self, page: str, client, method: str, path: str, data: dict | None):
        """The request itself (what `--profile` profiles)."""
        return client.open(path, method=method, data=data)

    def request(self, page: str, client, method: str, path: str,
                data: dict | None = None, expect: tuple[int, ...] = (200,)):
        """One request, measured."""
        pids = _backends(self.database)
        self.count, self.sending = 0, []
        postgres = _cpu_ns(pids)
        server = time.process_time_ns()
        response = self.open(page, client, method, path, data)
        server = time.process_time_ns() - server
        postgres = _cpu_ns(pids) - postgres
        assert response.status_code in expect, (page, path, response.status_code)
        self.server[page].append(server / 1e6)
        self.postgres[page].append(postgres / 1e6)
        self.statements[page].append(self.count)
        self.sent[page] = self.sending
        return response


def _sign_in(app, username: str, secret: str):
    client = app.test_client()
    client.post("/login", data={"username": username, "password": PASSWORD,
                                "acknowledge": "y"})
    answer = client.post("/login/code", data={"code": pyotp.TOTP(secret).now()})
    assert answer.status_code == 302, (username, answer.status_code)
    return client


def _round(meter: Meter, clients: dict, accounts: dict, identities: list[str],
           turn: int) -> None:
    """Every page once, as the load run's users ask for them."""
    requester = clients["requester"][turn % len(clients["requester"])]
    approver = clients["approver"][turn % len(clients["approver"])]
    clerk = clients["clerk"][turn % len(clients["clerk"])]
    extract = accounts["requester"][turn % len(accounts["requester"])]["extract"]
    meter.request(BASELINE, requester, "GET", "/bench-baseline")
    meter.request("home", requester, "GET", "/")
    meter.request("my requests", requester, "GET", "/requests/")
    meter.request("new request", requester, "GET", "/requests/new")
    filed = meter.request("file a request", requester, "POST", "/requests/new", data={
        "channel": "network", "subject_kind": "person",
        "identity_number": identities[turn % len(identities)],
        "categories": ["a_orders", "episodes"], "purpose": "Kiểm sát việc tạm giam",
        "legal_basis": "Điều 12 Nghị định 121/2017/NĐ-CP", "provision": "pdf",
        "urgency": "normal", "action": "submit"}, expect=(302,))
    request_path = filed.headers["Location"]
    meter.request("extract download", clients["requester"][
        (turn % len(accounts["requester"]))], "GET", f"/documents/{extract}/download",
        expect=(200, 410))
    meter.request("approval queue", approver, "GET", "/requests/?view=approval")
    page = meter.request("request", approver, "GET", request_path)
    version = re.search(r'name="version" value="(\d+)"', page.get_data(as_text=True))
    meter.request("approve", approver, "POST", request_path, data={
        "action": "approve", "version": version.group(1),
        "approve-categories": ["a_orders", "episodes"]}, expect=(302,))
    meter.request("search form", clerk, "GET", "/search")
    found = meter.request("search", clerk, "POST", "/search", data={"q": "nguyen van"},
                          expect=(303,))
    meter.request("search results", clerk, "GET", found.headers["Location"])


def _table(meter: Meter, warm: int) -> None:
    def mean(values: list) -> float:
        return sum(values[warm:]) / len(values[warm:])

    def median(values: list) -> float:
        ordered = sorted(values[warm:])
        return ordered[len(ordered) // 2]

    base = mean(meter.server[BASELINE]) + mean(meter.postgres[BASELINE])
    print(f"{'page':<22}{'server ms':>10}{'(median)':>9}{'PG ms':>8}{'all-in':>8}{'SQL':>6}"
          f"{'/base':>7}")
    rows: dict[str, float] = {}
    for page in [BASELINE, *MIX]:
        server, postgres = mean(meter.server[page]), mean(meter.postgres[page])
        rows[page] = server + postgres
        print(f"{page:<22}{server:>10.1f}{median(meter.server[page]):>9.1f}{postgres:>8.1f}"
              f"{server + postgres:>8.1f}{mean(meter.statements[page]):>6.1f}"
              f"{(server + postgres) / base:>7.1f}")
    weight = sum(MIX.values())
    mixed = {part: sum(MIX[p] * mean(getattr(meter, part)[p]) for p in MIX) / weight
             for part in ("server", "postgres", "statements")}
    print(f"{'load mix (weighted)':<22}{mixed['server']:>10.1f}{'':>9}{mixed['postgres']:>8.1f}"
          f"{mixed['server'] + mixed['postgres']:>8.1f}{mixed['statements']:>6.1f}"
          f"{(mixed['server'] + mixed['postgres']) / base:>7.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=40, help="requests of each page")
    parser.add_argument("--warm", type=int, default=5, help="rounds not counted, first")
    parser.add_argument("--users", type=int, default=10, help="load accounts to make")
    parser.add_argument("--keep", help="keep the scratch database under this name")
    parser.add_argument("--copy", metavar="NAME", help="run on a copy of a kept database")
    parser.add_argument("--sql", metavar="PAGE,...", help="print these pages' statements")
    parser.add_argument("--profile", metavar="PAGE,...",
                        help="then profile these pages (cProfile, CPU time)")
    args = parser.parse_args()
    url, drop = scratch_url("postgresql", args.keep, template=args.copy)
    kept = args.keep or args.copy
    saved = Path(tempfile.gettempdir(), f"{kept}.json") if kept else None
    try:
        if saved is not None and saved.exists():
            prepared = json.loads(saved.read_text("utf-8"))
        else:
            started = time.perf_counter()
            prepared = prepare(url, args.users)
            print(f"prepared in {time.perf_counter() - started:.0f} s")
            if saved is not None:
                saved.write_text(json.dumps(prepared), "utf-8")
        bench = Baselines(url, {"RATELIMIT_ENABLED": False, "SECRET_KEY": "bench-secret"})
        bench.filler.append("")
        app = bench.app
        accounts = prepared["users"]
        clients = {kind: [_sign_in(app, a["username"], a["secret"]) for a in users]
                   for kind, users in accounts.items()}
        meter = Meter(app, url.rsplit("/", 1)[-1])
        for turn in range(args.warm + args.rounds):
            _round(meter, clients, accounts, prepared["identities"], turn)
        print(f"CPU per request, mean of {args.rounds} (after {args.warm} not counted), "
              f"gunicorn's app in-process via the test client, PostgreSQL backends by "
              f"/proc schedstat")
        _table(meter, args.warm)
        for page in args.sql.split(",") if args.sql else []:
            print(f"\n=== {page}: the statements of its last request")
            for statement in meter.sent[page]:
                print(" ".join(statement.split())[:300])
        if args.profile:
            _profile(lambda turn: _round(Meter(app, meter.database), clients, accounts,
                                         prepared["identities"], turn), args.profile)
    finally:
        drop()


def _profile(run: Callable[[int], None], pages: str) -> None:
    """Where the pages' server CPU goes, by cProfile (CPU time) over a few rounds."""
    import cProfile
    import pstats

    profilers = {page: cProfile.Profile(time.process_time) for page in pages.split(",")}
    original = Meter.open

    def profiled(self, name, *args):
        if name not in profilers:
            return original(self, name, *args)
        profilers[name].enable()
        try:
            return original(self, name, *args)
        finally:
            profilers[name].disable()

    Meter.open = profiled
    for turn in range(10):
        run(1000 + turn)
    Meter.open = original
    for page, profiler in profilers.items():
        print(f"\n=== {page}")
        stats = pstats.Stats(profiler)
        stats.dump_stats(Path(tempfile.gettempdir(), f"cpu_bench {page}.pstats"))
        stats.sort_stats("cumulative").print_stats(70)
        # Own time by package: which library (or which of ours) the CPU goes to.
        spent: dict[str, float] = defaultdict(float)
        for (path, _, _), (_, _, own, _, _) in stats.stats.items():
            spent[_package(path)] += own
        for name, seconds in sorted(spent.items(), key=lambda item: -item[1])[:20]:
            print(f"{name:<40}{seconds * 100:>8.1f} ms a request (profiled)")


def _package(path: str) -> str:
    """What a profiled file belongs to: a library's name, or our module's folder."""
    if "site-packages/" in path:
        return path.split("site-packages/")[1].split("/")[0]
    if "/templates/" in path:
        return "templates"
    parts = Path(path).parts
    for ours in ("web", "workflow", "bench"):
        if ours in parts:
            at = parts.index(ours)
            return "/".join(parts[at:at + 2])
    return "python" if "/lib/python" in path or path.startswith("~") else path


if __name__ == "__main__":
    main()
