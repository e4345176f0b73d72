"""The chain of administrative subordination and the abbreviations of the bodies, for the headers
and numbers of the documents they issue (Decree 30/2020/NĐ-CP, Art. 8 and Appendix III).

This is not the custody-management tree of Decree 121/2017 Arts. 7–8, which scope and approval
follow: a provincial police sits under the Department C11 for custody management, but is governed
by the Ministry of Public Security, whose name heads its documents ("BỘ CÔNG AN" above "CÔNG AN
THÀNH PHỐ HÀ NỘI").
"""

from __future__ import annotations

from workflow.names import search_key
from workflow.organisations.enums import OrgKind

# Central bodies: their abbreviation and the body that governs them (None: none above them that
# heads a document).
CENTRAL: dict[str, tuple[str, str | None]] = {
    "BCA": ("BCA", None), "TTCSDL": ("TTDL", "BCA"), "C11": ("C11", "BCA"),
    "C11-T1": ("T16", "BCA"), "C11-T2": ("B14", "BCA"), "CSDT-BCA": ("CSĐT-BCA", "BCA"),
    "VKSTC": ("VKSTC", None), "TATC": ("TATC", None), "TTCP": ("TTCP", None),
    "BTP": ("BTP", None), "BQP": ("BQP", None), "QP-QL": ("THA-BQP", "BQP"),
    "QP-TTG": ("TTG-BQP", "BQP"), "QP-CQDT": ("CQĐT-BQP", "BQP"),
    "VKSQS-TW": ("VKSQSTW", "VKSTC"), "TAQS-TW": ("TAQSTW", "TATC"),
}


# Provinces whose initials another province shares (or that have one word): told apart.
PROVINCE_ABBREVIATIONS = {
    "Lào Cai": "LCA", "Lai Châu": "LCH", "Thái Nguyên": "TNG", "Tây Ninh": "TNI",
    "Quảng Ninh": "QNI", "Quảng Ngãi": "QNG", "Đà Nẵng": "ĐNG", "Đồng Nai": "ĐNI",
    "Huế": "HUE",
}
LONGEST = 40  # the column's width


def province_initials(province: str) -> str:
    """'Hà Nội' → 'HN', 'Hồ Chí Minh' → 'HCM' (the initials as written, Đ kept); provinces
    whose initials would be another's have their own."""
    if province in PROVINCE_ABBREVIATIONS:
        return PROVINCE_ABBREVIATIONS[province]
    return "".join(word[0] for word in province.split()).upper()


def _slug(province: str) -> str:
    return search_key(province).replace(" ", "").upper()


def governance_of(code: str, kind: OrgKind, province: str | None,
                  parent_code: str | None) -> tuple[str, str | None]:
    """A body's abbreviation and the code of the body that governs it administratively;
    `parent_code` is its parent in the custody-management tree."""
    abbreviation, governing = _governance(code, kind, province, parent_code)
    return abbreviation[:LONGEST], governing


def _governance(code: str, kind: OrgKind, province: str | None,
                parent_code: str | None) -> tuple[str, str | None]:
    if code in CENTRAL:
        return CENTRAL[code]
    if kind is OrgKind.MILITARY_REGION_BODY or (code.startswith("QK") and code.endswith("-TTG")):
        region = code.removeprefix("QK").removesuffix("-TTG")
        return (f"TTG-QK{region}" if code.endswith("-TTG") else f"THA-QK{region}"), "BQP"
    if province is None:  # a body the tree does not know: its code is its abbreviation
        return code, parent_code
    pi, police = province_initials(province), f"CA-{_slug(province)}"
    number = code.rsplit("-", 1)[-1] if code[-1].isdigit() else ""
    rules: dict[OrgKind, tuple[str, str | None]] = {
        OrgKind.PROVINCIAL_BODY: (f"CA{pi}", "BCA"),
        OrgKind.DETENTION_CAMP: (f"TTG-CA{pi}", police),
        OrgKind.INVESTIGATION_AGENCY: (f"CSĐT-CA{pi}", police),
        OrgKind.DISTRICT_BODY: (f"CAH{number}-{pi}", police),
        OrgKind.CUSTODY_HOUSE: (f"NTG{number}-CA{pi}", police),
        OrgKind.COURT: (f"TA{pi}", "TATC"),
        OrgKind.BORDER_GUARD_COMMAND: (f"BĐBP-{pi}", "BQP"),
        OrgKind.BORDER_CUSTODY_ROOM: (f"BTG-BĐBP-{pi}", parent_code),
        # A commune police's file gives no abbreviation: its code serves (unique), under the
        # provincial police that governs it.
        OrgKind.COMMUNE_POLICE: (code, parent_code),
    }
    if kind is OrgKind.PROCURACY:
        regional = code.startswith("VKSKV-")
        return (f"VKSKV1-{pi}", f"VKS-{_slug(province)}") if regional else (f"VKS{pi}", "VKSTC")
    return rules.get(kind, (f"{code}", parent_code))
