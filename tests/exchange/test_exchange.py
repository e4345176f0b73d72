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

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from tests.conftest import PG_URL, _copy_of, _pg
from workflow.audit.checkpoints import load_or_create_key, public_pem
from workflow.context import SYSTEM, Actor
from workflow.db import make_engine, make_session_factory
from workflow.enums import Role
from workflow.errors import Conflict, Forbidden, InvalidInput
from workflow.exchange import feeds, incoming, outgoing, trust, wire
from workflow.models import (
    AuditEntry,
    Case,
    CustodyEpisode,
    ExchangeLink,
    ExchangePackage,
    Organisation,
    Person,
    RecordVersion,
    User,
)
from workflow.organisations.scope import management_scope
from workflow.organisations.tree import build_tree
from workflow.records import corrections
from workflow.records import episodes as records_episodes
from workflow.records.enums import EventKind
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
