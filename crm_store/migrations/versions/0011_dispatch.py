"""dispatch: surveyor profiles, roadside vendors, dispatch requests and their assignments

The board reads live requests by province and due time through a partial index; one live assignment per request is
enforced by a partial unique index; a surveyor's load and the assignments waiting for acceptance have their own.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import crm_store.types
from crm_store.migrations.helpers import JSON, create_column_indexes

revision: str = '0011_dispatch'
down_revision: str | None = '0010_complaints'


def upgrade() -> None:
    op.create_table('dispatch_vendor',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('services', JSON, nullable=False),
    sa.Column('service_unit_ids', JSON, nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('position_at', crm_store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    create_column_indexes('dispatch_vendor', 'active')

    op.create_table('dispatch_surveyor',
    sa.Column('staff_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('home_unit_id', sa.Integer(), nullable=False),
    sa.Column('province_unit_id', sa.Integer(), nullable=True),
    sa.Column('skills', JSON, nullable=False),
    sa.Column('shift', JSON, nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('position_at', crm_store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('updated_at', crm_store.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['home_unit_id'], ['org_unit.id'], ),
    sa.ForeignKeyConstraint(['province_unit_id'], ['org_unit.id'], ),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('staff_id')
    )
    with op.batch_alter_table('dispatch_surveyor', schema=None) as batch_op:
        batch_op.create_index('ix_dispatch_surveyor_board', ['province_unit_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatch_surveyor_home_unit_id'), ['home_unit_id'], unique=False)

    op.create_table('dispatch_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('rescue_kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('skill', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('region', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=True),
    sa.Column('province_unit_id', sa.Integer(), nullable=True),
    sa.Column('what_happened', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('vehicles', JSON, nullable=False),
    sa.Column('injured', JSON, nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('policy_id', sa.Integer(), nullable=True),
    sa.Column('call_sid', sqlmodel.sql.sqltypes.AutoString(length=34), nullable=True),
    sa.Column('contact_phone', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('segment', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('promise_minutes', sa.Integer(), nullable=True),
    sa.Column('promise_reason', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('due_at', crm_store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('dispatcher_id', sa.Integer(), nullable=True),
    sa.Column('surveyor_id', sa.Integer(), nullable=True),
    sa.Column('vendor_id', sa.Integer(), nullable=True),
    sa.Column('created_at', crm_store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('opened_at', crm_store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('assigned_at', crm_store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('accepted_at', crm_store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('en_route_at', crm_store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('on_site_at', crm_store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('reporting_at', crm_store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('done_at', crm_store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', crm_store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('late_at', crm_store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('escalated_to_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', crm_store.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.ForeignKeyConstraint(['dispatcher_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['escalated_to_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_unit.id'], ),
    sa.ForeignKeyConstraint(['policy_id'], ['policy.id'], ),
    sa.ForeignKeyConstraint(['province_unit_id'], ['org_unit.id'], ),
    sa.ForeignKeyConstraint(['surveyor_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['vendor_id'], ['dispatch_vendor.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('dispatch_request', schema=None) as batch_op:
        batch_op.create_index('ix_dispatch_request_board', ['province_unit_id', 'due_at'], unique=False, postgresql_where=sa.text("state NOT IN ('done', 'cancelled')"), sqlite_where=sa.text("state NOT IN ('done', 'cancelled')"))
        batch_op.create_index(batch_op.f('ix_dispatch_request_call_sid'), ['call_sid'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatch_request_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatch_request_org_unit_id'), ['org_unit_id'], unique=False)
        batch_op.create_index('ix_dispatch_request_state_due', ['state', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatch_request_surveyor_id'), ['surveyor_id'], unique=False)

    op.create_table('dispatch_assignment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('surveyor_id', sa.Integer(), nullable=True),
    sa.Column('vendor_id', sa.Integer(), nullable=True),
    sa.Column('assigned_by_id', sa.Integer(), nullable=True),
    sa.Column('assigned_at', crm_store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('accept_by', crm_store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', crm_store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', crm_store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.ForeignKeyConstraint(['assigned_by_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['request_id'], ['dispatch_request.id'], ),
    sa.ForeignKeyConstraint(['surveyor_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['vendor_id'], ['dispatch_vendor.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('dispatch_assignment', schema=None) as batch_op:
        batch_op.create_index('ix_dispatch_assignment_surveyor', ['surveyor_id', 'ended_at'], unique=False)
        batch_op.create_index('ix_dispatch_assignment_unaccepted', ['accept_by'], unique=False, postgresql_where=sa.text('ended_at IS NULL AND accepted_at IS NULL'), sqlite_where=sa.text('ended_at IS NULL AND accepted_at IS NULL'))
        batch_op.create_index('ix_dispatch_assignment_vendor', ['vendor_id', 'ended_at'], unique=False)
        batch_op.create_index('ux_dispatch_assignment_live', ['request_id'], unique=True, postgresql_where=sa.text('ended_at IS NULL'), sqlite_where=sa.text('ended_at IS NULL'))


def downgrade() -> None:
    # Dropping a table drops its indexes.
    for table in ('dispatch_assignment', 'dispatch_request', 'dispatch_surveyor', 'dispatch_vendor'):
        op.drop_table(table)
