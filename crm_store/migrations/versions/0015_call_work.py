"""call work: what the agent enters during a live call (caller linked, accident report, complaint, change, inquiry,
note, transfer, wrap-up), each entry linked to the call and read with it through one index range; the agents
holding a call indexed by it (every form looks its holder up).
"""

import sqlalchemy as sa
from alembic import op

from crm_store.migrations.helpers import JSON
from crm_store.types import UtcDateTime

revision: str = '0015_call_work'
down_revision: str | None = '0014_offers'


def upgrade() -> None:
    op.create_table('desk_call_work',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_sid', sa.String(length=34), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('detail', JSON, nullable=False),
    sa.Column('records', JSON, nullable=False),
    sa.Column('created_at', UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('desk_call_work', schema=None) as batch_op:
        batch_op.create_index('ix_desk_call_work_call', ['call_sid', 'id'], unique=False)
    with op.batch_alter_table('desk_agent', schema=None) as batch_op:
        batch_op.create_index('ix_desk_agent_call', ['call_sid'], unique=False, postgresql_where=sa.text('call_sid IS NOT NULL'), sqlite_where=sa.text('call_sid IS NOT NULL'))


def downgrade() -> None:
    with op.batch_alter_table('desk_agent', schema=None) as batch_op:
        batch_op.drop_index('ix_desk_agent_call', postgresql_where=sa.text('call_sid IS NOT NULL'), sqlite_where=sa.text('call_sid IS NOT NULL'))
    op.drop_table('desk_call_work')
