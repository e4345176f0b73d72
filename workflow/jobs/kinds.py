"""The kinds of job: what each does when a worker runs it, as the user who asked."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from workflow.context import Actor
from workflow.jobs.runs import Environment, Handler, Progress
from workflow.models.jobs import Job

PREPARE = "extract.prepare"
RELEASE = "extract.release"
IMPORT = "records.import"


def _prepare(session: Session, env: Environment, actor: Actor, job: Job,
             progress: Progress | None) -> None:
    from workflow.documents import extracts

    extracts.prepare_extract(session, env.settings, actor, job.request_id, job=job,
                             progress=progress)


def _release(session: Session, env: Environment, actor: Actor, job: Job,
             progress: Progress | None) -> None:
    from workflow.documents import extracts

    params = job.params
    extracts.release_extract(
        session, env.flow, env.settings, actor, job.request_id, document_id=job.document_id,
        sha256=params["sha256"], valid_days=params["valid_days"],
        download_limit=params["download_limit"], named=params["named"],
        expected_version=params["expected_version"], job=job, progress=progress)


def _import(session: Session, env: Environment, actor: Actor, job: Job,
            progress: Progress | None) -> None:
    from workflow.records import bulk_import

    bulk_import.apply_import(session, actor, job, progress)


def _drop_file(session: Session, job: Job) -> None:
    from workflow.records import bulk_import

    bulk_import.drop_file(session, job)


HANDLERS: dict[str, Handler] = {PREPARE: _prepare, RELEASE: _release, IMPORT: _import}
# What a kind of job kept for its work and lets go of once it has failed for good.
LET_GO: dict[str, Callable[[Session, Job], None]] = {IMPORT: _drop_file}
