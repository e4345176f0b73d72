"""audit batch seals: a checkpoint also seals the batch of entries since the one before

A checkpoint made from this revision on names the first entry of its batch and a digest of the
commits' seals inside it, and signs them with the chain's head (a signed tree head), so that
`custody audit verify` checks one signature per batch instead of one per commit. Checkpoints
made before it keep their meaning (the head only); the first checkpoint after it seals the
whole chain from entry 1, checking every commit's seal once on the way (Ed25519: about a minute
a million entries, before it takes the chain's head lock).

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-01 11:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0034'
down_revision = '0033'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, not a batch copy: a copy of the table would lose its append-only
    # triggers on SQLite.
    op.add_column('audit_checkpoint', sa.Column(
        'first_seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
    op.add_column('audit_checkpoint', sa.Column('seals_digest', sa.String(length=64),
                                                nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35 and later) for the same reason.
    op.execute('ALTER TABLE audit_checkpoint DROP COLUMN seals_digest')
    op.execute('ALTER TABLE audit_checkpoint DROP COLUMN first_seq')
