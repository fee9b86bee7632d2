"""foundation: call events, calls and their recordings, the outbox of jobs, org units, staff and their API tokens,
customers with their phones, policies and claims, the blacklist
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import crm_store.types
from crm_store.migrations.helpers import JSON, create_column_indexes

revision: str = '0001'
down_revision: str | None = None


def upgrade() -> None:
    op.create_table('call_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_sid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('dedup_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('sequence_number', sa.Integer(), nullable=True),
    sa.Column('payload', JSON, nullable=False),
    sa.Column('received_at', crm_store.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedup_key')
    )
    with op.batch_alter_table('call_event', schema=None) as batch_op:
        batch_op.create_index('ix_call_event_call_sid_sequence', ['call_sid', 'sequence_number'], unique=False)

    op.create_table('org_unit',
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('path', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['org_unit.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    create_column_indexes('org_unit', 'code', 'parent_id', 'path', unique={'code'})

    op.create_table('outbox_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('queue', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('func', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('call_sid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', crm_store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('enqueued_at', crm_store.types.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('job_id')
    )
    create_column_indexes('outbox_job', 'enqueued_at')

    op.create_table('recording',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_sid', sqlmodel.sql.sqltypes.AutoString(length=34), nullable=False),
    sa.Column('recording_sid', sqlmodel.sql.sqltypes.AutoString(length=34), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('audio', sa.LargeBinary(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('fetched_at', crm_store.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('recording_sid')
    )
    create_column_indexes('recording', 'call_sid')

    op.create_table('customer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('registration_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('registration_masked', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('segment', sa.String(length=16), nullable=False),
    sa.Column('blacklisted', sa.Boolean(), nullable=False),
    sa.Column('created_at', crm_store.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_unit.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    create_column_indexes('customer', 'blacklisted', 'name', 'org_unit_id', 'registration_hash')

    op.create_table('staff',
    sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('full_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('clearance', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('password_hash', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', crm_store.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_unit.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    create_column_indexes('staff', 'org_unit_id', 'username', unique={'username'})

    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('created_at', crm_store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', crm_store.types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    create_column_indexes('api_token', 'staff_id', 'token_hash', unique={'token_hash'})

    op.create_table('blacklist_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('proposed_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', crm_store.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    create_column_indexes('blacklist_entry', 'customer_id')

    op.create_table('call',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_sid', sqlmodel.sql.sqltypes.AutoString(length=34), nullable=False),
    sa.Column('account_sid', sqlmodel.sql.sqltypes.AutoString(length=34), nullable=True),
    sa.Column('from_number', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('to_number', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('direction', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('status_sequence', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('started_at', crm_store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', crm_store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('duration', sa.Integer(), nullable=True),
    sa.Column('recording_sid', sqlmodel.sql.sqltypes.AutoString(length=34), nullable=True),
    sa.Column('recording_url', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('recording_duration', sa.Integer(), nullable=True),
    sa.Column('recording_channels', sa.Integer(), nullable=True),
    sa.Column('pipeline_state', sa.String(length=24), nullable=False),
    sa.Column('failure_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('transcript', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('transcript_raw', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('transcript_detail', JSON, nullable=True),
    sa.Column('asr_model', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('asr_sample_rate', sa.Integer(), nullable=True),
    sa.Column('type', sa.String(length=16), nullable=True),
    sa.Column('topic', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('urgency', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('entities', JSON, nullable=True),
    sa.Column('classification', JSON, nullable=True),
    sa.Column('created_at', crm_store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', crm_store.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    create_column_indexes('call', 'call_sid', 'created_at', 'customer_id', 'pipeline_state', 'type', unique={'call_sid'})

    op.create_table('customer_phone',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('e164', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    create_column_indexes('customer_phone', 'customer_id', 'e164', unique={'e164'})

    op.create_table('policy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('policy_number', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('line', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('premium', sa.BigInteger(), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    create_column_indexes('policy', 'customer_id', 'policy_number', unique={'policy_number'})

    op.create_table('claim',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=False),
    sa.Column('claim_number', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('paid_amount', sa.BigInteger(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.ForeignKeyConstraint(['policy_id'], ['policy.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    create_column_indexes('claim', 'claim_number', 'customer_id', 'policy_id', unique={'claim_number'})


def downgrade() -> None:
    # Dropping a table drops its indexes.
    for table in (
        'claim', 'policy', 'customer_phone', 'call', 'blacklist_entry', 'api_token', 'staff', 'customer',
        'recording', 'outbox_job', 'org_unit', 'call_event'
    ):
        op.drop_table(table)
