"""The organisation tree's vocabulary: branches, kinds of body and their levels."""

from __future__ import annotations

from workflow.enums import Labelled
from workflow.i18n import N_


class Branch(Labelled):
    """Subsystem of the database (Decree Art. 6 §3)."""

    POLICE = "cand", N_("People's Police (CAND)")
    ARMY = "qdnd", N_("People's Army (QĐND)")
    OUTSIDE = "outside", N_("Outside body")


class OrgKind(Labelled):
    """What an organisation is, in the terms of Decree Arts. 7, 8 and 12."""

    MINISTRY = "ministry", N_("Ministry")
    CENTRAL_CENTRE = "central_centre", N_("Central custody database centre")
    MINISTRY_BODY = "ministry_body", N_("Ministry-level custody management body")
    PROVINCIAL_BODY = "provincial_body", N_("Provincial custody management body")
    DISTRICT_BODY = "district_body", N_("District custody management body")
    MILITARY_REGION_BODY = "military_region_body", N_("Military-region enforcement body")
    BORDER_GUARD_COMMAND = "border_guard_command", N_("Provincial Border Guard Command")
    # Manages persons under residence restriction where they live (Law 128/2025, Circular
    # 56/2026): no facility, but a scope of persons.
    COMMUNE_POLICE = "commune_police", N_("Commune police")
    DETENTION_CAMP = "detention_camp", N_("Detention camp")
    CUSTODY_HOUSE = "custody_house", N_("Custody house")
    BORDER_CUSTODY_ROOM = "border_custody_room", N_("Border-post custody room")
    PROCURACY = "procuracy", N_("Procuracy")
    COURT = "court", N_("Court")
    INVESTIGATION_AGENCY = "investigation_agency", N_("Investigation agency")
    OTHER_STATE_BODY = "other_state_body", N_("Other state body")
    # Requesters outside the state (Art. 12 §3b, "tổ chức, cá nhân"): vetted before they file.
    LAW_FIRM = "law_firm", N_("Law-practising organisation")
    NON_STATE_ORGANISATION = "non_state_org", N_("Other organisation")
    # A person who asks in their own name (a lawyer practising alone, a relative): an
    # organisation of one, so that nothing of theirs is ever shared with another requester.
    INDIVIDUAL = "individual", N_("Individual")

    @property
    def is_facility(self) -> bool:
        """Whether persons are held here (trại tạm giam, nhà tạm giữ, buồng tạm giữ)."""
        return self in FACILITY_KINDS

    @property
    def is_non_state(self) -> bool:
        """Whether this is an organisation or a person outside the state (Art. 12 §3b)."""
        return self in NON_STATE_KINDS


FACILITY_KINDS = frozenset(
    {OrgKind.DETENTION_CAMP, OrgKind.CUSTODY_HOUSE, OrgKind.BORDER_CUSTODY_ROOM}
)

NON_STATE_KINDS = frozenset(
    {OrgKind.LAW_FIRM, OrgKind.NON_STATE_ORGANISATION, OrgKind.INDIVIDUAL}
)


class OrgLevel(Labelled):
    """Administrative level of a body; the district level ended on 2025-03-01."""

    CENTRAL = "central", N_("Central")
    PROVINCE = "province", N_("Province")
    REGION = "region", N_("Region")
    DISTRICT = "district", N_("District")
    COMMUNE = "commune", N_("Commune")
