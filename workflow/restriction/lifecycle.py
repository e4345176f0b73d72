"""The lifecycle of a residence restriction as data: under the measure, being handed over to
another commune after a change of residence, ended (lifted, replaced, term over)."""

from __future__ import annotations

from workflow.i18n import N_
from workflow.lifecycle import Lifecycle, Row
from workflow.restriction.enums import RestrictionState as S

MANAGING, RECEIVING = "managing_commune", "receiving_commune"

TABLE: tuple[Row, ...] = (
    Row("hand_over", (S.ACTIVE,), S.HANDING_OVER, MANAGING),
    Row("receive", (S.HANDING_OVER,), S.ACTIVE, RECEIVING),
    Row("end", (S.ACTIVE, S.HANDING_OVER), S.ENDED, MANAGING),
)
LIFECYCLE = Lifecycle(S, TABLE, {
    "hand_over": N_("hand over to another commune"), "receive": N_("received by the commune"),
    "end": N_("end the measure")}, initial=(S.ACTIVE,),
    refusal=N_("This cannot be done while the residence restriction is %(state)s."))
