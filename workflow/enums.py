"""The vocabularies every subdomain shares: the labelled enum and its portable column type, the
roles of accounts and the secrecy levels (Law on Protection of State Secrets). Each
subdomain's own vocabulary is in its package's `enums` module."""

from __future__ import annotations

import enum

from sqlalchemy import Enum

from workflow.i18n import N_


class Labelled(enum.StrEnum):
    """A string enum whose members carry a translatable label."""

    label: str

    def __new__(cls, value: str, label: str) -> Labelled:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member


def enum_type(enum_cls: type[enum.Enum], name: str | None = None) -> Enum:
    """A portable column type: VARCHAR with a CHECK constraint listing the values (`name` tells
    the constraints apart when one table has two columns of the same enum)."""
    return Enum(
        enum_cls,
        native_enum=False,
        create_constraint=True,
        length=32,
        name=name or enum_cls.__name__.lower(),
        values_callable=lambda cls: [m.value for m in cls],
        validate_strings=True,
    )


class Role(Labelled):
    """What a user may do; a user holds one or more."""

    REQUESTER = "requester", N_("Requester")
    APPROVER = "approver", N_("Approver (database manager)")
    CONSENT_OFFICER = "consent_officer", N_("Consent officer (case-handling body)")
    CLERK = "clerk", N_("Records clerk")
    INSPECTOR = "inspector", N_("Inspector")
    ADMIN = "admin", N_("Administrator")
    DETAINEE = "detainee", N_("Detained person (kiosk)")
    MANAGER = "manager", N_("Manager (statistics of the body's scope)")
    EXCHANGE = "exchange", N_("Data exchange (system account)")


class Secrecy(Labelled):
    """State-secret level of a document."""

    NONE = "none", N_("Not classified")
    CONFIDENTIAL = "mat", N_("Confidential (Mật)")
    SECRET = "toi_mat", N_("Secret (Tối mật)")
    TOP_SECRET = "tuyet_mat", N_("Top secret (Tuyệt mật)")

    @property
    def rank(self) -> int:
        """Order of levels, lowest first."""
        return list(Secrecy).index(self)
