"""Person search at scale: median and p95 server time against a bare Flask route, in one run.

Loads N persons (default 100,000) into a scratch SQLite or PostgreSQL database, then times, through
the WSGI application in this process, searches by name and by identity number for users of three
scopes (a detention camp, a province, the nationwide centre), next to a bare Flask route returning
a page of the same size and a signed-in page of this app in the same layout that does no search.

    python bench/search_bench.py --persons 1000000 --backend postgresql
"""

from __future__ import annotations

import argparse
import random
import statistics

from common import Baselines, load_scale, print_baselines, scratch_url, stats, timed
from sqlalchemy import select
from unidecode import unidecode

from workflow.context import SYSTEM
from workflow.db import make_engine, make_session_factory
from workflow.enums import Role
from workflow.models import CustodyEpisode, Organisation, Person, PersonIdentifier
from workflow.security import accounts

USERS = {"camp clerk (TTG-HANOI)": "clerk.hanoi", "province (CA-HANOI)": "approver.hanoi",
         "nationwide (TTCSDL)": "bench.central"}
FACILITIES = {"clerk.hanoi": ["TTG-HANOI"],
              "approver.hanoi": ["TTG-HANOI", "NTG-HANOI-1", "NTG-HANOI-2"],
              "bench.central": None}


def _central_user(session) -> None:
    centre = session.execute(select(Organisation.id).where(
        Organisation.code == "TTCSDL")).scalar_one()
    accounts.create_user(session, SYSTEM, username="bench.central", full_name="Bench",
                         organisation_id=centre, roles={Role.REQUESTER},
                         password="bench.central#2026")  # noqa: S106


def queries(url: str, rng: random.Random, n: int) -> dict[str, dict[str, list[str]]]:
    """Realistic queries per user: names and numbers of persons in that user's scope."""
    engine = make_engine(url)
    per_user: dict[str, dict[str, list[str]]] = {}
    with make_session_factory(engine)() as session:
        for username, codes in FACILITIES.items():
            stmt = select(Person.full_name, PersonIdentifier.value).join(
                PersonIdentifier, PersonIdentifier.person_id == Person.id)
            if codes:
                stmt = stmt.join(CustodyEpisode, CustodyEpisode.person_id == Person.id).join(
                    Organisation, Organisation.id == CustodyEpisode.facility_id).where(
                    Organisation.code.in_(codes))
            sample = rng.sample(session.execute(stmt.limit(5000)).all(), n)
            per_user[username] = {
                "full name (no diacritics)": [unidecode(name) for name, _ in sample],
                "family + middle name prefix": [" ".join(name.split()[:2]) for name, _ in sample],
                "identity number": [value for _, value in sample],
            }
    engine.dispose()
    return per_user


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--requests", type=int, default=200, help="per query kind and user")
    parser.add_argument("--keep", help="reuse/keep this SQLite file or PostgreSQL database")
    args = parser.parse_args()

    url, cleanup = scratch_url(args.backend, args.keep)
    try:
        load_scale(url, args.persons, _central_user)
        per_user = queries(url, random.Random(7), args.requests)
        bench = Baselines(url)
        sizes: list[int] = []
        results = []
        for label, username in USERS.items():
            client = bench.client_as(username)
            for kind, values in per_user[username].items():
                for value in values[:5]:  # warm-up
                    timed(client, "POST", "/search", {"q": value})
                samples = []
                for value in values:
                    ms, size = timed(client, "POST", "/search", {"q": value})
                    samples.append(ms)
                    sizes.append(size)
                results.append((label, kind, *stats(samples)))
        base = bench.measure(int(statistics.median(sizes)), "clerk.hanoi", args.requests * 3)
        bare_p95 = base["bare"][1]
        print(f"\n{args.persons:,} persons on {args.backend}; {args.requests} searches per row; "
              f"page size {int(statistics.median(sizes)):,} bytes")
        print(f"{'user scope':<26}{'query':<30}{'median ms':>10}{'p95 ms':>9}"
              f"{'p95 / bare p95':>16}")
        for label, kind, median, p95 in results:
            print(f"{label:<26}{kind:<30}{median:>10.2f}{p95:>9.2f}{p95 / bare_p95:>16.1f}")
        print_baselines(base)
    finally:
        cleanup()


if __name__ == "__main__":
    main()
