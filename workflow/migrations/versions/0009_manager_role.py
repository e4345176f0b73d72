"""manager and exchange roles: heads of bodies who read the statistics of their scope, and
the system account of data exchange

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 19:45:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

BEFORE = ("requester", "approver", "consent_officer", "clerk", "inspector", "admin", "detainee")
AFTER = BEFORE + ("manager", "exchange")


def _role(values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(*values, name="role", native_enum=False, create_constraint=True, length=32)


def _change(old: tuple[str, ...], new: tuple[str, ...]) -> None:
    with op.batch_alter_table("user_role", recreate="always") as batch_op:
        batch_op.alter_column("role", existing_type=_role(old), type_=_role(new),
                              existing_nullable=False)


def upgrade() -> None:
    _change(BEFORE, AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM user_role WHERE role IN ('manager', 'exchange')")
    _change(AFTER, BEFORE)
