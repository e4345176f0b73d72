"""Exchange between the Army subsystem and the central centre, and feeds under agreements: a round
trip leaves the two databases equal for the Army's records, a second import of a package changes
nothing, a tampered package is refused with nothing applied, local changes are reported as
conflicts, and a feed gives only the agreed fields while its agreement is in force."""

from __future__ import annotations

import copy
import datetime as dt
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from tests.conftest import PG_URL, _copy_of, _pg
from workflow.audit.chain import DEFER
from workflow.audit.checkpoints import load_or_create_key, public_pem
from workflow.context import SYSTEM, Actor
from workflow.db import make_engine, make_session_factory
from workflow.enums import Role
from workflow.errors import Conflict, Forbidden, InvalidInput, NotFound
from workflow.exchange import feeds, incoming, matches, outgoing, trust, wire
from workflow.figures import disclosure, statistics
from workflow.models import (
    AuditEntry,
    Case,
    CaseStageEntry,
    CustodyEpisode,
    ExchangeLink,
    ExchangePackage,
    FeedRun,
    Organisation,
    Person,
    PersonIdentifier,
    PersonMatch,
    RecordVersion,
    User,
)
from workflow.names import given_name_key, search_key
from workflow.organisations.scope import management_scope
from workflow.organisations.tree import build_tree
from workflow.records import corrections, persons, search
from workflow.records import episodes as records_episodes
from workflow.records.enums import EventKind, IdentifierKind
from workflow.records.reading import ReadPurpose
from workflow.schema import upgrade
from workflow.security.accounts import create_user

ARMY = "QP-QL"


@pytest.fixture(scope="session")
def centre_template(backend, tmp_path_factory) -> Iterator[str]:
    """The central centre's database as every exchange test starts it: the organisations and no
    records yet (built once per back-end; the migrations take seconds)."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('centre') / 'centre.db'}"
    else:
        name = f"custody_c_{uuid.uuid4().hex[:12]}"
        _pg(f'CREATE DATABASE "{name}"')
        url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    with make_session_factory(engine)() as session:
        build_tree(session)
        session.commit()
    engine.dispose()
    yield url
    if backend != "sqlite":
        _pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def centre_url(backend, centre_template, tmp_path) -> Iterator[str]:
    """A second database: the central centre's, a copy of its template for this test."""
    directory = tmp_path / "centre"
    directory.mkdir()
    with _copy_of(backend, centre_template, directory) as url:
        yield url


class Side:
    """One database with its own session and signing key."""

    def __init__(self, url: str, key_path) -> None:
        self.engine = make_engine(url)
        self.session = make_session_factory(self.engine)()
        self.key = load_or_create_key(key_path)

    def account(self, org_code: str, username: str) -> User:
        """An exchange account of the body."""
        user = create_user(self.session, SYSTEM, username=username, full_name="Trao đổi dữ liệu",
                           organisation_id=self.session.scalar(select(Organisation.id).where(
                               Organisation.code == org_code)),
                           roles={Role.EXCHANGE}, password="một câu đủ dài", system=True)
        self.session.commit()
        return user

    def close(self) -> None:
        self.session.close()
        self.engine.dispose()

    def count(self, model) -> int:
        return self.session.scalar(select(func.count()).select_from(model))

    def facilities(self) -> set[int]:
        army = self.session.scalar(select(Organisation).where(Organisation.code == ARMY))
        return set(management_scope(self.session, army, dt.date(2026, 11, 24)).facility_ids)

    def projection(self) -> list:
        """The Army's records as plain values, without this database's ids."""
        s = self.session
        s.expire_all()
        codes = dict(s.execute(select(Organisation.id, Organisation.code)).all())
        mine = self.facilities()
        persons = s.scalars(select(Person).join(CustodyEpisode).where(
            CustodyEpisode.facility_id.in_(mine)).distinct())
        out = []
        for p in persons:
            episodes = [e for e in p.episodes if e.facility_id in mine]
            out.append((
                p.full_name, p.birth_date, p.sex, p.nationality, p.place_of_origin, p.version,
                sorted((i.kind.value, i.value, i.valid_from, i.valid_to) for i in p.identifiers),
                sorted((codes[e.facility_id], e.measure.value, e.start_date, e.end_date,
                        e.legal_basis, e.case.number if e.case else None,
                        e.case.title if e.case else None,
                        tuple((st.stage.value, codes.get(st.handling_org_id), st.from_date)
                              for st in e.case.stages) if e.case else (),
                        tuple((ev.kind.value, ev.occurred_on, ev.note,
                               codes.get(ev.other_facility_id)) for ev in e.events))
                       for e in episodes),
                sorted((d.category.value, d.title, d.number, d.issued_on, d.secrecy.value)
                       for d in p.documents if d.episode is None or d.episode in episodes)))
        return sorted(out, key=repr)


@pytest.fixture
def sides(database_url, centre_url, tmp_path):
    army = Side(database_url, tmp_path / "army.pem")
    centre = Side(centre_url, tmp_path / "centre.pem")
    trust.register_partner(centre.session, SYSTEM, ARMY, public_pem(army.key))
    centre.session.commit()
    army.sender = army.account(ARMY, "exchange.army")
    centre.receiver = centre.account("TTCSDL", "exchange.centre")
    yield army, centre
    army.close()
    centre.close()


def export(army: Side) -> dict:
    package = outgoing.export_package(army.session, Actor(army.sender), ARMY, army.key)
    army.session.commit()
    return package


def apply(centre: Side, package: dict) -> incoming.ImportReport:
    report = incoming.import_package(centre.session, Actor(centre.receiver),
                                     copy.deepcopy(package))
    centre.session.commit()
    return report


def test_a_round_trip_leaves_the_two_databases_equal(sides):
    army, centre = sides
    before = army.projection()
    assert before, "the demo holds persons at Army facilities"
    package = export(army)
    assert package["sequence"] == 1 and package["records"]
    report = apply(centre, package)
    assert report.conflicts == [] and report.created > 0
    assert centre.projection() == before
    # Only the Army's scope travelled: no police facility's person reached the centre.
    assert centre.count(Person) == len(before)


def test_a_second_import_of_the_same_package_changes_nothing(sides):
    army, centre = sides
    package = export(army)
    apply(centre, package)
    counts = {m: centre.count(m) for m in (Person, CustodyEpisode, Case, RecordVersion)}
    projection = centre.projection()
    again = apply(centre, package)
    assert again.already_imported and again.created == again.updated == 0
    assert {m: centre.count(m) for m in counts} == counts
    assert centre.projection() == projection
    assert centre.count(ExchangePackage) == 1


@pytest.mark.parametrize("tamper", ["name", "signature", "added record", "sequence"])
def test_a_tampered_package_is_refused_with_nothing_applied(sides, tamper):
    army, centre = sides
    package = export(army)
    person = next(r for r in package["records"] if r["type"] == "person")
    if tamper == "name":
        person["data"]["full_name"] += "x"
    elif tamper == "signature":
        value = package["signature"]["value"]
        # flip the first byte: a fixed "00" is no change when the signature starts with it
        package["signature"]["value"] = f"{int(value[:2], 16) ^ 0xFF:02x}" + value[2:]
    elif tamper == "added record":
        package["records"].append(copy.deepcopy(person) | {"id": 10**6})
    else:
        package["sequence"] = 2
    counts = (centre.count(Person), centre.count(RecordVersion), centre.count(ExchangePackage))
    with pytest.raises(InvalidInput, match="signature"):
        incoming.import_package(centre.session, Actor(centre.receiver), package)
    centre.session.rollback()
    assert (centre.count(Person), centre.count(RecordVersion),
            centre.count(ExchangePackage)) == counts == (0, 0, 0)


def _resigned(army: Side, package: dict, **changes) -> dict:
    body = {k: v for k, v in package.items() if k != "signature"} | changes
    return wire.sign(body, army.key)


def _at_hanoi(records: list[dict]) -> list[dict]:
    episode = next(r for r in records if r["type"] == "episode")
    return [r | {"data": r["data"] | {"facility": "TTG-HANOI"}} if r is episode else r
            for r in records]


@pytest.mark.parametrize("forgery", ["new episode", "episode moved", "person held nowhere"])
def test_a_trusted_key_writes_nothing_outside_its_bodys_scope(sides, forgery):
    army, centre = sides
    package = export(army)
    episode = next(r for r in package["records"] if r["type"] == "episode")
    person = next(r for r in package["records"] if r["type"] == "person")
    if forgery == "new episode":
        # The Army's key, a person held at the Hà Nội police camp.
        forged = _resigned(army, package, records=_at_hanoi(package["records"]))
        culprit = f"episode {episode['id']}"
    else:
        apply(centre, package)
        records = (_at_hanoi([episode | {"version": 2}]) if forgery == "episode moved"
                   else [person | {"id": 10**6}])
        forged = _resigned(army, package, sequence=2, records=records, stages=[])
        culprit = f"{records[0]['type']} {records[0]['id']}"
    rows = (Person, CustodyEpisode, RecordVersion, ExchangeLink, ExchangePackage)
    before = {m: centre.count(m) for m in rows}
    with pytest.raises(Forbidden) as refused:
        incoming.import_package(centre.session, Actor(centre.receiver), forged)
    assert refused.value.params == {"source": ARMY, "record": culprit}
    centre.session.rollback()
    assert {m: centre.count(m) for m in rows} == before
    hanoi = centre.session.scalar(select(Organisation.id).where(
        Organisation.code == "TTG-HANOI"))
    assert centre.session.scalar(select(func.count()).select_from(CustodyEpisode).where(
        CustodyEpisode.facility_id == hanoi)) == 0


def test_only_its_own_body_exports_a_package(sides):
    army, _centre = sides
    with pytest.raises(Forbidden, match="only its own body's"):
        outgoing.export_package(army.session, Actor(army.sender), "TTCSDL", army.key)
    army.session.rollback()
    assert army.count(ExchangePackage) == 0


def test_an_unknown_sender_is_refused(sides, tmp_path):
    army, centre = sides
    stranger = load_or_create_key(tmp_path / "stranger.pem")
    package = outgoing.export_package(army.session, Actor(army.sender), ARMY, stranger)
    with pytest.raises(InvalidInput, match="signature"):
        incoming.import_package(centre.session, Actor(centre.receiver), package)
    package = wire.sign({**{k: v for k, v in package.items() if k != "signature"},
                             "source": "QK1-TTG"}, stranger)
    with pytest.raises(InvalidInput, match="No key is registered"):
        incoming.import_package(centre.session, Actor(centre.receiver), package)


def _army_clerk(army: Side) -> Actor:
    camp = army.session.scalar(select(Organisation).where(Organisation.code == "QP-TTG"))
    clerk = create_user(army.session, SYSTEM, username="clerk.qp", full_name="Cán bộ QP",
                        organisation_id=camp.id, roles={Role.CLERK},
                        password="một câu đủ dài")
    return Actor(clerk, "10.0.0.9", dt.datetime(2026, 11, 24, 3, tzinfo=dt.UTC))


def _camp_person(side: Side) -> Person:
    camp = side.session.scalar(select(Organisation).where(Organisation.code == "QP-TTG"))
    return side.session.scalars(select(Person).join(CustodyEpisode).where(
        CustodyEpisode.facility_id == camp.id).order_by(Person.full_name)).first()


def test_the_next_package_carries_only_the_changes_and_keeps_them_equal(sides):
    army, centre = sides
    apply(centre, export(army))
    clerk = _army_clerk(army)
    person = _camp_person(army)
    corrections.correct(army.session, clerk, "person", person.id,
                    {"full_name": person.full_name + " Anh"}, reason="Sửa theo CCCD",
                    expected_version=person.version)
    episode = person.episodes[-1]
    records_episodes.add_event(army.session, clerk, episode.id, kind=EventKind.VISIT,
                      occurred_on=max(episode.start_date, dt.date(2026, 11, 1))
                      if episode.end_date is None else episode.start_date, note="Thăm gặp",
                      document_number=None)
    army.session.commit()
    second = export(army)
    assert second["sequence"] == 2
    assert sorted((r["type"], r["version"]) for r in second["records"]) == [
        ("event", 1), ("person", person.version)]
    report = apply(centre, second)
    assert (report.created, report.updated, report.conflicts) == (1, 1, [])
    assert centre.projection() == army.projection()
    # The centre keeps the version history, with where each version came from.
    local = _camp_person(centre)
    assert [v.reason for v in local_versions(centre, local)][-1] == f"exchange:{ARMY}#2 v2"


def local_versions(side: Side, person: Person) -> list[RecordVersion]:
    return list(side.session.scalars(select(RecordVersion).where(
        RecordVersion.record_type == "person", RecordVersion.record_id == person.id)
        .order_by(RecordVersion.version)))


def test_a_record_changed_at_the_centre_is_a_conflict_not_overwritten(sides):
    army, centre = sides
    apply(centre, export(army))
    here = _camp_person(centre)
    origin = here.place_of_origin
    centre_clerk = create_user(
        centre.session, SYSTEM, username="clerk.centre", full_name="Cán bộ TT",
        organisation_id=centre.session.scalar(select(Organisation.id).where(
            Organisation.code == "TTCSDL")), roles={Role.CLERK}, password="một câu đủ dài")
    corrections.correct(centre.session, Actor(centre_clerk), "person", here.id,
                    {"nationality": "Lào"}, reason="Sửa tại trung tâm",
                    expected_version=here.version)
    centre.session.commit()
    there = _camp_person(army)
    corrections.correct(army.session, _army_clerk(army), "person", there.id,
                    {"place_of_origin": "Hà Giang (sửa)"}, reason="Sửa quê quán",
                    expected_version=there.version)
    army.session.commit()
    report = apply(centre, export(army))
    assert report.updated == 0
    assert report.conflicts == [{"type": "person", "id": there.id, "version": 2,
                                 "problem": "changed here since the last package; "
                                            "not overwritten"}]
    centre.session.expire_all()
    assert (here.nationality, here.place_of_origin) == ("Lào", origin)


def test_packages_apply_in_order(sides):
    army, centre = sides
    export(army)
    second = export(army)
    with pytest.raises(Conflict, match="comes next") as refused:
        incoming.import_package(centre.session, Actor(centre.receiver), second)
    assert refused.value.params == {"n": 1, "source": ARMY, "got": 2}


def test_export_and_import_are_audited(sides):
    army, centre = sides
    package = export(army)
    apply(centre, package)
    assert army.session.scalar(select(AuditEntry.action).order_by(AuditEntry.seq.desc())
                               .limit(1)) == "exchange.export"
    entry = centre.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "exchange.import")).one()
    assert entry.object_id == f"{ARMY}#1" and json.loads(entry.details)["conflicts"] == 0


# --- feeds ----------------------------------------------------------------------------------

def _agreement(side: Side, until: dt.date = dt.date(2027, 12, 31)):
    made = feeds.create_agreement(
        side.session, SYSTEM, partner="Cơ sở dữ liệu về phòng, chống tội phạm",
        fields=["full_name", "facility"], purpose="Cung cấp theo Điều 13 Nghị định 121",
        approval_ref="QĐ 12/QĐ-BCA ngày 01/01/2026", valid_from=dt.date(2026, 1, 1),
        valid_to=until)
    side.session.commit()
    return made


def test_a_feed_gives_only_the_agreed_fields_and_only_what_changed(sides):
    army, _centre = sides
    agreement = _agreement(army)
    now = Actor(army.account("TTCSDL", "exchange.central"), "cli",
                dt.datetime(2026, 11, 24, 3, tzinfo=dt.UTC))
    first = feeds.run_feed(army.session, now, agreement.id, army.key)
    army.session.commit()
    assert first["persons"] and all(set(p) == {"ref", "full_name", "facility"}
                                    for p in first["persons"])
    assert len(first["persons"]) == army.count(Person)
    assert feeds.run_feed(army.session, now, agreement.id, army.key)["persons"] == []
    army.session.commit()
    person = _camp_person(army)
    corrections.correct(army.session, _army_clerk(army), "person", person.id,
                    {"full_name": "Nguyễn Văn Đổi"}, reason="Sửa tên",
                    expected_version=person.version)
    army.session.commit()
    third = feeds.run_feed(army.session, now, agreement.id, army.key)
    assert third["persons"] == [{"ref": person.id, "full_name": "Nguyễn Văn Đổi",
                                 "facility": "QP-TTG"}]
    runs = army.session.scalars(select(AuditEntry.details).where(
        AuditEntry.action == "exchange.feed")).all()
    assert [json.loads(d)["persons"] for d in runs] == [len(first["persons"]), 0, 1]


def test_no_feed_outside_its_agreement(sides):
    army, _centre = sides
    agreement = _agreement(army, until=dt.date(2026, 6, 30))
    with pytest.raises(Forbidden, match="not in force"):
        feeds.run_feed(army.session, Actor(army.account("TTCSDL", "exchange.central"), "cli",
                                              dt.datetime(2026, 11, 24, 3, tzinfo=dt.UTC)),
                          agreement.id, army.key)
    with pytest.raises(InvalidInput, match="Unknown"):
        feeds.create_agreement(army.session, SYSTEM, partner="X", fields=["religion"],
                                  purpose="Mục đích đủ dài", approval_ref="QĐ 1",
                                  valid_from=dt.date(2026, 1, 1), valid_to=dt.date(2026, 2, 1))


# --- commit order -----------------------------------------------------------------------------


@contextmanager
def _one_commits_late(army: Side, backend: str) -> Iterator[tuple[Person, Person]]:
    """Two of the camp's persons renamed at once: the first in a transaction that takes the
    lower version id and commits only when the block ends, the second committed at once."""
    if backend != "postgresql":
        pytest.skip("SQLite lets one writer in at a time: ids are taken in commit order")
    clerk_id = _army_clerk(army).user.id
    army.session.commit()
    camp = army.session.scalar(select(Organisation.id).where(Organisation.code == "QP-TTG"))
    first, second = army.session.scalars(select(Person).join(CustodyEpisode).where(
        CustodyEpisode.facility_id == camp).order_by(Person.id).distinct().limit(2))
    factory = make_session_factory(army.engine)
    with factory() as slow, factory() as quick:
        slow.info[DEFER] = True  # as web requests do: the audit chain is taken at commit
        corrections.correct(slow, Actor(slow.get(User, clerk_id)), "person", first.id,
                            {"full_name": "Trần Văn Chậm"}, reason="Sửa theo CCCD",
                            expected_version=first.version)
        slow.flush()
        corrections.correct(quick, Actor(quick.get(User, clerk_id)), "person", second.id,
                            {"full_name": "Lê Văn Nhanh"}, reason="Sửa theo CCCD",
                            expected_version=second.version)
        quick.commit()
        army.session.expire_all()  # it read the two persons before they were renamed
        yield first, second
        slow.commit()
    late, early = (army.session.scalar(select(RecordVersion.id).where(
        RecordVersion.record_type == "person", RecordVersion.record_id == p.id,
        RecordVersion.version == 2)) for p in (first, second))
    assert late < early, "the late version holds the lower id"


def test_a_version_committed_after_an_export_goes_in_the_next_package(sides, backend):
    """On PostgreSQL ids are handed out at insert and transactions commit in any order: a
    version holding a lower id, still uncommitted while a package is made, must be in the
    next package (a watermark of the highest id read at export skipped it for ever)."""
    army, centre = sides
    apply(centre, export(army))
    with _one_commits_late(army, backend) as (first, second):
        ids = dict(army.session.execute(select(RecordVersion.record_id, RecordVersion.id).where(
            RecordVersion.record_type == "person", RecordVersion.version == 2)).all())
        middle = export(army)  # while the slower transaction still holds its lower id
    assert ids.get(first.id) is None  # not committed when read
    names = {r["data"]["full_name"] for r in middle["records"] if r["type"] == "person"}
    assert names == {"Lê Văn Nhanh"}
    late = export(army)
    assert [r["data"]["full_name"] for r in late["records"] if r["type"] == "person"] == [
        "Trần Văn Chậm"]
    for package in (middle, late):
        assert apply(centre, package).conflicts == []
    assert centre.projection() == army.projection()


def test_a_version_committed_after_a_feed_run_goes_in_the_next_run(sides, backend):
    """The same for feeds: the run after one made while a lower id was still uncommitted
    provides that person."""
    army, _centre = sides
    agreement = _agreement(army)
    now = Actor(army.account("TTCSDL", "exchange.central"), "cli",
                dt.datetime(2026, 11, 24, 3, tzinfo=dt.UTC))
    feeds.run_feed(army.session, now, agreement.id, army.key)
    army.session.commit()
    with _one_commits_late(army, backend) as (first, second):
        middle = feeds.run_feed(army.session, now, agreement.id, army.key)
        army.session.commit()
    late = feeds.run_feed(army.session, now, agreement.id, army.key)
    army.session.commit()
    assert [p["full_name"] for p in middle["persons"]] == ["Lê Văn Nhanh"]
    assert [(p["ref"], p["full_name"]) for p in late["persons"]] == [(first.id,
                                                                     "Trần Văn Chậm")]


def test_a_feed_run_made_before_the_change_log_is_followed_from_its_version_mark(sides):
    """A run made before the log kept the highest version id it read: the next run provides
    the persons of every version above it, no more."""
    army, _centre = sides
    agreement = _agreement(army)
    cut = army.session.scalar(select(func.max(RecordVersion.id))) // 2
    army.session.add(FeedRun(agreement_id=agreement.id, at=T0, since_mark=0, until_mark=cut,
                             marks="version", persons=1, sha256="0" * 64))
    army.session.commit()
    run = feeds.run_feed(army.session, Actor(army.account("TTCSDL", "exchange.central"), "cli",
                                             T0), agreement.id, army.key)
    army.session.commit()
    later = set(army.session.scalars(select(RecordVersion.person_id).where(
        RecordVersion.id > cut, RecordVersion.person_id.is_not(None))))
    assert later and {p["ref"] for p in run["persons"]} == later
    assert army.session.scalars(select(FeedRun.marks).order_by(FeedRun.id)).all() == [
        "version", "log"]


def test_packages_sent_before_the_change_log_are_not_sent_again(database_url, tmp_path):
    """The upgrade places what earlier packages covered first: the next package starts after
    them (a mark of the highest version and stage ids) and leaves nothing out."""
    engine = make_engine(database_url)
    upgrade(engine, "0032")
    with make_session_factory(engine)() as session:
        cut = session.scalar(select(func.max(RecordVersion.id))) // 2
        stages = session.scalar(select(func.max(CaseStageEntry.id)))
        session.execute(text(  # as revision 0032 kept a package sent
            "INSERT INTO exchange_package (direction, source, sequence, sha256, marks, result, "
            "at) VALUES ('out', :source, 1, :sha, :marks, '{}', :at)"),
            {"source": ARMY, "sha": "0" * 64, "at": T0,
             "marks": json.dumps({"version": cut, "stage": stages})})
        session.commit()
    upgrade(engine)
    engine.dispose()
    army = Side(database_url, tmp_path / "army.pem")
    army.sender = army.account(ARMY, "exchange.army")
    package = export(army)
    army.close()
    assert package["sequence"] == 2 and package["stages"] == []
    check = Side(database_url, tmp_path / "army.pem")
    army_body = check.session.scalar(select(Organisation).where(Organisation.code == ARMY))
    scope = management_scope(check.session, army_body, dt.date.today())
    later = {tuple(row) for row in check.session.execute(
        select(RecordVersion.record_type, RecordVersion.record_id, RecordVersion.version)
        .where(RecordVersion.id > cut, outgoing._in_package(scope))).all()}
    check.close()
    assert later and {(r["type"], r["id"], r["version"]) for r in package["records"]} == later


# --- lost packages, rotated keys, receipts -----------------------------------------------------

T0 = dt.datetime(2026, 11, 24, 3, tzinfo=dt.UTC)


def _export_at(army: Side, at: dt.datetime, key=None, again: int | None = None) -> dict:
    actor = Actor(army.sender, "cli", at)
    if again is None:
        package = outgoing.export_package(army.session, actor, ARMY, key or army.key)
    else:
        package = outgoing.reexport_package(army.session, actor, ARMY, again, key or army.key)
    army.session.commit()
    return package


def _content(package: dict) -> dict:
    return {k: v for k, v in package.items() if k != "signature"}


def test_a_lost_package_is_made_again_with_its_content_and_number(sides):
    army, centre = sides
    lost = export(army)
    person = _camp_person(army)
    corrections.correct(army.session, _army_clerk(army), "person", person.id,
                        {"full_name": "Phạm Văn Sau"}, reason="Sửa theo CCCD",
                        expected_version=person.version)
    army.session.commit()
    second = export(army)
    with pytest.raises(Conflict, match="comes next"):
        incoming.import_package(centre.session, Actor(centre.receiver), second)
    centre.session.rollback()
    again = outgoing.reexport_package(army.session, Actor(army.sender), ARMY, 1, army.key)
    army.session.commit()
    assert _content(again) == _content(lost) and again["sequence"] == 1
    assert apply(centre, again).created > 0
    assert apply(centre, second).updated == 1
    assert centre.projection() == army.projection()
    assert army.count(ExchangePackage) == 2  # made again, not a third package
    assert [e for e in army.session.scalars(select(AuditEntry.object_id).where(
        AuditEntry.action == "exchange.reexport"))] == [f"{ARMY}#1"]
    with pytest.raises(NotFound):
        outgoing.reexport_package(army.session, Actor(army.sender), ARMY, 3, army.key)


def test_a_replaced_key_is_accepted_for_what_it_signed_before_the_overlap_ends(sides, tmp_path):
    army, centre = sides
    old, new = army.key, load_or_create_key(tmp_path / "army-2026.pem")
    signed_before = _export_at(army, T0, old)
    trust.register_partner(centre.session, Actor(None, "cli", T0 + dt.timedelta(hours=1)),
                           ARMY, public_pem(new), overlap=dt.timedelta(days=7))
    centre.session.commit()
    assert apply(centre, signed_before).created > 0  # signed before the end of the overlap
    late = _export_at(army, T0 + dt.timedelta(days=8), old)
    with pytest.raises(InvalidInput, match="after that key was replaced"):
        incoming.import_package(centre.session, Actor(centre.receiver), late)
    centre.session.rollback()
    # The same package, made again with the new key, is the one that comes next.
    again = _export_at(army, T0 + dt.timedelta(days=8), new, again=2)
    assert _content(again) == _content(late)
    assert apply(centre, again).already_imported is False
    assert centre.projection() == army.projection()


def test_the_receivers_signed_receipt_is_recorded_and_shown_by_the_sender(sides):
    army, centre = sides
    trust.register_partner(army.session, SYSTEM, "TTCSDL", public_pem(centre.key))
    army.session.commit()
    first, second = export(army), export(army)
    report = apply(centre, first)
    applied = incoming.receipt("TTCSDL", first, centre.key, T0, report=report)
    tampered = copy.deepcopy(second) | {"sequence": 3}
    try:
        incoming.import_package(centre.session, Actor(centre.receiver), tampered)
    except InvalidInput as error:
        refused = incoming.receipt("TTCSDL", tampered, centre.key, T0, refusal=error)
    centre.session.rollback()
    assert (refused["outcome"], refused["sequence"]) == ("refused", 3)
    forged = applied | {"conflicts": [{"type": "person", "id": 1, "problem": "x"}]}
    with pytest.raises(InvalidInput, match="signature"):
        outgoing.record_receipt(army.session, Actor(army.sender), forged)
    army.session.rollback()
    with pytest.raises(NotFound):  # the receiver speaks of a package 3 we never sent
        outgoing.record_receipt(army.session, Actor(army.sender), refused)
    army.session.rollback()
    for _twice in range(2):
        outgoing.record_receipt(army.session, Actor(army.sender), applied)
    army.session.commit()
    shown = [p.as_dict() for p in outgoing.sent_packages(army.session, Actor(army.sender), ARMY)]
    assert [(p["sequence"], p["acknowledged"]) for p in shown] == [(2, False), (1, True)]
    assert shown[1]["receipts"] == [{"receiver": "TTCSDL", "outcome": "applied",
                                     "same_content": True, "conflicts": 0,
                                     "signed_at": T0.isoformat()}]
    entry = army.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "exchange.receipt")).one()
    assert json.loads(entry.details) == {"receiver": "TTCSDL", "outcome": "applied",
                                         "conflicts": 0, "same_hash": True}


# --- the same person in both subsystems -------------------------------------------------------


def _held_at_centre(centre: Side, like: Person, name: str, document: str) -> Person:
    """A person the centre already holds (from the police subsystem, say), as the Army holds
    `like` but for the name and, unless it is theirs, the citizen identity number."""
    person = Person(full_name=name, name_key=search_key(name), given_key=given_name_key(name),
                    birth_date=like.birth_date, sex=like.sex, nationality=like.nationality,
                    place_of_origin=like.place_of_origin)
    theirs = next((i for i in like.identifiers if i.value == document), None)
    person.identifiers.append(PersonIdentifier(
        kind=IdentifierKind.CITIZEN_ID, value=document,
        issued_on=theirs.issued_on if theirs else None,
        issuing_country=theirs.issuing_country if theirs else None,
        valid_from=theirs.valid_from if theirs else dt.date(2020, 1, 1),
        valid_to=theirs.valid_to if theirs else None))
    centre.session.add(person)
    centre.session.commit()
    return person


def _citizen_id(person: Person) -> str:
    return next(i.value for i in person.identifiers if i.kind == IdentifierKind.CITIZEN_ID)


def test_a_person_known_here_by_an_identity_document_is_linked_not_duplicated(sides):
    army, centre = sides
    there = next(p for p in army.session.scalars(select(Person).order_by(Person.id))
                 if any(i.kind == IdentifierKind.CITIZEN_ID for i in p.identifiers)
                 and p.id in {e.person_id for e in army.session.scalars(
                     select(CustodyEpisode).where(
                         CustodyEpisode.facility_id.in_(army.facilities())))})
    here = _held_at_centre(centre, there, there.full_name + " Văn", _citizen_id(there))
    report = apply(centre, export(army))
    assert report.linked == 2  # the person and the document they share
    assert report.conflicts == [{
        "type": "person", "id": there.id, "version": there.version,
        "problem": f"the same as person {here.id} here (identity document), linked; these "
                   "differ and were not overwritten: full_name"}]
    centre.session.expire_all()
    holders = centre.session.scalars(select(PersonIdentifier.person_id).where(
        PersonIdentifier.value == _citizen_id(there))).all()
    assert holders == [here.id]
    army_codes = {e.facility.code for e in there.episodes
                  if e.facility_id in army.facilities()}
    assert {e.facility.code for e in here.episodes} == army_codes
    assert centre.count(Person) == len(army.projection())  # no second record of them
    assert centre.count(PersonMatch) == 0


def test_a_near_match_is_flagged_for_someone_to_confirm(sides):
    army, centre = sides
    there = _camp_person(army)
    here = _held_at_centre(centre, there, there.full_name, "999999999999")
    report = apply(centre, export(army))
    assert report.near_matches == 1 and report.linked == 0 and report.conflicts == []
    received = centre.session.get(Person, linked(centre, there.id))
    match = centre.session.scalars(select(PersonMatch)).one()
    assert (match.person_id, match.candidate_id, match.status) == (received.id, here.id, "open")


def linked(side: Side, source_id: int, kind: str = "person") -> int:
    return side.session.scalar(select(ExchangeLink.local_id).where(
        ExchangeLink.record_type == kind, ExchangeLink.source_id == source_id))


def _records_officer(centre: Side) -> Actor:
    """A records officer of the centre, which keeps the whole database."""
    return Actor(create_user(
        centre.session, SYSTEM, username="clerk.centre", full_name="Cán bộ TT",
        organisation_id=centre.session.scalar(select(Organisation.id).where(
            Organisation.code == "TTCSDL")), roles={Role.CLERK}, password="một câu đủ dài"))


def test_a_records_officer_of_the_centre_joins_a_near_match_and_the_link_follows(sides):
    army, centre = sides
    there = _camp_person(army)
    here = _held_at_centre(centre, there, there.full_name, "999999999999")
    apply(centre, export(army))
    received = centre.session.get(Person, linked(centre, there.id))
    match = centre.session.scalars(select(PersonMatch)).one()
    officer = _records_officer(centre)
    with pytest.raises(Forbidden):
        matches.decide_match(centre.session, Actor(centre.receiver), match.id, same=True,
                             reason="Đối chiếu ảnh")
    assert [m.id for m in matches.open_matches(centre.session, officer)] == [match.id]
    matches.decide_match(centre.session, officer, match.id, same=True,
                         reason="Đối chiếu ảnh và vân tay: cùng một người")
    centre.session.commit()
    centre.session.expire_all()
    army_episodes = len([e for e in there.episodes if e.facility_id in army.facilities()])
    assert (len(here.episodes), len(received.episodes), len(received.identifiers)) == (
        army_episodes, 0, 0)
    assert {i.value for i in here.identifiers} >= {"999999999999", _citizen_id(there)}
    assert linked(centre, there.id) == here.id and match.status == "same"
    with pytest.raises(Conflict):
        matches.decide_match(centre.session, officer, match.id, same=False, reason="Nhầm lẫn")
    centre.session.rollback()
    # The Army's next change to that person lands on the joined record, not as a conflict.
    corrections.correct(army.session, _army_clerk(army), "person", there.id,
                        {"place_of_origin": "Nghệ An"}, reason="Sửa quê quán",
                        expected_version=there.version)
    army.session.commit()
    assert apply(centre, export(army)).conflicts == []
    centre.session.expire_all()
    assert here.place_of_origin == "Nghệ An"
    assert centre.session.scalars(select(AuditEntry.action).where(
        AuditEntry.person_id == here.id, AuditEntry.action == "exchange.match")).all() == [
        "exchange.match"]


def test_a_record_joined_to_another_is_neither_found_nor_counted_apart_and_points_to_it(sides):
    army, centre = sides
    there = _camp_person(army)
    here = _held_at_centre(centre, there, there.full_name, "999999999999")
    apply(centre, export(army))
    received = centre.session.get(Person, linked(centre, there.id))
    officer = _records_officer(centre)
    day = received.episodes[0].start_date
    scope = management_scope(centre.session, officer.user.organisation, day)

    def found() -> set[int]:
        hits = search.search_persons(centre.session, officer, there.full_name, there.birth_date)
        return {hit.person_id for hit in hits.hits}

    def held() -> int:
        return statistics.population(centre.session, scope, day,
                                     disclosure.exact_control()).total

    assert found() == {here.id, received.id}
    counted = held()
    held_by_them = {e.id for e in received.episodes}
    match = centre.session.scalars(select(PersonMatch)).one()
    matches.decide_match(centre.session, officer, match.id, same=True,
                         reason="Đối chiếu ảnh và vân tay: cùng một người")
    centre.session.commit()
    centre.session.expire_all()
    assert found() == {here.id}
    assert held() == counted
    assert {e.id for e in here.episodes} == held_by_them and received.episodes == []
    assert _citizen_id(there) in {i.value for i in here.identifiers}
    assert received.merged_into_id == here.id and received.full_name == there.full_name
    page = persons.view_person(centre.session, officer, received.id, ReadPurpose("keeping"))
    assert (page.person.merged_into_id, page.can_write) == (here.id, False)
    assert page.creations  # its history stays with it
    # Never joined twice, nor to a record itself joined elsewhere.
    again = PersonMatch(source=ARMY, source_id=there.id, person_id=here.id,
                        candidate_id=received.id, found_at=T0)
    centre.session.add(again)
    centre.session.commit()
    with pytest.raises(Conflict, match="joined to another"):
        matches.decide_match(centre.session, officer, again.id, same=True, reason="Nhầm lẫn")
