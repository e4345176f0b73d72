"""calendar days: the government's changes of the working-day calendar (ad-hoc days off,
working Saturdays, a change withdrawn), append-only; requests' deadlines keep their pauses and
extensions as lists, so that a due date can be reckoned again when the calendar changes

Revision ID: 0025
Revises: 0026
Create Date: 2026-12-05 09:00:00.000000
"""
import datetime as dt
import json

import sqlalchemy as sa
from alembic import op

import workflow.db
from workflow.migrations import append_only

revision = '0025'
down_revision = '0026'
branch_labels = None
depends_on = None

APPEND_ONLY = ("calendar_day",)
VN = dt.timezone(dt.timedelta(hours=7))


def upgrade() -> None:
    op.create_table(
        'calendar_day',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('change', sa.Enum('day_off', 'working_day', 'withdrawn',
                                    name='calendarchange', native_enum=False,
                                    create_constraint=True, length=32), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('recorded_at', workflow.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint('length(reason) >= 5', name=op.f('ck_calendar_day_reason_given')),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['app_user.id'],
                                name=op.f('fk_calendar_day_recorded_by_id_app_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_day')),
    )
    with op.batch_alter_table('calendar_day') as batch:
        batch.create_index(batch.f('ix_calendar_day_day'), ['day'], unique=False)
    append_only.protect(op, APPEND_ONLY)
    _deadlines_as_lists(op.get_bind())


def _day(value) -> str:
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(VN).date().isoformat()


def _deadlines_as_lists(bind) -> None:
    """The one extension becomes the first of the list; each return for supplement becomes a
    pause (from its day to the resubmission's, or open while still returned)."""
    rows = bind.execute(sa.text("SELECT id, deadline FROM access_request "
                                "WHERE deadline LIKE '%\"start\"%'")).all()
    for request_id, text in rows:
        deadline = json.loads(text)
        if "pauses" in deadline:
            continue
        pauses: list[dict] = []
        for trigger, at in bind.execute(sa.text(
                "SELECT trigger, at FROM request_transition WHERE request_id = :id AND trigger "
                "IN ('return_for_supplement', 'resubmit') ORDER BY id"), {"id": request_id}):
            if trigger == 'return_for_supplement':
                pauses.append({"from": _day(at), "to": None, "why": "returned"})
            elif pauses and pauses[-1]["to"] is None:
                pauses[-1]["to"] = _day(at)
        extension = deadline.pop("extension", None)
        deadline["pauses"] = pauses
        deadline.setdefault("extension_cap", 15)  # the rule sets in force: one of 15 days
        deadline["extensions"] = [{"working_days": extension["working_days"],
                                   "reason": extension["reason"], "on": deadline["start"]}
                                  ] if extension else []
        bind.execute(sa.text("UPDATE access_request SET deadline = :d WHERE id = :id"),
                     {"d": json.dumps(deadline, ensure_ascii=False), "id": request_id})


def downgrade() -> None:
    append_only.unprotect(op, APPEND_ONLY)
    with op.batch_alter_table('calendar_day') as batch:
        batch.drop_index(batch.f('ix_calendar_day_day'))
    op.drop_table('calendar_day')
