"""agents: the desk profile of each agent (skills, endpoint, state), and customer search by name prefix

The distributor reads the available agents longest idle first through a partial index, the heartbeat duty the
online agents by their last heartbeat through another. On PostgreSQL customer names get a pattern index, so that a
search by the start of a name is an index range whatever the database's collation (the plain index on the name
serves it only under the C collation).
"""

import sqlalchemy as sa
from alembic import op

from crm_store.migrations.helpers import JSON
from crm_store.types import UtcDateTime

revision: str = '0012_agents'
down_revision: str | None = '0011_dispatch'


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.create_index('ix_customer_name_prefix', 'customer', ['name'], unique=False, postgresql_ops={'name': 'varchar_pattern_ops'})

    op.create_table('desk_agent',
    sa.Column('staff_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('skills', JSON, nullable=False),
    sa.Column('endpoint', sa.String(length=160), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('state_since', UtcDateTime(timezone=True), nullable=False),
    sa.Column('heartbeat_at', UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_call_ended_at', UtcDateTime(timezone=True), nullable=False),
    sa.Column('call_sid', sa.String(length=34), nullable=True),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('staff_id')
    )
    with op.batch_alter_table('desk_agent', schema=None) as batch_op:
        batch_op.create_index('ix_desk_agent_heartbeat', ['heartbeat_at'], unique=False, postgresql_where=sa.text("state NOT IN ('offline', 'on_call')"), sqlite_where=sa.text("state NOT IN ('offline', 'on_call')"))
        batch_op.create_index('ix_desk_agent_idle', ['last_call_ended_at', 'state_since'], unique=False, postgresql_where=sa.text("state = 'available'"), sqlite_where=sa.text("state = 'available'"))


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_customer_name_prefix', table_name='customer')
    # Dropping a table drops its indexes.
    op.drop_table('desk_agent')
