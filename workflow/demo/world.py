"""Deterministic demo data: the organisation tree, one user per role, and persons with their
episodes, events, cases and documents, spread over both branches and every province."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from workflow.audit import chain as audit
from workflow.context import Actor
from workflow.documents.enums import Authority
from workflow.enums import Role, Secrecy
from workflow.errors import Conflict
from workflow.models import (
    Case,
    CaseStageEntry,
    CustodyEpisode,
    CustodyEvent,
    Organisation,
    Person,
    PersonIdentifier,
    RecordDocument,
    RecordVersion,
    User,
)
from workflow.names import given_name_key, search_key
from workflow.organisations.communes import load_communes
from workflow.organisations.enums import OrgKind
from workflow.records.enums import (
    CaseStage,
    DocumentCategory,
    EventKind,
    IdentifierKind,
    Measure,
    Sex,
)
from workflow.security import accounts, kiosk

if TYPE_CHECKING:
    from workflow.documents.issuing import ExtractSettings
from workflow.organisations.tree import PROVINCES, build_tree, province_slug

FAMILY = [("Nguyễn", 38), ("Trần", 11), ("Lê", 9), ("Phạm", 7), ("Hoàng", 4), ("Huỳnh", 2),
          ("Phan", 4), ("Vũ", 3), ("Võ", 2), ("Đặng", 2), ("Bùi", 2), ("Đỗ", 1), ("Hồ", 1),
          ("Ngô", 1), ("Dương", 1), ("Lý", 1), ("Đinh", 1), ("Trương", 1)]
MIDDLE = {Sex.MALE: ["Văn", "Hữu", "Đức", "Minh", "Quang", "Thanh", "Công", "Xuân", "Ngọc",
                     "Tuấn", "Đình", "Quốc"],
          Sex.FEMALE: ["Thị", "Ngọc", "Thu", "Thanh", "Kim", "Hồng", "Thị", "Mỹ", "Phương"]}
GIVEN = {Sex.MALE: ["An", "Bình", "Cường", "Dũng", "Đạt", "Hải", "Hùng", "Hưng", "Khánh", "Long",
                    "Minh", "Nam", "Phong", "Quân", "Sơn", "Thắng", "Tuấn", "Việt", "Hoàng",
                    "Trung", "Đông", "Lâm", "Kiên", "Tài", "Huy", "Toàn", "Lực", "Thành"],
         Sex.FEMALE: ["Anh", "Chi", "Dung", "Hà", "Hằng", "Hoa", "Hương", "Lan", "Linh", "Mai",
                      "Ngọc", "Nhung", "Phương", "Thảo", "Trang", "Yến", "Hạnh", "Vân"]}
FOREIGN = [("Trung Quốc", "E"), ("Lào", "P"), ("Campuchia", "N"), ("Hàn Quốc", "M")]
CHARGES = ["Điều 168 BLHS - Tội cướp tài sản", "Điều 173 BLHS - Tội trộm cắp tài sản",
           "Điều 174 BLHS - Tội lừa đảo chiếm đoạt tài sản", "Điều 249 BLHS - Tội tàng trữ "
           "trái phép chất ma túy", "Điều 251 BLHS - Tội mua bán trái phép chất ma túy",
           "Điều 134 BLHS - Tội cố ý gây thương tích", "Điều 260 BLHS - Tội vi phạm quy định về "
           "tham gia giao thông đường bộ", "Điều 321 BLHS - Tội đánh bạc",
           "Điều 353 BLHS - Tội tham ô tài sản", "Điều 188 BLHS - Tội buôn lậu"]
TODAY = dt.date(2026, 11, 24)
START = dt.date(2018, 1, 1)


@dataclass(frozen=True)
class DemoAccount:
    """A demo user: one per role, at a body where that role makes sense."""

    username: str
    role: Role
    org_code: str
    full_name: str
    clearance: Secrecy = Secrecy.NONE
    position: str | None = None  # as the signature block prints it
    signs_as: Authority | None = None

    @property
    def password(self) -> str:
        """The demo password, printed by `make run`."""
        return f"{self.username}#2026"


DEMO_ACCOUNTS = [
    DemoAccount("admin", Role.ADMIN, "TTCSDL", "Quản trị viên Trung tâm CSDL"),
    DemoAccount("inspector", Role.INSPECTOR, "TTCSDL", "Thanh tra viên Nguyễn Minh Tâm"),
    DemoAccount("clerk.hanoi", Role.CLERK, "TTG-HANOI", "Cán bộ hồ sơ Lê Thu Hà",
                Secrecy.CONFIDENTIAL),
    DemoAccount("clerk.ntg", Role.CLERK, "NTG-HANOI-1", "Cán bộ hồ sơ Phạm Văn Khoa"),
    DemoAccount("clerk.hcm", Role.CLERK, "TTG-HOCHIMINH", "Cán bộ hồ sơ Trần Ngọc Lan"),
    DemoAccount("approver.hanoi", Role.APPROVER, "CA-HANOI", "Thượng tá Đỗ Quang Huy",
                Secrecy.SECRET, "Phó Giám đốc", Authority.DEPUTY),
    DemoAccount("requester.vks", Role.REQUESTER, "VKS-HANOI", "Kiểm sát viên Vũ Thị Mai"),
    DemoAccount("consent.hanoi", Role.CONSENT_OFFICER, "CSDT-HANOI", "Thượng tá Bùi Đức Anh",
                position="Phó Thủ trưởng", signs_as=Authority.DEPUTY),
    DemoAccount("manager.hanoi", Role.MANAGER, "CA-HANOI", "Đại tá Trịnh Văn Nam"),
    DemoAccount("manager.central", Role.MANAGER, "TTCSDL", "Giám đốc Trung tâm Hoàng Minh Đức"),
    # Commune police manage persons under residence restriction (Law 128/2025).
    DemoAccount("clerk.commune", Role.CLERK, "CAX-HANOI-BADINH", "Thượng úy Ngô Văn Sơn"),
    DemoAccount("clerk.hoankiem", Role.CLERK, "CAX-HANOI-HOANKIEM", "Trung úy Lý Thị Hằng"),
]
# Persons under residence restriction the demo adds, beyond the persons held it is asked for.
RESTRICTED_PERSONS = 3
# The demo's commune police (`custody load-communes` loads a national file the same way).
COMMUNES_FILE = Path(__file__).with_name("communes.csv")
DETAINEE_ACCOUNT = DemoAccount("detainee.demo", Role.DETAINEE, "TTG-HANOI", "")
REQUEST_PLANS = ("awaiting", "approved", "refused", "returned", "released", "awaiting")
# Persons the demo needs at the Hà Nội camp and never elsewhere: one for each of the
# procuracy's requests, and one more in case the kiosk's detainee (held there today, whom the
# outside requesters act for) is among them.
HELD_AT_CAMP = 1 + len(REQUEST_PLANS)
# Requesters outside the state (Art. 12 §3b), vouched for by the Hà Nội camp's clerk, who also
# recorded that both act for the kiosk's detained person: a defence lawyer of a law firm and a
# relative with the person's written authorisation.
LAW_FIRM_NAME = "Công ty Luật TNHH Minh Chính"
OUTSIDE_ACCOUNTS = [
    DemoAccount("lawyer.demo", Role.REQUESTER, LAW_FIRM_NAME, "Luật sư Trần Minh Chính"),
    DemoAccount("relative.demo", Role.REQUESTER, "Cá nhân", "Nguyễn Thị Hoa"),
]
# The demo detainee's kiosk PIN (a real PIN is random, issued by a clerk and shown once).
DEMO_KIOSK_PIN = "271017"
# The demo official who signs with a token of their own (`custody demo` enrols it where SoftHSM2
# is installed), and its PIN: the others' decisions carry the seal alone.
DEMO_SIGNER = "approver.hanoi"
DEMO_SIGNING_PIN = "246810"


def _weighted(rng: random.Random, pairs: list[tuple[str, int]]) -> str:
    return rng.choices([p for p, _ in pairs], weights=[w for _, w in pairs])[0]


def _date_between(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randint(0, max(0, (end - start).days)))


class _Ids:
    """Hands out primary keys after the highest one in each table (loads can be appended)."""

    def __init__(self, session: Session) -> None:
        self.next = {
            model: (session.scalar(select(func.max(model.id))) or 0) + 1
            for model in (Person, PersonIdentifier, CustodyEpisode, CustodyEvent, Case,
                          CaseStageEntry, RecordDocument, RecordVersion)
        }

    def __call__(self, model) -> int:
        value = self.next[model]
        self.next[model] = value + 1
        return value


class _Batch:
    """Rows waiting to be inserted in bulk, with their first version where the model has one."""

    def __init__(self, session: Session, ids: _Ids, now: dt.datetime, versions: bool) -> None:
        self.session, self.ids, self.now, self.versions = session, ids, now, versions
        self.rows: dict[type, list[dict]] = {}

    def add(self, model, row: dict, person_id: int | None = None) -> dict:
        row.setdefault("id", self.ids(model))
        if model is Person:
            person_id = row["id"]
        if model is not CaseStageEntry and model is not RecordVersion:
            row.setdefault("version", 1)
            row.setdefault("created_at", self.now)
            if self.versions:
                content = {k: v.isoformat() if isinstance(v, dt.date) else v
                           for k, v in row.items()
                           if k not in {"version", "created_at", "created_by_id", "name_key",
                                        "given_key"}}
                self.add(RecordVersion, {
                    "record_type": model.record_type, "record_id": row["id"], "version": 1,
                    "person_id": person_id,
                    "data": json.dumps(content, ensure_ascii=False, sort_keys=True),
                    "reason": None, "changed_at": self.now, "changed_by_id": None})
        self.rows.setdefault(model, []).append(row)
        return row

    def flush(self) -> None:
        order = (Case, CaseStageEntry, Person, PersonIdentifier, CustodyEpisode, CustodyEvent,
                 RecordDocument, RecordVersion)
        for model in order:
            rows = self.rows.pop(model, [])
            if rows:
                self.session.execute(insert(model), rows)
        self.rows.clear()


def sync_sequences(session: Session) -> None:
    """After loading with explicit keys, move PostgreSQL's sequences past them."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for model in (Person, PersonIdentifier, CustodyEpisode, CustodyEvent, Case, CaseStageEntry,
                  RecordDocument, RecordVersion):
        table = model.__tablename__
        session.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
            f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"))


class PersonFactory:
    """Makes one person after another, with everything a record file holds."""

    def __init__(self, session: Session, seed: int, details: bool) -> None:
        self.rng = random.Random(seed)
        self.details = details
        facilities = session.execute(
            select(Organisation).where(
                Organisation.kind.in_([OrgKind.DETENTION_CAMP, OrgKind.CUSTODY_HOUSE,
                                       OrgKind.BORDER_CUSTODY_ROOM]))
            .order_by(Organisation.code)).scalars().all()
        weight = {OrgKind.DETENTION_CAMP: 6, OrgKind.CUSTODY_HOUSE: 2,
                  OrgKind.BORDER_CUSTODY_ROOM: 1}
        self.facilities = list(facilities)
        self.weights = [weight[f.kind] * (4 if f.code.endswith("HANOI") else 1)
                        for f in facilities]
        orgs = {o.code: o.id for o in session.execute(select(Organisation)).scalars()}
        self.orgs = orgs
        self.place_codes = {name: code for _p, name, code in PROVINCES}
        self.open_cases: list[dict] = []
        # By facility id: persons held there today, and persons never held anywhere else.
        self.held_at: Counter[int] = Counter()
        self.only_at: Counter[int] = Counter()

    def handlers(self, facility: Organisation) -> dict[CaseStage, int]:
        """The investigation agency, procuracy and court that handle cases from a facility."""
        if facility.branch.value == "qdnd":
            codes = ("QP-CQDT", "VKSQS-TW", "TAQS-TW")
        else:
            s = province_slug(facility.province) if facility.province else "HANOI"
            codes = (f"CSDT-{s}", f"VKS-{s}", f"TA-{s}")
        return dict(zip((CaseStage.INVESTIGATION, CaseStage.PROSECUTION, CaseStage.TRIAL),
                        (self.orgs[c] for c in codes), strict=True))

    def case_for(self, batch: _Batch, facility: Organisation, start: dt.date) -> int:
        """A case for an episode: often an open case of the same facility (co-accused)."""
        rng = self.rng
        same = [c for c in self.open_cases if c["facility"] == facility.id]
        if same and rng.random() < 0.3:
            return same[-1]["id"]
        opened = start - dt.timedelta(days=rng.randint(0, 20))
        case = batch.add(Case, {"number": f"{rng.randint(1, 999)}/{opened.year}/VA-"
                                          f"{batch.ids.next[Case]:06d}",
                                "title": f"Vụ án {rng.choice(CHARGES).split(' - ')[1].lower()}",
                                "charges": rng.choice(CHARGES), "opened_on": opened})
        handlers = self.handlers(facility)
        day, stages = opened, [CaseStage.INVESTIGATION, CaseStage.PROSECUTION, CaseStage.TRIAL]
        for stage in stages:
            batch.add(CaseStageEntry, {"case_id": case["id"], "stage": stage.value,
                                       "handling_org_id": handlers[stage], "from_date": day,
                                       "recorded_at": batch.now})
            day += dt.timedelta(days=rng.randint(60, 240))
            if day > TODAY:
                break
        else:
            final = CaseStage.ENFORCEMENT if rng.random() < 0.8 else CaseStage.CLOSED
            batch.add(CaseStageEntry, {"case_id": case["id"], "stage": final.value,
                                       "handling_org_id": None, "from_date": day,
                                       "recorded_at": batch.now})
        self.open_cases = (self.open_cases + [{"id": case["id"], "facility": facility.id}])[-50:]
        return case["id"]

    def person(self, batch: _Batch, held_at: Organisation | None = None) -> dict:
        """Add one person with identifiers, episodes, events and documents to the batch; with
        `held_at`, an adult held there today, received there within the last weeks."""
        rng = self.rng
        sex = Sex.MALE if rng.random() < 0.88 else Sex.FEMALE
        name = f"{_weighted(rng, FAMILY)} {rng.choice(MIDDLE[sex])} {rng.choice(GIVEN[sex])}"
        born_by = dt.date(2000, 12, 31) if held_at else dt.date(2008, 6, 30)
        birth = _date_between(rng, dt.date(1955, 1, 1), born_by)
        facility = held_at or rng.choices(self.facilities, weights=self.weights)[0]
        foreign = rng.random() < 0.03
        nationality, letter = rng.choice(FOREIGN) if foreign else ("Việt Nam", "")
        person = batch.add(Person, {
            "full_name": name, "name_key": search_key(name), "given_key": given_name_key(name),
            "birth_date": birth, "sex": sex.value, "nationality": nationality,
            "place_of_origin": None if foreign else f"{facility.province or 'Hà Nội'}"})
        pid = person["id"]
        self.identifiers(batch, pid, birth, sex, foreign, letter, facility)
        episodes = 1 if held_at else 2 if rng.random() < 0.15 else 1
        last_end = max(START, birth + dt.timedelta(days=365 * 18))
        if held_at:  # received within the last 50 days: shorter than any stay at a camp
            last_end = max(last_end, TODAY - dt.timedelta(days=50))
        places: list[int] = []
        for n in range(episodes):
            if last_end >= TODAY - dt.timedelta(days=30):
                break
            final = n == episodes - 1
            where = facility if final else rng.choices(self.facilities, weights=self.weights)[0]
            places.append(where.id)
            last_end = self.episode(batch, pid, where, last_end, final)
        if places and last_end == TODAY:  # the last episode is open
            self.held_at[places[-1]] += 1
        if len(set(places)) == 1:
            self.only_at[places[0]] += 1
        return person

    def identifiers(self, batch, pid, birth, sex, foreign, letter, facility) -> None:
        rng = self.rng
        if foreign:
            batch.add(PersonIdentifier, {
                "person_id": pid, "kind": IdentifierKind.PASSPORT.value,
                "value": f"{letter}{(pid * 7919) % 10**8:08d}", "issued_on": None,
                "issuing_country": None, "valid_from": START, "valid_to": None}, pid)
            return
        century = (0 if birth.year < 2000 else 2) + (0 if sex is Sex.MALE else 1)
        place = self.place_codes.get(facility.province or "", 1)
        cccd = f"{place:03d}{century}{birth.year % 100:02d}{(pid * 7919) % 10**6:06d}"
        issued = _date_between(rng, dt.date(2021, 1, 1), dt.date(2024, 6, 30))
        if birth.year < 1990 and rng.random() < 0.5:
            batch.add(PersonIdentifier, {
                "person_id": pid, "kind": IdentifierKind.OLD_ID_CARD.value,
                "value": f"{(pid * 104729) % 10**9:09d}", "issued_on": None,
                "issuing_country": None, "valid_from": START, "valid_to": issued}, pid)
        batch.add(PersonIdentifier, {
            "person_id": pid, "kind": IdentifierKind.CITIZEN_ID.value,
            "value": cccd, "issued_on": issued, "issuing_country": None,
            "valid_from": issued, "valid_to": None}, pid)

    def episode(self, batch, pid, facility, after: dt.date, final: bool) -> dt.date:
        rng = self.rng
        start = _date_between(rng, after, TODAY - dt.timedelta(days=1))
        camp = facility.kind is OrgKind.DETENTION_CAMP
        measure = Measure.DETENTION if camp else Measure.CUSTODY
        length = rng.randint(60, 420) if camp else rng.randint(3, 9)
        end: dt.date | None = start + dt.timedelta(days=length)
        if end is not None and end >= TODAY:
            end = None
        case_id = self.case_for(batch, facility, start)
        basis = (f"Lệnh tạm giam số {rng.randint(1, 999)}/LTG" if camp
                 else f"Quyết định tạm giữ số {rng.randint(1, 999)}/QĐ-TG")
        ep = batch.add(CustodyEpisode, {
            "person_id": pid, "facility_id": facility.id, "measure": measure.value,
            "start_date": start, "end_date": end, "legal_basis": basis, "case_id": case_id}, pid)
        if not self.details:
            return end or TODAY
        self.events(batch, pid, ep, camp)
        self.documents(batch, pid, ep, camp)
        return end or TODAY

    def events(self, batch, pid, ep, camp) -> None:
        rng = self.rng
        start, end = ep["start_date"], ep["end_date"]

        def event(kind: EventKind, day: dt.date, note: str | None = None, other=None) -> None:
            batch.add(CustodyEvent, {"episode_id": ep["id"], "kind": kind.value,
                                     "occurred_on": day, "note": note, "document_number": None,
                                     "other_facility_id": other}, pid)

        event(EventKind.RECEIPT, start, "Tiếp nhận theo lệnh")
        if camp:
            event(EventKind.PROCURACY_APPROVAL, start + dt.timedelta(days=1))
        horizon = end or TODAY
        for _ in range(rng.randint(0, 3)):
            kind = rng.choice([EventKind.VISIT, EventKind.VISIT, EventKind.EXTENSION,
                               EventKind.EXTRACTION, EventKind.DISCIPLINE,
                               EventKind.COMPLAINT_FORWARDED])
            event(kind, _date_between(rng, start, horizon))
        if end is not None:
            roll = rng.random()
            if roll < 0.005:
                event(EventKind.DEATH, end, "Chết trong thời gian tạm giam")
            elif roll < 0.08:
                other = rng.choice(self.facilities).id
                if other != ep["facility_id"]:
                    event(EventKind.TRANSFER, end, None, other)
                else:
                    event(EventKind.RELEASE, end)
            elif roll < 0.5 and camp:
                event(EventKind.HANDOVER_FOR_SENTENCE, end)
            else:
                event(EventKind.RELEASE, end)

    def documents(self, batch, pid, ep, camp) -> None:
        rng = self.rng
        start = ep["start_date"]
        items = [(DocumentCategory.ORDERS, "Lệnh tạm giam" if camp else "Quyết định tạm giữ"),
                 (DocumentCategory.HANDOVER, "Biên bản giao nhận người bị tạm giữ, tạm giam"),
                 (DocumentCategory.IDENTITY, "Danh bản, chỉ bản")]
        if rng.random() < 0.3:
            items.append((DocumentCategory.IDENTITY, "Hồ sơ sức khỏe, khám chữa bệnh"))
        for category, title in items:
            roll = rng.random()
            secrecy = (Secrecy.SECRET if roll < 0.02 else Secrecy.CONFIDENTIAL if roll < 0.12
                       else Secrecy.NONE)
            batch.add(RecordDocument, {
                "person_id": pid, "episode_id": ep["id"], "category": category.value,
                "title": title, "number": f"{rng.randint(1, 999)}/{start.year}",
                "issued_on": start, "issuer": "Cơ quan có thẩm quyền", "secrecy": secrecy.value,
                "summary": None}, pid)


def generate_persons(
    session: Session, count: int, seed: int, *, details: bool = True, chunk: int = 2000,
    held_at: str | None = None, held: int = 0,
) -> Iterator[int]:
    """Insert `count` persons in chunks; yields how many are in after each chunk. Of them (or
    all, if fewer), at least one is held today at the facility `held_at` and at least `held`
    were never held anywhere else: the last ones are placed there when the random draw has not
    put enough."""
    factory = PersonFactory(session, seed, details)
    camp = next((f for f in factory.facilities if f.code == held_at), None)
    if held and camp is None:
        raise ValueError(f"no facility {held_at} to hold demo persons at")
    ids, now = _Ids(session), dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)
    done = 0
    while done < count:
        batch = _Batch(session, ids, now, versions=details)
        for n in range(min(chunk, count - done)):
            short = max(held - factory.only_at[camp.id],
                        1 - factory.held_at[camp.id]) if camp else 0
            factory.person(batch, camp if short >= count - done - n else None)
        batch.flush()
        done += min(chunk, count - done)
        yield done
    sync_sequences(session)


def load_demo(session: Session, actor: Actor, persons: int = 3000, seed: int = 2017,
              details: bool = True, documents: ExtractSettings | None = None) -> dict:
    """Load the whole demo set into an empty database; returns what was created. Without
    `details`, persons get identifiers and episodes only (for large benchmark loads)."""
    if session.scalar(select(func.count()).select_from(Person)):
        raise Conflict("The database already holds records; demo data goes into an empty one.")
    if not session.scalar(select(func.count()).select_from(Organisation)):
        build_tree(session)
    load_communes(session, actor, COMMUNES_FILE.read_text(encoding="utf-8"), COMMUNES_FILE.name)
    for _ in generate_persons(session, persons, seed, details=details,
                              held_at=DETAINEE_ACCOUNT.org_code, held=HELD_AT_CAMP):
        pass
    orgs = {o.code: o for o in session.execute(select(Organisation)).scalars()}
    for account in DEMO_ACCOUNTS:
        if session.execute(select(User.id).where(User.username == account.username)).first():
            continue
        user = accounts.create_user(session, actor, username=account.username,
                                    full_name=account.full_name,
                                    organisation_id=orgs[account.org_code].id,
                                    roles={account.role}, password=account.password,
                                    clearance=account.clearance)
        user.position, user.signs_as = account.position, account.signs_as
    kiosk_person = session.execute(
        select(Person).join(CustodyEpisode).where(
            CustodyEpisode.facility_id == orgs[DETAINEE_ACCOUNT.org_code].id,
            CustodyEpisode.end_date.is_(None)).order_by(Person.id).limit(1)
    ).scalar_one()
    accounts.create_user(session, actor, username=DETAINEE_ACCOUNT.username,
                         full_name=kiosk_person.full_name,
                         organisation_id=orgs[DETAINEE_ACCOUNT.org_code].id,
                         roles={Role.DETAINEE}, password=DETAINEE_ACCOUNT.password,
                         person_id=kiosk_person.id)
    kiosk.issue_pin(session, actor, kiosk_person.id, pin=DEMO_KIOSK_PIN)
    load_demo_outsiders(session, kiosk_person)
    requests = load_demo_requests(session, orgs, documents)
    load_demo_restrictions(session, orgs)
    audit.record(session, actor, "admin.demo_load", details={"persons": persons, "seed": seed,
                                                             "requests": requests})
    return {"persons": persons, "organisations": len(orgs),
            "accounts": len(DEMO_ACCOUNTS) + 1 + len(OUTSIDE_ACCOUNTS), "requests": requests,
            "kiosk_person": kiosk_person.id}


DEMO_NOW = dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.UTC)


def load_demo_outsiders(session: Session, person: Person) -> None:
    """The two requesters outside the state, registered and given their mandates through the
    real services, as the Hà Nội camp's clerk."""
    from workflow.requests import requesters
    from workflow.requests.enums import MandateGround, RequesterKind

    clerk = Actor(session.scalars(select(User).where(User.username == "clerk.hanoi")).one(),
                  "127.0.0.1", DEMO_NOW)
    number = person.identifiers[-1].value
    lawyer, relative = OUTSIDE_ACCOUNTS
    vetting = requesters.register_requester(
        session, clerk, kind=RequesterKind.LAWYER, full_name=lawyer.full_name,
        username=lawyer.username, password=lawyer.password, email=None,
        identity_document="CCCD 001085004321", credential="Thẻ luật sư số 12345/LS",
        organisation_name=LAW_FIRM_NAME, organisation_kind=OrgKind.LAW_FIRM)
    requesters.record_mandate(
        session, clerk, vetting.user_id, identity_number=number, ground=MandateGround.DEFENCE,
        reference="Thông báo người bào chữa số 15/TB-CSĐT ngày 20/11/2026",
        valid_from=dt.date(2026, 11, 20))
    vetting = requesters.register_requester(
        session, clerk, kind=RequesterKind.RELATIVE, full_name=relative.full_name,
        username=relative.username, password=relative.password, email=None,
        identity_document="CCCD 001190006789", credential=None)
    requesters.record_mandate(
        session, clerk, vetting.user_id, identity_number=number,
        ground=MandateGround.AUTHORISATION,
        reference="Giấy ủy quyền ngày 21/11/2026 có xác nhận của trại tạm giam",
        valid_from=dt.date(2026, 11, 21), valid_to=dt.date(2027, 5, 21))


def load_demo_requests(session: Session, orgs: dict[str, Organisation],
                       documents: ExtractSettings | None = None) -> int:
    """A few requests by the procuracy about persons at the Hà Nội camp, left in several states
    through the real workflow, so that every queue has something in it."""
    from workflow.documents import extracts, letters
    from workflow.requests import decisions, filing
    from workflow.requests.enums import Channel, ProvisionForm, SubjectKind
    from workflow.requests.filing import RequestInput
    from workflow.requests.kernel import Workflow

    flow = Workflow(notices=letters.notices(documents) if documents else None)
    users = {u.username: u for u in session.execute(select(User)).unique().scalars()}

    def as_(name: str) -> Actor:
        return Actor(users[name], "demo", DEMO_NOW)

    camp = orgs["TTG-HANOI"].id
    kiosk = {u.person_id for u in users.values() if u.person_id}
    held = [p for p in session.execute(
        select(Person).join(CustodyEpisode).where(
            CustodyEpisode.facility_id == camp, CustodyEpisode.case_id.is_not(None))
        .order_by(Person.id).limit(60)).scalars().unique()
        if {e.facility_id for e in p.episodes} == {camp} and p.id not in kiosk]
    officers = {u.organisation_id for u in users.values() if u.has_role(Role.CONSENT_OFFICER)}

    def decidable(person: Person) -> bool:
        # Whether every consent the person's cases need today has an officer in the demo.
        for episode in person.episodes:
            entry = episode.case.stage_on(DEMO_NOW.date()) if episode.case else None
            if entry and entry.stage.needs_consent and entry.handling_org_id not in officers:
                return False
        return True

    plans = REQUEST_PLANS
    remaining, chosen = list(held), []
    for plan in plans:
        if not remaining:
            break
        # Approved and released requests go to persons whose consents the demo can give.
        wanted = plan in ("approved", "released")
        person = next((p for p in remaining if decidable(p) == wanted), remaining[0])
        remaining.remove(person)
        chosen.append(person)
    for person, plan in zip(chosen, plans, strict=False):
        data = RequestInput(
            channel=Channel.NETWORK, subject_kind=SubjectKind.PERSON,
            purpose="Kiểm sát việc tạm giam theo kế hoạch quý IV năm 2026",
            legal_basis="Điều 12 Nghị định 121/2017/NĐ-CP; Kế hoạch số 45/KH-VKS",
            provision=ProvisionForm.PDF, categories=["a_orders", "episodes", "events"],
            identity_number=person.identifiers[-1].value)
        request = filing.file_request(session, as_("requester.vks"), data)
        filing.submit(session, flow, as_("requester.vks"), request.id)
        approver = as_("approver.hanoi")
        if plan in ("approved", "released"):
            decisions.approve(session, approver, request.id, categories=["a_orders", "episodes"])
            for step in request.open_steps():
                officer = next((u for u in users.values()
                                if u.organisation_id == step.org_id
                                and u.has_role(Role.CONSENT_OFFICER)), None)
                if officer is not None:
                    decisions.grant_consent(session, flow, Actor(officer, "demo", DEMO_NOW),
                                         request.id, letter_ref="CV 88/ĐY-CSĐT")
            if plan == "released" and request.state.value == "approved":
                if documents is None:
                    decisions.release(session, flow, approver, request.id)
                else:
                    extract = extracts.prepare_extract(session, documents, approver, request.id)
                    extracts.preview(session, approver, extract.id)
                    extracts.release_extract(session, flow, documents, approver, request.id,
                                             document_id=extract.id, sha256=extract.sha256)
        elif plan == "refused":
            decisions.refuse(session, flow, approver, request.id, reason_code="purpose",
                          text="Chưa nêu rõ căn cứ kiểm sát đối với người này")
        elif plan == "returned":
            decisions.return_for_supplement(session, flow, approver, request.id,
                                         reason="Bổ sung số quyết định phân công kiểm sát viên")
    return len(held)


def load_demo_restrictions(session: Session, orgs: dict[str, Organisation]) -> None:
    """Persons under residence restriction at Ba Đình, entered through the real services by
    the commune's clerk: one reported in and assessed, one who has not reported in (the sweep
    flags it), one who moved to Hoàn Kiếm and waits to be handed over."""
    from workflow.records.enums import Sex
    from workflow.records.persons import IdentifierInput, PersonInput
    from workflow.requests.kernel import Workflow
    from workflow.restriction import operations
    from workflow.restriction.enums import RestrictionEventKind as K

    flow = Workflow()
    clerk = session.scalars(select(User).where(User.username == "clerk.commune")).one()

    def on(day: dt.date) -> Actor:
        return Actor(clerk, "demo", dt.datetime.combine(day, dt.time(3), dt.UTC))

    def register(name: str, born: dt.date, sex: Sex, number: str, ordered: dt.date,
                 order: str, residence: str):
        data = operations.RestrictionInput(
            commune_id=orgs["CAX-HANOI-BADINH"].id, order_number=order, order_date=ordered,
            deciding_org_id=orgs["CSDT-HANOI"].id, start_date=ordered,
            term_until=ordered + dt.timedelta(days=120), residence=residence)
        person = operations.register_person(
            session, flow, on(ordered), PersonInput(full_name=name, birth_date=born, sex=sex),
            data, IdentifierInput(kind="cccd", value=number))
        return person.restrictions[0]

    first = register("Phan Văn Thịnh", dt.date(1988, 6, 14), Sex.MALE, "001088900114",
                     dt.date(2026, 10, 5), "31/QĐ-CSĐT", "Số 12 phố Đội Cấn, phường Ba Đình")
    operations.record_event(session, flow, on(dt.date(2026, 10, 7)), first.id,
                            kind=K.REPORT_IN, occurred_on=dt.date(2026, 10, 7),
                            note="Có mặt, ký giấy cam đoan")
    operations.record_event(session, flow, on(dt.date(2026, 10, 30)), first.id,
                            kind=K.ASSESSMENT, occurred_on=dt.date(2026, 10, 30),
                            period=dt.date(2026, 10, 1), note="Chấp hành tốt")
    operations.record_event(session, flow, on(dt.date(2026, 11, 12)), first.id,
                            kind=K.MEETING, occurred_on=dt.date(2026, 11, 12))
    register("Lưu Thị Duyên", dt.date(1995, 2, 3), Sex.FEMALE, "001195900203",
             dt.date(2026, 11, 16), "44/QĐ-VKS", "Số 3 ngõ Núi Trúc, phường Ba Đình")
    moved = register("Đặng Quốc Bảo", dt.date(1979, 11, 30), Sex.MALE, "001079901130",
                     dt.date(2026, 9, 8), "27/QĐ-CSĐT", "Số 40 phố Kim Mã, phường Ba Đình")
    operations.record_event(session, flow, on(dt.date(2026, 9, 9)), moved.id,
                            kind=K.REPORT_IN, occurred_on=dt.date(2026, 9, 9))
    operations.change_residence(
        session, flow, on(dt.date(2026, 11, 23)), moved.id, occurred_on=dt.date(2026, 11, 23),
        residence="Số 8 phố Hàng Bạc, phường Hoàn Kiếm",
        commune_id=orgs["CAX-HANOI-HOANKIEM"].id)
