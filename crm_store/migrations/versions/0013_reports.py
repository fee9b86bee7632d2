"""reports: the monthly roll-up of calls per unit by type, topic, hour, weekday and caller segment, and the months rolled up

One row per month, unit, dimension and value: a report reads a few dozen rows per unit and month (one indexed range
per month and unit) instead of a month of raw calls.
"""

import sqlalchemy as sa
from alembic import op

from crm_store.types import UtcDateTime

revision: str = '0013_reports'
down_revision: str | None = '0012_agents'


def upgrade() -> None:
    op.create_table('call_rollup',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('dimension', sa.String(length=16), nullable=False),
    sa.Column('value', sa.String(length=64), nullable=False),
    sa.Column('calls', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_unit.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('call_rollup', schema=None) as batch_op:
        batch_op.create_index('ix_call_rollup_month_unit', ['month', 'org_unit_id'], unique=False)

    op.create_table('call_rollup_month',
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('complete', sa.Boolean(), nullable=False),
    sa.Column('calls', sa.Integer(), nullable=False),
    sa.Column('rolled_up_at', UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('month')
    )


def downgrade() -> None:
    # Dropping a table drops its indexes.
    op.drop_table('call_rollup_month')
    op.drop_table('call_rollup')
