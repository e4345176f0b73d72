"""audit seals: each commit signs the chain's new head

Entries written before this revision carry no seal; the first commit after it seals them all
(its hash covers every entry before it). Run `custody audit checkpoint --force` after upgrading
so that `custody audit verify` finds the chain's end sealed.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, not a batch copy: a copy of the table would lose its append-only
    # triggers on SQLite.
    op.add_column('audit_entry', sa.Column(
        'seal_from', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
    op.add_column('audit_entry', sa.Column('seal', sa.String(length=128), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35 and later) for the same reason.
    op.execute('ALTER TABLE audit_entry DROP COLUMN seal')
    op.execute('ALTER TABLE audit_entry DROP COLUMN seal_from')
