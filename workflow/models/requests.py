"""Access requests (Decree Art. 12), the decisions on their route, their timeline and inbox."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.db import Base, UTCDateTime, utcnow
from workflow.enums import enum_type
from workflow.models.organisations import Organisation
from workflow.models.records import Case, Person
from workflow.models.users import User
from workflow.requests.enums import (
    UNFINISHED_STATES,
    Channel,
    ProvisionForm,
    RequestState,
    StepKind,
    StepOutcome,
    SubjectKind,
    Urgency,
)

REQUEST_STATE_CHECKS = {
    "submitted_when": "state IN ('draft', 'withdrawn') OR submitted_at IS NOT NULL",
    "routed_by_rules": "state IN ('draft', 'submitted', 'withdrawn') OR rule_version IS NOT NULL",
    "returned_paused": "state <> 'returned' OR paused_at IS NOT NULL",
}
REFERENCE_HELD = text("requester_reference IS NOT NULL AND state IN ("
                      + ", ".join(f"'{s.value}'" for s in sorted(UNFINISHED_STATES)) + ")")


class AccessRequest(Base):
    """A request to look up or be provided records (phiếu đề nghị cung cấp thông tin)."""

    __tablename__ = "access_request"
    __table_args__ = (
        CheckConstraint("period_to IS NULL OR period_from IS NULL OR period_to >= period_from",
                        name="period"),
        CheckConstraint("(subject_kind = 'person') = (subject_person_id IS NOT NULL)",
                        name="person_subject"),
        CheckConstraint("subject_kind = 'statistics' OR statistics_org_id IS NULL",
                        name="statistics_scope"),
        # The lifecycle's states and the columns they imply (migration 0016).
        *[CheckConstraint(sql, name=name) for name, sql in REQUEST_STATE_CHECKS.items()],
        Index("ix_access_request_state_due", "state", "due_on"),
        Index("ix_access_request_requester", "requester_id", "id"),
        # The requester's own reference names one unfinished request of its body (0029).
        Index("uq_access_request_reference", "requester_org_id", "requester_reference",
              unique=True, sqlite_where=REFERENCE_HELD, postgresql_where=REFERENCE_HELD),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    state: Mapped[RequestState] = mapped_column(enum_type(RequestState),
                                                default=RequestState.DRAFT)
    version: Mapped[int] = mapped_column(Integer, default=1)
    requester_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    requester_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    scan_ref: Mapped[str | None] = mapped_column(String(255))
    # The requester's tracking number in its own system (a crosswalk; migration 0029).
    requester_reference: Mapped[str | None] = mapped_column(String(64))
    subject_kind: Mapped[SubjectKind] = mapped_column(enum_type(SubjectKind))
    subject_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    statistical_question: Mapped[str | None] = mapped_column(Text)
    # The body whose scope the figures are about (None: the whole database), Art. 12 §3a.
    statistics_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    categories_json: Mapped[str] = mapped_column("categories", Text, default="[]")
    period_from: Mapped[dt.date | None] = mapped_column(Date)
    period_to: Mapped[dt.date | None] = mapped_column(Date)
    purpose: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(String(255))
    provision: Mapped[ProvisionForm] = mapped_column(enum_type(ProvisionForm))
    urgency: Mapped[Urgency] = mapped_column(enum_type(Urgency), default=Urgency.NORMAL)
    rule_version: Mapped[str | None] = mapped_column(String(32))
    route_json: Mapped[str] = mapped_column("route", Text, default="{}")
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    deadline_json: Mapped[str] = mapped_column("deadline", Text, default="{}")
    paused_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    extended: Mapped[bool] = mapped_column(default=False)
    overdue_notified: Mapped[bool] = mapped_column(default=False)
    due_soon_notified: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    requester: Mapped[User] = relationship(foreign_keys=[requester_id])
    requester_org: Mapped[Organisation] = relationship(foreign_keys=[requester_org_id])
    subject_person: Mapped[Person | None] = relationship(foreign_keys=[subject_person_id])
    on_behalf_of: Mapped[Person | None] = relationship(foreign_keys=[on_behalf_of_id])
    statistics_org: Mapped[Organisation | None] = relationship(foreign_keys=[statistics_org_id])
    steps: Mapped[list[RequestStep]] = relationship(back_populates="request",
                                                    order_by="RequestStep.id")
    transitions: Mapped[list[RequestTransition]] = relationship(
        back_populates="request", order_by="RequestTransition.id")

    @property
    def categories(self) -> list[str]:
        """The categories asked for."""
        return json.loads(self.categories_json)

    # Set by `access.get_request` for this transaction's reader (request_policy.can_see_cases):
    # whether the route's cases, stages, facilities and secrecy are hidden from them, and the
    # route as they may see it.
    cases_hidden = True
    shown_route = None

    @property
    def route(self) -> dict:
        """Why the request needs the steps it needs, as decided when it was routed."""
        return json.loads(self.route_json)

    @property
    def deadline(self) -> dict:
        """How the due date was computed."""
        return json.loads(self.deadline_json)

    def open_steps(self, kind: StepKind | None = None) -> list[RequestStep]:
        """Steps of the current round still waiting for a decision."""
        return [s for s in self.steps if s.outcome is StepOutcome.PENDING
                and (kind is None or s.kind is kind)]


class RequestStep(Base):
    """One decision the route needs: approval by a managing body, or a handling body's consent."""

    __tablename__ = "request_step"
    __table_args__ = (
        CheckConstraint("(outcome = 'pending') = (decided_at IS NULL)",
                        name="decided_iff_not_pending"),
        CheckConstraint("(kind = 'consent') = (case_id IS NOT NULL)", name="consent_has_case"),
        UniqueConstraint("request_id", "round", "kind", "org_id", "case_id",
                         name="uq_request_step_once"),
        # The queues: pending steps of a kind for a set of bodies.
        Index("ix_request_step_queue", "org_id", "kind", "outcome", "request_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("access_request.id"), index=True)
    round: Mapped[int] = mapped_column(Integer, default=1)
    kind: Mapped[StepKind] = mapped_column(enum_type(StepKind))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("criminal_case.id"))
    outcome: Mapped[StepOutcome] = mapped_column(enum_type(StepOutcome),
                                                 default=StepOutcome.PENDING)
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reason_code: Mapped[str | None] = mapped_column(String(32))
    reason_text: Mapped[str | None] = mapped_column(Text)
    granted_json: Mapped[str | None] = mapped_column("granted", Text)
    granted_from: Mapped[dt.date | None] = mapped_column(Date)
    granted_to: Mapped[dt.date | None] = mapped_column(Date)
    expires_on: Mapped[dt.date | None] = mapped_column(Date)
    letter_ref: Mapped[str | None] = mapped_column(String(255))
    letter_scan: Mapped[str | None] = mapped_column(String(255))
    rule_version: Mapped[str | None] = mapped_column(String(32))

    request: Mapped[AccessRequest] = relationship(back_populates="steps")
    org: Mapped[Organisation] = relationship()
    case: Mapped[Case | None] = relationship()
    decided_by: Mapped[User | None] = relationship()

    @property
    def granted(self) -> list[str] | None:
        """The categories this decision granted (None: as asked)."""
        return json.loads(self.granted_json) if self.granted_json else None


class RequestTransition(Base):
    """One fired transition: the timeline of a request (append-only)."""

    __tablename__ = "request_transition"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("access_request.id"), index=True)
    trigger: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[RequestState] = mapped_column(enum_type(RequestState, "from_state"))
    to_state: Mapped[RequestState] = mapped_column(enum_type(RequestState, "to_state"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str | None] = mapped_column(Text)
    rule_version: Mapped[str | None] = mapped_column(String(32))
    details: Mapped[str] = mapped_column(Text, default="{}")

    request: Mapped[AccessRequest] = relationship(back_populates="transitions")
    actor: Mapped[User | None] = relationship()


class Notification(Base):
    """An item of a user's inbox about a request."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_inbox", "user_id", "read_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    request_id: Mapped[int] = mapped_column(ForeignKey("access_request.id"))
    kind: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    request: Mapped[AccessRequest] = relationship()


class RequestAssignment(Base):
    """A request in a body's work queue given to a named officer (and a backup officer who acts
    in their absence): claimed by the officer, or assigned by a colleague. Append-only: the
    latest row per request and body is the current one, the earlier ones its history."""

    __tablename__ = "request_assignment"
    __table_args__ = (Index("ix_request_assignment_request", "request_id", "org_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("access_request.id"))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    officer_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    backup_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    assigned_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str | None] = mapped_column(String(500))

    officer: Mapped[User] = relationship(foreign_keys=[officer_id])
    backup: Mapped[User | None] = relationship(foreign_keys=[backup_id])
