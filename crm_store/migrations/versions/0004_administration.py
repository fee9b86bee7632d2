"""administration: org units can be closed (active); the audit trail also records administrative changes
(who changed which org unit or staff member, before and after), and changes made from the command line

Written by hand: batch mode, so that SQLite rebuilds audit_entry to relax its NOT NULL columns.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

from crm_store.migrations.helpers import JSON

revision: str = '0004'
down_revision: str | None = '0003'


def upgrade() -> None:
    with op.batch_alter_table('org_unit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False))

    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.alter_column('staff_id', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column('customer_id', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column(
            'action',
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=16),
            type_=sqlmodel.sql.sqltypes.AutoString(length=32),
            existing_nullable=False,
        )
        batch_op.add_column(sa.Column('target', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('org_unit_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('detail', JSON, nullable=True))
        batch_op.create_foreign_key('fk_audit_entry_org_unit_id_org_unit', 'org_unit', ['org_unit_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_audit_entry_org_unit_id'), ['org_unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entry_username'), ['username'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_entry_username'))
        batch_op.drop_index(batch_op.f('ix_audit_entry_org_unit_id'))
        batch_op.drop_constraint('fk_audit_entry_org_unit_id_org_unit', type_='foreignkey')
        batch_op.drop_column('detail')
        batch_op.drop_column('org_unit_id')
        batch_op.drop_column('target')
        batch_op.alter_column(
            'action',
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=32),
            type_=sqlmodel.sql.sqltypes.AutoString(length=16),
            existing_nullable=False,
        )
        batch_op.alter_column('customer_id', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('staff_id', existing_type=sa.Integer(), nullable=False)

    with op.batch_alter_table('org_unit', schema=None) as batch_op:
        batch_op.drop_column('active')
