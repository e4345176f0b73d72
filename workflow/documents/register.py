"""The outgoing-document register: gapless numbers per issuing organisation and year, and the
template versions issued documents were made from."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from workflow.models import DocumentRegister, DocumentTemplate


def _insert(session: Session, model):
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(model)


def next_serial(session: Session, org_id: int, year: int) -> int:
    """The next number of the organisation's register for the year. The counter row is updated
    in the caller's transaction, which holds its lock until commit: concurrent issuers wait, and
    a rolled-back issue gives its number back, so the numbers have no gaps."""
    session.execute(_insert(session, DocumentRegister)
                    .values(org_id=org_id, year=year, last_serial=0)
                    .on_conflict_do_nothing())
    serial = session.execute(
        update(DocumentRegister)
        .where(DocumentRegister.org_id == org_id, DocumentRegister.year == year)
        .values(last_serial=DocumentRegister.last_serial + 1)
        .returning(DocumentRegister.last_serial)).scalar_one()
    return serial


def record_template(session: Session, version: str, name: str, source: str) -> None:
    """Keep the source of a template version the first time a document uses it."""
    if session.get(DocumentTemplate, version) is not None:
        return
    session.execute(_insert(session, DocumentTemplate)
                    .values(version=version, name=name, source=source)
                    .on_conflict_do_nothing())


def last_serial(session: Session, org_id: int, year: int) -> int:
    """The last number given (0 if none)."""
    return session.scalar(select(DocumentRegister.last_serial).where(
        DocumentRegister.org_id == org_id, DocumentRegister.year == year)) or 0
