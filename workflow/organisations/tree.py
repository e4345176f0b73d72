"""Reference data: the organisation tree of both branches and the outside bodies (Decree Arts. 7–8).

The tree is the custody-management hierarchy, dated: district bodies existed until the reform of
2025-03-01, when their custody houses passed to the provincial police.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.audit import chain as audit
from workflow.context import Actor
from workflow.errors import Conflict
from workflow.i18n import N_
from workflow.models import Organisation, OrganisationLink
from workflow.names import search_key
from workflow.organisations.enums import Branch, OrgKind, OrgLevel
from workflow.organisations.governance import governance_of

DECREE_IN_FORCE = dt.date(2018, 1, 1)
DISTRICTS_ABOLISHED = dt.date(2025, 3, 1)
PROVINCES_MERGED = dt.date(2025, 7, 1)

# The 34 province-level units from 2025-07-01, with the place code that opens a citizen number.
PROVINCES: list[tuple[str, str, int]] = [
    ("Thành phố", "Hà Nội", 1), ("Tỉnh", "Cao Bằng", 4), ("Tỉnh", "Tuyên Quang", 8),
    ("Tỉnh", "Lào Cai", 10), ("Tỉnh", "Điện Biên", 11), ("Tỉnh", "Lai Châu", 12),
    ("Tỉnh", "Sơn La", 14), ("Tỉnh", "Thái Nguyên", 19), ("Tỉnh", "Lạng Sơn", 20),
    ("Tỉnh", "Quảng Ninh", 22), ("Tỉnh", "Phú Thọ", 25), ("Tỉnh", "Bắc Ninh", 27),
    ("Thành phố", "Hải Phòng", 31), ("Tỉnh", "Hưng Yên", 33), ("Tỉnh", "Ninh Bình", 37),
    ("Tỉnh", "Thanh Hóa", 38), ("Tỉnh", "Nghệ An", 40), ("Tỉnh", "Hà Tĩnh", 42),
    ("Tỉnh", "Quảng Trị", 44), ("Thành phố", "Huế", 46), ("Thành phố", "Đà Nẵng", 48),
    ("Tỉnh", "Quảng Ngãi", 51), ("Tỉnh", "Gia Lai", 52), ("Tỉnh", "Khánh Hòa", 56),
    ("Tỉnh", "Đắk Lắk", 66), ("Tỉnh", "Lâm Đồng", 68), ("Tỉnh", "Tây Ninh", 72),
    ("Tỉnh", "Đồng Nai", 75), ("Thành phố", "Hồ Chí Minh", 79), ("Tỉnh", "Vĩnh Long", 86),
    ("Tỉnh", "Đồng Tháp", 87), ("Tỉnh", "An Giang", 89), ("Thành phố", "Cần Thơ", 92),
    ("Tỉnh", "Cà Mau", 96),
]
BORDER_PROVINCES = {"Cao Bằng", "Lào Cai", "Điện Biên", "Lai Châu", "Sơn La", "Lạng Sơn",
                    "Quảng Ninh", "Nghệ An", "Quảng Trị", "Gia Lai", "Tây Ninh", "An Giang"}
MILITARY_REGIONS = ["1", "2", "3", "4", "5", "7", "9"]
DISTRICTS = ["Đông", "Tây", "Nam", "Bắc"]


@dataclass
class Tree:
    """Builds organisations and their links; remembers them by code."""

    session: Session
    by_code: dict[str, Organisation]
    governed: dict[str, str | None] = field(default_factory=dict)

    def add(self, code: str, name: str, kind: OrgKind, branch: Branch, level: OrgLevel,
            parent: str | None = None, province: str | None = None,
            valid_from: dt.date = DECREE_IN_FORCE, valid_to: dt.date | None = None,
            ) -> Organisation:
        """Create one organisation, linked to its parent for its whole life."""
        abbreviation, self.governed[code] = governance_of(code, kind, province, parent)
        org = Organisation(code=code, name=name, kind=kind, branch=branch, level=level,
                           province=province, valid_from=valid_from, valid_to=valid_to,
                           abbreviation=abbreviation)
        self.session.add(org)
        self.by_code[code] = org
        if parent:
            self.link(code, parent, valid_from, valid_to)
        return org

    def link(self, code: str, parent: str, valid_from: dt.date, valid_to: dt.date | None) -> None:
        """Place `code` under `parent` for a period."""
        self.session.add(OrganisationLink(organisation=self.by_code[code],
                                          parent=self.by_code[parent],
                                          valid_from=valid_from, valid_to=valid_to))


def province_slug(name: str) -> str:
    """An ASCII code for a province: 'Hồ Chí Minh' → 'HOCHIMINH'."""
    return search_key(name).replace(" ", "").upper()


def build_tree(session: Session) -> dict[str, Organisation]:
    """Create the whole organisation tree; returns the organisations by code."""
    t = Tree(session, {})
    P, A, X = Branch.POLICE, Branch.ARMY, Branch.OUTSIDE
    C, PR, RG, D = OrgLevel.CENTRAL, OrgLevel.PROVINCE, OrgLevel.REGION, OrgLevel.DISTRICT
    K = OrgKind
    t.add("BCA", "Bộ Công an", K.MINISTRY, P, C)
    t.add("TTCSDL", "Trung tâm cơ sở dữ liệu về thi hành tạm giữ, tạm giam", K.CENTRAL_CENTRE,
          P, C, "BCA")
    t.add("C11", "Cục Cảnh sát quản lý tạm giữ, tạm giam và thi hành án hình sự tại cộng đồng",
          K.MINISTRY_BODY, P, C, "BCA")
    t.add("C11-T1", "Trại tạm giam T16 Bộ Công an", K.DETENTION_CAMP, P, C, "C11")
    t.add("C11-T2", "Trại tạm giam B14 Bộ Công an", K.DETENTION_CAMP, P, C, "C11")
    t.add("CSDT-BCA", "Cơ quan Cảnh sát điều tra Bộ Công an", K.INVESTIGATION_AGENCY, P, C, "BCA")
    t.add("VKSTC", "Viện kiểm sát nhân dân tối cao", K.PROCURACY, X, C)
    t.add("TATC", "Tòa án nhân dân tối cao", K.COURT, X, C)
    t.add("TTCP", "Thanh tra Chính phủ", K.OTHER_STATE_BODY, X, C)
    t.add("BTP", "Bộ Tư pháp", K.OTHER_STATE_BODY, X, C)

    for prefix, name, _code in PROVINCES:
        s = province_slug(name)
        ca = f"CA-{s}"
        t.add(ca, f"Công an {prefix.lower()} {name}", K.PROVINCIAL_BODY, P, PR, "C11", name)
        t.add(f"TTG-{s}", f"Trại tạm giam Công an {prefix.lower()} {name}", K.DETENTION_CAMP, P,
              PR, ca, name)
        t.add(f"CSDT-{s}", f"Cơ quan Cảnh sát điều tra Công an {prefix.lower()} {name}",
              K.INVESTIGATION_AGENCY, P, PR, ca, name)
        t.add(f"VKS-{s}", f"Viện kiểm sát nhân dân {prefix.lower()} {name}", K.PROCURACY, X, PR,
              "VKSTC", name)
        t.add(f"TA-{s}", f"Tòa án nhân dân {prefix.lower()} {name}", K.COURT, X, PR, "TATC", name)
        t.add(f"VKSKV-{s}", f"Viện kiểm sát nhân dân khu vực 1 - {name}", K.PROCURACY, X, RG,
              f"VKS-{s}", name, valid_from=PROVINCES_MERGED)
        for i, district in enumerate(DISTRICTS[:2], start=1):
            # A district body and its custody house until the 2025 reform; the house lives on
            # under the provincial police.
            cah, nth = f"CAH-{s}-{i}", f"NTG-{s}-{i}"
            t.add(cah, f"Công an huyện {district} ({name})", K.DISTRICT_BODY, P, D, ca, name,
                  valid_to=DISTRICTS_ABOLISHED)
            t.add(nth, f"Nhà tạm giữ số {i} Công an {prefix.lower()} {name}", K.CUSTODY_HOUSE,
                  P, D, province=name)
            t.link(nth, cah, DECREE_IN_FORCE, DISTRICTS_ABOLISHED)
            t.link(nth, ca, DISTRICTS_ABOLISHED, None)

    t.add("BQP", "Bộ Quốc phòng", K.MINISTRY, A, C)
    t.add("QP-QL", "Cục Thi hành án Bộ Quốc phòng (cơ quan quản lý tạm giữ, tạm giam)",
          K.MINISTRY_BODY, A, C, "BQP")
    t.add("QP-TTG", "Trại tạm giam Bộ Quốc phòng", K.DETENTION_CAMP, A, C, "QP-QL")
    t.add("QP-CQDT", "Cơ quan điều tra hình sự Bộ Quốc phòng", K.INVESTIGATION_AGENCY, A, C, "BQP")
    t.add("VKSQS-TW", "Viện kiểm sát quân sự trung ương", K.PROCURACY, X, C, "VKSTC")
    t.add("TAQS-TW", "Tòa án quân sự trung ương", K.COURT, X, C, "TATC")
    for region in MILITARY_REGIONS:
        body = f"QK{region}"
        t.add(body, f"Cơ quan thi hành án hình sự Quân khu {region}", K.MILITARY_REGION_BODY, A,
              RG, "QP-QL")
        t.add(f"QK{region}-TTG", f"Trại tạm giam Quân khu {region}", K.DETENTION_CAMP, A, RG, body)
    for _prefix, name, _code in PROVINCES:
        if name in BORDER_PROVINCES:
            s = province_slug(name)
            t.add(f"BP-{s}", f"Bộ Chỉ huy Bộ đội Biên phòng tỉnh {name}", K.BORDER_GUARD_COMMAND,
                  A, PR, "QP-QL", name)
            t.add(f"BP-{s}-1", f"Buồng tạm giữ Đồn Biên phòng cửa khẩu {name}",
                  K.BORDER_CUSTODY_ROOM, A, PR, f"BP-{s}", name)
    for code, governing in t.governed.items():
        if governing is not None:
            t.by_code[code].governing = t.by_code[governing]
    session.flush()
    return t.by_code


def load_reference_tree(session: Session, actor: Actor) -> dict[str, Organisation]:
    """The reference tree (`build_tree`) for a new installation, whose database holds no
    organisations yet; audited. Returns the organisations by code."""
    if session.scalar(select(func.count()).select_from(Organisation)):
        raise Conflict(N_("The database holds organisations already: the reference tree is "
                          "loaded only into a new installation."))
    orgs = build_tree(session)
    audit.record(session, actor, "admin.tree_load", details={"total": len(orgs)})
    return orgs
