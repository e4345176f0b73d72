"""What sealing the audit chain costs a commit: the Ed25519 signature and the witness line alone,
then a deferred session committing one audit entry, with and without the sealer, per back-end.

    .venv/bin/python bench/seal_bench.py [--commits 2100]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import scratch_url  # noqa: E402
from workflow import schema
from workflow.audit import chain as audit  # noqa: E402
from workflow.audit.checkpoints import load_or_create_key  # noqa: E402
from workflow.context import SYSTEM  # noqa: E402
from workflow.db import make_engine, make_session_factory  # noqa: E402


def per_call_us(run, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        run()
    return (time.perf_counter() - start) / n * 1e6


def commit_us(sessions, n: int) -> float:
    """n commits of one deferred audit entry each (a web request's), µs per commit."""
    def one() -> None:
        with sessions() as session:
            session.info[audit.DEFER] = True
            audit.record(session, SYSTEM, "bench.commit")
            session.commit()
    return per_call_us(one, n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--commits", type=int, default=2100)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    sealer = audit.Sealer(lambda: load_or_create_key(folder / "audit.pem"),
                          lambda: folder / "witness.log")
    n, line = args.commits * 5, f"1 2 {'a' * 64}\n"
    print(f"Ed25519 seal: {per_call_us(lambda: sealer.seal(1, 2, 'a' * 64), n):.1f} µs; "
          f"witness line: {per_call_us(lambda: sealer.witness([line]), n):.1f} µs")
    for backend in ("sqlite", "postgresql"):
        url, drop = scratch_url(backend, None)
        engine = make_engine(url)
        try:
            schema.upgrade(engine)
            factories = (make_session_factory(engine),
                         make_session_factory(engine, {audit.SEALER: sealer}))
            rounds: tuple[list[float], list[float]] = ([], [])
            for _ in range(7):  # alternated, so that a busy machine weighs on both alike
                for times, sessions in zip(rounds, factories, strict=True):
                    times.append(commit_us(sessions, args.commits // 7 or 1))
            plain, sealed = (statistics.median(times) for times in rounds)
            print(f"{backend}: commit of one entry {plain:.0f} µs unsealed, {sealed:.0f} µs "
                  f"sealed (+{sealed - plain:.0f} µs)")
        finally:
            engine.dispose()
            drop()


if __name__ == "__main__":
    main()
