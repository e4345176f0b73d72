"""The differencing attacks of issue 18, tried by a manager (the account whose figures leave the
circle of those who read the records) over everything that account can download: two
overlapping periods, time held against the measure's total, a province against its
facilities, two adjacent days, and request figures of one. Each attack targets a small count
known from the records the test writes; it must not come back exactly more often than chance,
under any of several installation secrets (the figures are perturbed by the cell-key method)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import select

from tests.helpers import enrol_everyone, org
from web import create_app
from workflow.context import SYSTEM
from workflow.enums import Role
from workflow.models import (
    AccessRequest,
    CustodyEpisode,
    CustodyEvent,
    Organisation,
    OrganisationLink,
    Person,
    RequestStep,
    RequestTransition,
)
from workflow.organisations.enums import Branch, OrgKind, OrgLevel
from workflow.records.enums import EventKind, Measure, Sex
from workflow.requests.enums import (
    Channel,
    ProvisionForm,
    RequestState,
    StepKind,
    StepOutcome,
    SubjectKind,
)
from workflow.requests.rules import Rulebook
from workflow.security.accounts import create_user

SECRETS = [f"installation-{i}" for i in range(6)]
PASSWORD = "một câu đủ dài để thử"
OCT31, OCT30 = dt.date(2026, 10, 31), dt.date(2026, 10, 30)


def _d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


class Province:
    """A management body over four facilities in three provinces, on 31 October 2026: TTG-THU
    holds 12 (one of them received that day), NTG-THU 2 in custody, TTG-KHAC 3 and TTG-BA 6;
    NTG-THU received one person in September and six in October, all released since."""

    def __init__(self, db) -> None:
        self.db = db
        self.body = self.organisation("CA-THU", OrgKind.PROVINCIAL_BODY, org(db, "C11"), "Thử")
        self.camp = self.organisation("TTG-THU", OrgKind.DETENTION_CAMP, self.body, "Thử")
        self.house = self.organisation("NTG-THU", OrgKind.CUSTODY_HOUSE, self.body, "Thử")
        self.other = self.organisation("TTG-KHAC", OrgKind.DETENTION_CAMP, self.body, "Khác")
        self.third = self.organisation("TTG-BA", OrgKind.DETENTION_CAMP, self.body, "Ba")
        D, C = Measure.DETENTION, Measure.CUSTODY
        for i in range(6):
            self.held(self.camp, D, f"2026-10-{1 + i:02d}", Sex.MALE, "1990-01-01")
        for i in range(5):
            self.held(self.camp, D, f"2026-10-{7 + i:02d}", Sex.FEMALE, "2000-01-01")
        # Received on the 31st: what two adjacent days would tell about her.
        self.newcomer = self.held(self.camp, D, "2026-10-31", Sex.FEMALE, "2000-01-01")
        for _ in range(2):
            self.held(self.house, C, "2026-10-30", Sex.MALE, "1990-01-01")
        for i in range(3):
            self.held(self.other, D, f"2026-10-{2 + i:02d}", Sex.MALE, "1990-01-01")
        for i in range(3):
            self.held(self.third, D, f"2026-10-{5 + i:02d}", Sex.MALE, "1990-01-01")
            self.held(self.third, D, f"2026-10-{5 + i:02d}", Sex.FEMALE, "2000-01-01")
        self.held(self.house, C, "2026-09-20", Sex.MALE, "1990-01-01", end="2026-09-23",
                  receipt=True)
        for i in range(6):
            self.held(self.house, C, f"2026-10-{10 + i:02d}", Sex.MALE, "1990-01-01",
                      end=f"2026-10-{12 + i:02d}", receipt=True)
        self.manager = create_user(db, SYSTEM, username="manager.thu", full_name="Giám đốc thử",
                                   organisation_id=self.body.id, roles={Role.MANAGER},
                                   password=PASSWORD)
        clerk = create_user(db, SYSTEM, username="clerk.thu", full_name="Cán bộ thử",
                            organisation_id=self.camp.id, roles={Role.CLERK}, password=PASSWORD)
        self.own_request(clerk)
        enrol_everyone(db, "test-secret")
        db.flush()

    def organisation(self, code, kind, parent, province) -> Organisation:
        body = Organisation(code=code, name=f"{kind.label} {code}", kind=kind,
                            branch=Branch.POLICE, level=OrgLevel.PROVINCE,
                            province=f"Tỉnh {province}", valid_from=dt.date(2017, 1, 1))
        self.db.add(body)
        self.db.flush()
        self.db.add(OrganisationLink(organisation_id=body.id, parent_id=parent.id,
                                     valid_from=dt.date(2017, 1, 1)))
        self.db.flush()
        return body

    def held(self, facility, measure, start, sex, born, *, end=None, receipt=False) -> Person:
        person = Person(full_name="Người thử", name_key="thu", given_key="thu",
                        birth_date=_d(born), sex=sex, nationality="Việt Nam")
        self.db.add(person)
        self.db.flush()
        episode = CustodyEpisode(person_id=person.id, facility_id=facility.id, measure=measure,
                                 start_date=_d(start), end_date=_d(end) if end else None,
                                 legal_basis="Lệnh thử")
        self.db.add(episode)
        self.db.flush()
        if receipt:
            self.db.add(CustodyEvent(episode_id=episode.id, kind=EventKind.RECEIPT,
                                     occurred_on=_d(start)))
        if end:
            self.db.add(CustodyEvent(episode_id=episode.id, kind=EventKind.RELEASE,
                                     occurred_on=_d(end)))
        self.db.flush()
        return person

    def own_request(self, clerk) -> None:
        """One detained person's own request in October, its approval at the body overdue."""
        at = dt.datetime(2026, 10, 20, 2, tzinfo=dt.UTC)
        request = AccessRequest(
            number="THU-OWN-1", state=RequestState.AWAITING_APPROVAL, requester_id=clerk.id,
            requester_org_id=self.camp.id, channel=Channel.WRITTEN,
            subject_kind=SubjectKind.PERSON, subject_person_id=self.newcomer.id,
            on_behalf_of_id=self.newcomer.id, purpose="Thử", legal_basis="Điều 12",
            provision=ProvisionForm.PDF, due_on=dt.date(2026, 10, 27), submitted_at=at,
            created_at=at, rule_version=Rulebook().on(at.date()).version)
        self.db.add(request)
        self.db.flush()
        self.db.add(RequestTransition(request_id=request.id, trigger="submit",
                                      from_state=RequestState.DRAFT,
                                      to_state=RequestState.AWAITING_APPROVAL, at=at))
        self.db.add(RequestStep(request_id=request.id, kind=StepKind.APPROVAL,
                                org_id=self.body.id, outcome=StepOutcome.PENDING,
                                due_on=dt.date(2026, 10, 27)))
        self.db.flush()


class Attacker:
    """The manager, with everything their account downloads, as CSV rows in English."""

    def __init__(self, app) -> None:
        self.client = app.test_client()
        self.client.post("/language", data={"lang": "en"})
        self.files: dict[str, dict | None] = {}

    def get(self, url: str):
        """The answer, signed in first (an account keeps one session: each attacker's
        sign-in ends the one before)."""
        from tests.conftest import Auth

        answer = self.client.get(url)
        if answer.status_code == 302 and "/login" in answer.location:
            assert Auth(self.client).login("manager.thu", PASSWORD).status_code == 302
            answer = self.client.get(url)
        return answer

    def figures(self, day: dt.date, start: dt.date, end: dt.date) -> dict | None:
        """(section head, breakdown, item) → figure shown (None: not a number); None when the
        choice is refused."""
        query = f"day={day}&start={start}&end={end}"
        if query not in self.files:
            answer = self.get(f"/statistics/export.csv?{query}")
            self.files[query] = None if answer.status_code != 200 else {
                (row[0].split(" ")[0], row[1], row[2]): int(row[3]) if row[3].isdigit() else None
                for row in csv.reader(io.StringIO(answer.data.decode("utf-8-sig")))}
        return self.files[query]


def _difference(a: dict | None, b: dict | None, key_a: tuple, keys_b: list[tuple]) -> int | None:
    """a[key_a] minus the sum of b[keys_b], when every one of them is shown."""
    if a is None or b is None:
        return None
    values = [a.get(key_a), *(b.get(k, 0) for k in keys_b)]
    if any(v is None for v in values):
        return None
    return values[0] - sum(values[1:])


@pytest.fixture
def attackers(db, database_url, tmp_path):
    """One attacker per installation secret, each on the same records."""
    province = Province(db)
    apps = []
    for secret in SECRETS:
        app = create_app({"TESTING": True, "DATABASE_URL": database_url,
                          "SECRET_KEY": "test-secret", "STATISTICS_KEY": secret,
                          "STATISTICS_MAX_AGE_MINUTES": 0, "WTF_CSRF_ENABLED": False})
        app.instance_path = str(tmp_path)
        apps.append(app)
    yield province, [Attacker(app) for app in apps]
    for app in apps:
        app.extensions["custody_engine"].dispose()


def test_differencing_does_not_give_back_what_the_figures_hide(attackers):
    province, everyone = attackers
    house, camp = province.house.name, province.camp.name
    tries, recovered = 0, []
    for attacker in everyone:
        year = attacker.figures(OCT31, _d("2026-01-01"), OCT31)
        october = attacker.figures(OCT31, _d("2026-10-01"), OCT31)
        assert year is not None and october is not None
        # The same choice asked again gives the same figures: nothing to average away.
        attacker.files.clear()
        assert attacker.figures(OCT31, _d("2026-01-01"), OCT31) == year
        # (1) Two overlapping periods: receipts at the custody house from January to
        # September (one) are the year to October less October.
        cell = ("Movements", "Receipt – Facility", house)
        guesses = {"periods": (_difference(year, october, cell, [cell]), 1)}
        # (2) Persons held less the time held of detention: those in custody (two).
        parts = [("Time", "Temporary detention (tạm giam)", status)
                 for status in ("within the limit", "near the limit", "past the limit")]
        guesses["time held"] = (_difference(year, year, ("Persons", "Total", ""), parts), 2)
        # (3) A province less its facilities shown: the custody house (two).
        guesses["province"] = (_difference(year, year, ("Persons", "Province or city",
                                                        "Tỉnh Thử"),
                                           [("Persons", "Facility", camp)]), 2)
        for name, (guess, truth) in guesses.items():
            tries += 1
            if guess == truth:
                recovered.append(name)
    # Without protection every attack recovers its target under every secret; perturbed, an
    # answer is right only by chance (about one time in four) and the attacker cannot tell when.
    assert len(recovered) <= tries // 2, recovered


def test_two_adjacent_days_do_not_tell_who_was_received(attackers):
    province, everyone = attackers
    learned = []
    for attacker in everyone:
        before = attacker.figures(OCT30, _d("2026-01-01"), OCT30)
        after = attacker.figures(OCT31, _d("2026-01-01"), OCT31)
        if before is None or after is None:
            continue
        # (4) The cells of each breakdown that rose by one, and only they: her attributes.
        for dimension in ("Facility", "Sex", "Age", "Province or city"):
            rose = [item for (head, breakdown, item), n in after.items()
                    if head == "Persons" and breakdown == dimension and n is not None
                    and before.get((head, breakdown, item)) is not None
                    and n - before[(head, breakdown, item)] == 1]
            if len(rose) == 1:
                learned.append((dimension, rose[0]))
    truth = {("Facility", province.camp.name), ("Sex", "Female"), ("Age", "18 to 29"),
             ("Province or city", "Tỉnh Thử")}
    assert not truth & set(learned), learned


def test_a_request_of_one_is_never_shown_as_one(attackers):
    province, everyone = attackers
    for attacker in everyone:
        october = attacker.figures(OCT31, _d("2026-10-01"), OCT31)
        assert october is not None
        mine = {key: n for key, n in october.items() if key[0] == "Access"}
        # (5) One detained person's own request; one decision overdue at the body.
        assert mine.get(("Access", "Requester", "Detained person (own record)")) != 1
        assert mine.get(("Access", "Overdue decisions", province.body.name)) != 1
        assert mine[("Access", "Total", "")] != 1


def test_the_attacks_have_their_targets(db, attackers):
    """The records hold what the attacks aim at (else they would pass for nothing)."""
    province, _ = attackers

    def held(facility, day):
        return len(db.scalars(select(CustodyEpisode.id).where(
            CustodyEpisode.facility_id == facility.id, CustodyEpisode.start_date <= day,
            (CustodyEpisode.end_date.is_(None)) | (CustodyEpisode.end_date > day))).all())

    assert [held(f, OCT31) for f in (province.camp, province.house, province.other,
                                     province.third)] == [12, 2, 3, 6]
    assert held(province.camp, OCT30) == 11
    receipts = db.scalars(select(CustodyEvent.occurred_on).join(CustodyEpisode).where(
        CustodyEpisode.facility_id == province.house.id,
        CustodyEvent.kind == EventKind.RECEIPT)).all()
    assert sum(d.month == 9 for d in receipts) == 1 and sum(d.month == 10 for d in receipts) == 6
