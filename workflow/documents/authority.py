"""The signature block of an issued document (Decree 30/2020, Art. 13 and Appendix I): the
signing authority above the signer's position, both in capitals, then the signer's name.

The signer's authority and position are recorded on their account by an administrator and
printed, and kept with the document, as they stood when it was issued.
"""

from __future__ import annotations

from workflow.documents.enums import Authority
from workflow.models import Organisation, User
from workflow.organisations.enums import OrgKind

# The title of a body's head, by kind.
HEAD_TITLES = {
    OrgKind.MINISTRY: "Bộ trưởng", OrgKind.MINISTRY_BODY: "Cục trưởng",
    OrgKind.CENTRAL_CENTRE: "Giám đốc", OrgKind.PROVINCIAL_BODY: "Giám đốc",
    OrgKind.DISTRICT_BODY: "Trưởng Công an", OrgKind.INVESTIGATION_AGENCY: "Thủ trưởng",
    OrgKind.PROCURACY: "Viện trưởng", OrgKind.COURT: "Chánh án",
    OrgKind.DETENTION_CAMP: "Giám thị", OrgKind.CUSTODY_HOUSE: "Trưởng Nhà tạm giữ",
    OrgKind.MILITARY_REGION_BODY: "Thủ trưởng", OrgKind.BORDER_GUARD_COMMAND: "Chỉ huy trưởng",
    OrgKind.BORDER_CUSTODY_ROOM: "Đồn trưởng",
}
PREFIXES = {Authority.DEPUTY: "KT.", Authority.BY_ORDER: "TL.", Authority.DELEGATED: "TUQ.",
            Authority.COLLECTIVE: "TM."}


def head_title(org: Organisation) -> str:
    """'Giám đốc' of a provincial police, 'Thủ trưởng' of an investigation agency…"""
    return HEAD_TITLES.get(org.kind, "Thủ trưởng")


def signature_lines(signer: User | None, org: Organisation) -> list[str]:
    """The lines above the signature, in capitals: 'KT. THỦ TRƯỞNG', 'PHÓ THỦ TRƯỞNG'. A signer
    whose authority was not recorded signs by the head's order with their position."""
    head = head_title(org).upper()
    if signer is None:
        return [head]
    authority = signer.signs_as or Authority.BY_ORDER
    position = (signer.position or "").strip().upper()
    if authority is Authority.HEAD:
        return [position or head]
    above = org.name.upper() if authority is Authority.COLLECTIVE else head
    return [f"{PREFIXES[authority]} {above}", *([position] if position else [])]
