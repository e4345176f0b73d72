"""The worlds tests build on: the demo's accounts acting through the services (`World`), a
person whose case is at a stage, a filed request, an extract prepared and released, and the
objects of Hà Nội every route is tried on. The root conftest registers it as a pytest plugin,
so its fixtures (`world`, `objects`) are every test's."""


from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.helpers import org, person_at, record_signing, register_kiosk
from workflow.context import SYSTEM, Actor
from workflow.documents import extracts, issuing, letters
from workflow.enums import Role, Secrecy
from workflow.figures import reports
from workflow.figures.enums import ReportKind
from workflow.models import (
    AccessRequest,
    Case,
    CustodyEpisode,
    CustodyEvent,
    ExchangeConflict,
    ExchangeLink,
    Mandate,
    Person,
    RecordDocument,
    RequestTransition,
    User,
)
from workflow.records import bulk_import, cases, corrections, error_reports, import_template
from workflow.records.enums import CaseStage, DocumentCategory, EventKind
from workflow.requests import decisions, filing
from workflow.requests.enums import Channel, ProvisionForm, RequestState, SubjectKind
from workflow.requests.filing import RequestInput
from workflow.requests.kernel import Workflow
from workflow.security import accounts

NOW = dt.datetime(2026, 11, 24, 3, 0, tzinfo=dt.UTC)


FLOW = Workflow()


class World:
    """Users by name and a session that commits after each act, like one request each."""

    def __init__(self, session) -> None:
        self.session = session

    def user(self, username: str) -> User:
        return self.session.execute(select(User).where(User.username == username)).scalar_one()

    def actor(self, username: str, now: dt.datetime = NOW) -> Actor:
        return Actor(self.user(username), "127.0.0.1", now)

    def make_user(self, username: str, org_code: str, *roles: Role) -> User:
        user = accounts.create_user(
            self.session, SYSTEM, username=username, full_name=username,
            organisation_id=org(self.session, org_code).id, roles=set(roles),
            password="a test passphrase")
        if set(roles) & {Role.APPROVER, Role.CONSENT_OFFICER}:
            record_signing(user)  # deciders sign what they decide
        self.session.commit()
        return user

    def act(self, fn, *args, **kwargs):
        try:
            result = fn(self.session, *args, **kwargs)
            self.session.commit()
            return result
        except Exception:
            self.session.rollback()
            raise

    def reload(self, request_id: int) -> AccessRequest:
        self.session.expire_all()
        return self.session.get(AccessRequest, request_id)


@pytest.fixture
def world(app):
    with app.extensions["custody_sessions"]() as session:
        yield World(session)


def person_with_stage(world: World, stage: CaseStage | None) -> Person:
    """A person held at the Hà Nội camp whose case is (now) at `stage` (None: closed)."""
    clerk = world.actor("clerk.hanoi")
    person = person_at(world.session, "TTG-HANOI", skip_kiosk=True)
    stage = stage or CaseStage.CLOSED
    handler = {CaseStage.INVESTIGATION: "CSDT-HANOI", CaseStage.PROSECUTION: "VKS-HANOI",
               CaseStage.TRIAL: "TA-HANOI"}.get(stage)
    case = world.act(cases.create_case, clerk, number=f"T/{person.id}/{stage.value}",
                     title="Vụ án thử", charges="Điều 173 BLHS", opened_on=dt.date(2026, 1, 5),
                     stage=stage, handling_org_id=org(world.session, handler).id
                     if handler else None)
    episode = person.episodes[-1]
    world.act(corrections.correct, clerk, "episode", episode.id, {"case_id": case.id},
              reason="Gắn vụ án để thử", expected_version=episode.version)
    return person


def ask(world: World, username: str, person: Person, **overrides) -> AccessRequest:
    number = person.identifiers[-1].value
    data = RequestInput(channel=Channel.NETWORK, subject_kind=SubjectKind.PERSON,
                        purpose="Phục vụ kiểm sát việc tạm giam theo quy định",
                        legal_basis="Điều 12 Nghị định 121/2017/NĐ-CP",
                        provision=ProvisionForm.PDF,
                        categories=["a_orders", "episodes", "events"],
                        identity_number=number)
    for key, value in overrides.items():
        setattr(data, key, value)
    request = world.act(filing.file_request, world.actor(username), data)
    return world.act(filing.submit, FLOW, world.actor(username), request.id)


def states(world: World, request_id: int) -> list[str]:
    rows = world.session.execute(select(RequestTransition).where(
        RequestTransition.request_id == request_id).order_by(RequestTransition.id)).scalars()
    return [f"{r.trigger}:{r.to_state.value}" for r in rows]


HOSTILE = '<img src="file:///etc/passwd"> http://198.51.100.7/x.png'
SETTINGS = issuing.ExtractSettings(passphrase="test-secret",  # the app fixture's key
                                    base_url="https://csdl.example.vn")


def text_of(pdf: bytes, tmp_path: Path, page: int | None = None) -> str:
    """The text of the PDF (or of one page), words joined by single spaces."""
    path = tmp_path / "extract.pdf"
    path.write_bytes(pdf)
    pages = ["-f", str(page), "-l", str(page)] if page else []
    out = subprocess.run(["pdftotext", "-raw", *pages, str(path), "-"], check=True,
                         capture_output=True, text=True).stdout
    return " ".join(out.split())


def page_count(pdf: bytes, tmp_path: Path) -> int:
    path = tmp_path / "count.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True,
                          text=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines()
                    if line.startswith("Pages:")))


def fresh_person(world: World, db, stage: CaseStage, *, unclassified: bool = False):
    """A person held only at the Hà Nội camp, not used by this test yet, whose case is now at
    `stage` (SQLite takes its write lock at the first read: each read is committed at once);
    with `unclassified`, one whose record holds no classified document."""
    used = set(db.scalars(select(AccessRequest.subject_person_id)))
    clerk = world.actor("clerk.hanoi")
    camp = org(db, "TTG-HANOI").id
    kiosk = set(db.scalars(select(User.person_id).where(User.person_id.is_not(None))))
    person = next(p for p in db.scalars(select(Person).join(CustodyEpisode).where(
        CustodyEpisode.facility_id == camp).order_by(Person.id)).unique()
        if p.id not in used | kiosk and {e.facility_id for e in p.episodes} == {camp}
        and not (unclassified and any(d.secrecy is not Secrecy.NONE for d in p.documents)))
    world.session.commit()
    case = world.act(cases.create_case, clerk, number=f"X/{person.id}", title="Vụ án thử",
                     charges="Điều 173 BLHS", opened_on=dt.date(2026, 1, 5), stage=stage,
                     handling_org_id=org(db, "CSDT-HANOI").id if stage.needs_consent else None)
    episode = person.episodes[-1]
    world.act(corrections.correct, clerk, "episode", episode.id, {"case_id": case.id},
              reason="Gắn vụ án để thử", expected_version=episode.version)
    return db.get(Person, person.id)


def arrange(world: World, db, *, extra_events: int = 0, case: bool = False, paper: bool = True):
    """A person under investigation (no classified document in the record at filing, so the
    extract is unclassified) with an order, a top-secret one classified after the approval and
    a marked event; the procuracy asks for orders, episodes, events and identity (and the case,
    with `case`); the police approves all but the events, and the investigation agency consents
    (by a letter signed on paper, or with `paper=False` in the system, whose letter
    `issue_letters` makes)."""
    person = fresh_person(world, db, CaseStage.INVESTIGATION, unclassified=True)
    db.expire_all()
    person = db.get(Person, person.id)
    episode = person.episodes[-1]
    db.add_all([
        RecordDocument(person_id=person.id, episode_id=episode.id,
                       category=DocumentCategory.ORDERS, title="Lệnh tạm giam bổ sung",
                       number="77/LTG", issued_on=episode.start_date, issuer="Cơ quan điều tra",
                       secrecy=Secrecy.NONE, summary=HOSTILE),
        CustodyEvent(episode_id=episode.id, kind=EventKind.VISIT,
                     occurred_on=episode.start_date, note="Ghi chú sự kiện KHÔNG-ĐƯỢC-LỘ"),
        *[CustodyEvent(episode_id=episode.id, kind=EventKind.VISIT,
                       occurred_on=episode.start_date, note=f"Thăm gặp lần {i}")
          for i in range(extra_events)],
    ])
    db.flush()
    extra = ["case"] if case else []
    request = ask(world, "requester.vks", person,
                  categories=["a_orders", "episodes", "events", "c_identity", *extra])
    world.act(decisions.approve, world.actor("approver.hanoi"), request.id,
              categories=["a_orders", "episodes", "c_identity", *extra])
    world.act(decisions.grant_consent, FLOW, world.actor("consent.hanoi"), request.id,
              letter_ref="CV 12/ĐY-CSĐT" if paper else None)
    # Classified after the approval: the approval did not cover it.
    db.add(RecordDocument(person_id=person.id, episode_id=episode.id,
                          category=DocumentCategory.ORDERS, title="Tài liệu TUYỆT-MẬT-XYZ",
                          number="1/TM", issued_on=episode.start_date, issuer="Bộ Công an",
                          secrecy=Secrecy.TOP_SECRET))
    db.flush()
    assert state_of(world, request.id) is RequestState.APPROVED
    return person, request


def state_of(world: World, request_id: int) -> RequestState:
    """The request's state, read and committed (no lock is kept)."""
    state = world.reload(request_id).state
    world.session.commit()
    return state


def prepare(world: World, request_id: int, username: str = "approver.hanoi"):
    return world.act(extracts.prepare_extract, SETTINGS, world.actor(username), request_id)


def release(world: World, document, **kwargs):
    """The approver opens the preview (release requires it), then releases that document."""
    world.act(extracts.preview, world.actor("approver.hanoi"), document.id)
    return world.act(extracts.release_extract, FLOW, SETTINGS, world.actor("approver.hanoi"),
                     document.request_id, document_id=document.id, sha256=document.sha256,
                     **kwargs)


def exchange_conflict(app, db, person: Person) -> int:
    """A record of Hà Nội's camp person as its subsystem sent it, changed here since: open in
    the conflict queue of Hà Nội's camp."""
    with app.extensions["custody_sessions"]() as session:
        session.add(ExchangeLink(source="TTG-HANOI", record_type="person", source_id=7001,
                                 local_id=person.id, source_version=1,
                                 local_version=person.version))
        conflict = ExchangeConflict(
            source="TTG-HANOI", sequence=2, record_type="person", source_id=7001,
            source_version=2, local_id=person.id, found_at=NOW, status="open",
            problem=json.dumps({"message": "changed here since the last package; not "
                                           "overwritten", "params": {}}),
            data_json=json.dumps({"type": "person", "id": 7001, "version": 2, "data": {
                "full_name": person.full_name, "birth_date": person.birth_date.isoformat(),
                "sex": person.sex.value, "nationality": person.nationality,
                "place_of_origin": "Quê quán theo bên gửi"}}))
        session.add(conflict)
        session.commit()
        return conflict.id


@pytest.fixture
def objects(app, db):
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        subject = person_with_stage(world, CaseStage.INVESTIGATION)
        request_id = ask(world, "requester.vks", subject).id
    handled_case = db.scalar(select(Case.id).where(
        Case.number == f"T/{subject.id}/{CaseStage.INVESTIGATION.value}"))
    person = person_at(db, "TTG-HANOI")
    episode = person.episodes[-1]
    case_id = db.execute(select(CustodyEpisode.case_id).where(
        CustodyEpisode.facility_id == org(db, "TTG-HANOI").id,
        CustodyEpisode.case_id.is_not(None)).limit(1)).scalar_one()
    user = db.execute(select(User.id).where(User.username == "clerk.hcm")).scalar_one()
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        _subject, approved = arrange(world, db, paper=False)
        extract = release(world, prepare(world, approved.id))
        letter = world.act(letters.issue_letters, SETTINGS, world.actor("consent.hanoi"),
                           approved.id)[0]
        ids = {"extract": extract.id, "letter": letter.id, "code": extract.code,
               "approved": extract.request_id}
        ids["error_report"] = world.act(
            error_reports.report_error, world.actor("requester.vks"), extract.id,
            description="Ngày bắt đầu tạm giam ghi sai một ngày").id
    with app.extensions["custody_sessions"]() as session:
        clerk = session.scalars(select(User).where(User.username == "clerk.hanoi")).one()
        report = reports.create(session, Actor(clerk), reports.ReportInput(
            kind=ReportKind.INCIDENT, period_start=dt.date(2026, 11, 1),
            period_end=dt.date(2026, 11, 1), title="Sự việc", body="Mô tả sự việc",
            figures={}))
        reports.fire(session, Actor(clerk), report.id, "submit")
        # A file sent for import (the blank template: its example row is refused, so that
        # nothing is registered), its job run once this commits.
        ids["import_job"] = bulk_import.queue_import(
            session, Actor(clerk), org(session, "TTG-HANOI").id,
            import_template.template_csv(), "mau.csv").id
        session.commit()
        ids["report"] = report.id
    ids["conflict"] = exchange_conflict(app, db, person)
    device, _secret = register_kiosk(app)
    lawyer = db.execute(select(User.id).where(User.username == "lawyer.demo")).scalar_one()
    mandate = db.execute(select(Mandate.id).where(Mandate.user_id == lawyer)).scalar_one()
    return {"person": person.id, "episode": episode.id, "case": case_id, "user": user,
            "requester": lawyer, "mandate": mandate,
            "handled_case": handled_case,
            "request": request_id, "device": device, **ids}

