"""The lifecycle of an issued document as data: an extract is prepared, then released, or
superseded by a newer preparation (or by a stage change at release), or revoked; a letter is
issued released and may only be revoked."""

from __future__ import annotations

from workflow.documents.enums import IssuedState as S
from workflow.i18n import N_
from workflow.lifecycle import Lifecycle, Row

TABLE = (
    Row("release", (S.PREPARED,), S.RELEASED, "approver"),
    Row("supersede", (S.PREPARED,), S.SUPERSEDED, "system"),
    Row("revoke", (S.PREPARED, S.RELEASED), S.REVOKED, "approver"),
)
LIFECYCLE = Lifecycle(S, TABLE, {
    "release": N_("release"), "supersede": N_("superseded"), "revoke": N_("revoke")},
    initial=(S.PREPARED, S.RELEASED),
    refusal=N_("This document is %(state)s: that cannot be done now."))
