"""desk: queues, IVR menus per hotline number, calls waiting (with priority), call-back tasks

The waiting-calls table carries a partial index over waiting calls (queue, priority descending, enqueue time): the
next call of a queue and a caller's position are read from it on the live path.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import crm_store.types
from crm_store.migrations.helpers import JSON

revision: str = '0009_desk'
down_revision: str | None = '0008_webhook_text'


def upgrade() -> None:
    op.create_table(
        'desk_queue',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('hours', JSON, nullable=False),
        sa.Column('skills', JSON, nullable=False),
        sa.Column('closed_message', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'),
    )
    op.create_table(
        'desk_menu',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('hotline_number', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column('greeting', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column('prompt', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column('default_queue_id', sa.Integer(), nullable=False),
        sa.Column('updated_at', crm_store.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['default_queue_id'], ['desk_queue.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('hotline_number'),
    )
    op.create_table(
        'desk_menu_option',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('menu_id', sa.Integer(), nullable=False),
        sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=1), nullable=False),
        sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('queue_id', sa.Integer(), nullable=False),
        sa.Column('keywords', JSON, nullable=False),
        sa.ForeignKeyConstraint(['menu_id'], ['desk_menu.id']),
        sa.ForeignKeyConstraint(['queue_id'], ['desk_queue.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('menu_id', 'key', name='ux_desk_menu_option_key'),
    )
    op.create_index('ix_desk_menu_option_menu_id', 'desk_menu_option', ['menu_id'], unique=False)
    op.create_table(
        'desk_waiting_call',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('call_sid', sqlmodel.sql.sqltypes.AutoString(length=34), nullable=False),
        sa.Column('queue_id', sa.Integer(), nullable=False),
        sa.Column('priority', sa.Integer(), nullable=False),
        sa.Column('caller', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column('customer_id', sa.Integer(), nullable=True),
        sa.Column('segment', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column('blacklisted', sa.Boolean(), nullable=False),
        sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('enqueued_at', crm_store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column('left_at', crm_store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column('wait_seconds', sa.Integer(), nullable=True),
        sa.Column('queue_result', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.ForeignKeyConstraint(['customer_id'], ['customer.id']),
        sa.ForeignKeyConstraint(['queue_id'], ['desk_queue.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('call_sid'),
    )
    op.create_index(
        'ix_desk_waiting_call_next',
        'desk_waiting_call',
        ['queue_id', sa.text('priority DESC'), 'enqueued_at'],
        unique=False,
        postgresql_where=sa.text("state = 'waiting'"),
        sqlite_where=sa.text("state = 'waiting'"),
    )
    op.create_table(
        'desk_callback',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('call_sid', sqlmodel.sql.sqltypes.AutoString(length=34), nullable=False),
        sa.Column('queue_id', sa.Integer(), nullable=False),
        sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('caller', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column('customer_id', sa.Integer(), nullable=True),
        sa.Column('requested_at', crm_store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column('wait_seconds', sa.Integer(), nullable=True),
        sa.Column('recording_sid', sqlmodel.sql.sqltypes.AutoString(length=34), nullable=True),
        sa.Column('done_at', crm_store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column('done_by_id', sa.Integer(), nullable=True),
        sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.ForeignKeyConstraint(['customer_id'], ['customer.id']),
        sa.ForeignKeyConstraint(['done_by_id'], ['staff.id']),
        sa.ForeignKeyConstraint(['queue_id'], ['desk_queue.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('call_sid', 'reason', name='ux_desk_callback_call_reason'),
    )
    op.create_index('ix_desk_callback_open', 'desk_callback', ['queue_id', 'done_at', 'requested_at'], unique=False)
    op.create_index('ix_desk_callback_customer_id', 'desk_callback', ['customer_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_desk_callback_customer_id', table_name='desk_callback')
    op.drop_index('ix_desk_callback_open', table_name='desk_callback')
    op.drop_table('desk_callback')
    op.drop_index('ix_desk_waiting_call_next', table_name='desk_waiting_call')
    op.drop_table('desk_waiting_call')
    op.drop_index('ix_desk_menu_option_menu_id', table_name='desk_menu_option')
    op.drop_table('desk_menu_option')
    op.drop_table('desk_menu')
    op.drop_table('desk_queue')
