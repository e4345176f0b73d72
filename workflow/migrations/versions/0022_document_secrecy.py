"""document secrecy: the state-secret level an issued document carries (its mark), and the
register of secret documents sent out (sổ đăng ký văn bản mật đi)

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-30 18:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

LEVELS = ('none', 'mat', 'toi_mat', 'tuyet_mat')
CHECK = "secrecy IN ('none', 'mat', 'toi_mat', 'tuyet_mat')"


def upgrade() -> None:
    # A plain column: no rebuild of the append-only table (SQLite would drop its triggers).
    # SQLite takes the CHECK with the column; PostgreSQL adds it as a constraint.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE issued_document ADD COLUMN secrecy VARCHAR(32) DEFAULT 'none' "
                   f"NOT NULL CONSTRAINT ck_issued_document_secrecy CHECK ({CHECK})")
    else:
        op.add_column('issued_document', sa.Column('secrecy', sa.String(length=32),
                                                   server_default='none', nullable=False))
        op.create_check_constraint('ck_issued_document_secrecy', 'issued_document', CHECK)
    op.create_table(
        'secret_register_entry',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('serial', sa.Integer(), nullable=False),
        sa.Column('document_id', sa.Integer(), nullable=False),
        sa.Column('secrecy', sa.Enum(*LEVELS, name='secrecy', native_enum=False,
                                     create_constraint=True, length=32), nullable=False),
        sa.Column('recipient_user_id', sa.Integer(), nullable=False),
        sa.Column('recipient_name', sa.String(length=160), nullable=False),
        sa.Column('recipient_org', sa.String(length=255), nullable=False),
        sa.Column('copies', sa.Integer(), nullable=False),
        sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('registered_by_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['document_id'], ['issued_document.id'],
                                name=op.f('fk_secret_register_entry_document_id_issued_document')),
        sa.ForeignKeyConstraint(['org_id'], ['organisation.id'],
                                name=op.f('fk_secret_register_entry_org_id_organisation')),
        sa.ForeignKeyConstraint(['recipient_user_id'], ['app_user.id'],
                                name=op.f('fk_secret_register_entry_recipient_user_id_app_user')),
        sa.ForeignKeyConstraint(['registered_by_id'], ['app_user.id'],
                                name=op.f('fk_secret_register_entry_registered_by_id_app_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_secret_register_entry')),
        sa.UniqueConstraint('document_id', name=op.f('uq_secret_register_entry_document_id')),
        sa.UniqueConstraint('org_id', 'year', 'serial', name='uq_secret_serial'),
    )


NO_DELETE_SQLITE = ("CREATE TRIGGER issued_document_no_delete BEFORE DELETE ON issued_document "
                    "BEGIN SELECT RAISE(ABORT, 'issued documents are never deleted'); END")


def downgrade() -> None:
    op.drop_table('secret_register_entry')
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint('ck_issued_document_secrecy', 'issued_document', type_='check')
        op.drop_column('issued_document', 'secrecy')
        return
    # A later rebuild of the table (0023) turned the column's CHECK into the table's, which
    # SQLite's DROP COLUMN refuses: rebuild without both, and give the table back its trigger.
    op.execute("PRAGMA defer_foreign_keys = ON")
    with op.batch_alter_table('issued_document', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_issued_document_secrecy'), type_='check')
        batch_op.drop_column('secrecy')
    op.execute("DROP TRIGGER IF EXISTS issued_document_no_delete")
    op.execute(NO_DELETE_SQLITE)
