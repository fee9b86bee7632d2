"""complaints: numbered complaints (a sequence per year), their linked calls, and the append-only dossier

The complaint table carries the queue index (unit, state, resolve limit), a partial index over open complaints'
resolve limits for the overdue sweep, and a partial unique index that allows one open complaint per customer and
topic (a repeat links to it). The dossier (complaint_step) refuses UPDATE and DELETE in the database itself, like
the audit trail.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import crm_store.types
from crm_store.migrations.helpers import (
    JSON,
    allow_update_and_delete,
    create_column_indexes,
    refuse_update_and_delete,
)

revision: str = '0010_complaints'
down_revision: str | None = '0009_desk'

DOSSIER = 'complaint_step'


def upgrade() -> None:
    op.create_table('complaint_number_sequence',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('year')
    )
    op.create_table('complaint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('topic', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('severity', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('summary', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('department', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('handler_id', sa.Integer(), nullable=True),
    sa.Column('opened_by_id', sa.Integer(), nullable=True),
    sa.Column('fss_reference', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('received_at', crm_store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('acknowledge_by', crm_store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', crm_store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('resolve_by', crm_store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('mediation_by', crm_store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('step_due_at', crm_store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('extensions', sa.Integer(), nullable=False),
    sa.Column('extension_reason', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('escalations', sa.Integer(), nullable=False),
    sa.Column('escalate_again_at', crm_store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('repeats', sa.Integer(), nullable=False),
    sa.Column('reopened', sa.Integer(), nullable=False),
    sa.Column('closed_at', crm_store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', crm_store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', crm_store.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.ForeignKeyConstraint(['handler_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['opened_by_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number'),
    sa.UniqueConstraint('year', 'sequence', name='ux_complaint_year_sequence')
    )
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_complaint_open_resolve_by', ['resolve_by'], unique=False, postgresql_where=sa.text("state <> 'closed'"), sqlite_where=sa.text("state <> 'closed'"))
        batch_op.create_index('ix_complaint_queue', ['org_unit_id', 'state', 'resolve_by'], unique=False)
        batch_op.create_index('ux_complaint_open_customer_topic', ['customer_id', 'topic'], unique=True, postgresql_where=sa.text("state <> 'closed' AND topic IS NOT NULL"), sqlite_where=sa.text("state <> 'closed' AND topic IS NOT NULL"))

    op.create_table('complaint_call',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('call_sid', sqlmodel.sql.sqltypes.AutoString(length=34), nullable=False),
    sa.Column('linked_at', crm_store.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('complaint_id', 'call_sid', name='ux_complaint_call')
    )
    create_column_indexes('complaint_call', 'call_sid', 'complaint_id')

    op.create_table('complaint_step',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('from_state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('to_state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('form', JSON, nullable=False),
    sa.Column('created_at', crm_store.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], ),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_unit.id'], ),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    create_column_indexes('complaint_step', 'complaint_id')

    refuse_update_and_delete(DOSSIER)


def downgrade() -> None:
    allow_update_and_delete(DOSSIER)
    # Dropping a table drops its indexes.
    for table in (DOSSIER, 'complaint_call', 'complaint', 'complaint_number_sequence'):
        op.drop_table(table)
