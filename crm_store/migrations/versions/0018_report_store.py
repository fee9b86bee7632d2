"""report store: the monthly customer-center reports as generated, one per month and unit

Each row keeps the report's answer whole (JSON), so listing, opening and exporting a report reads one row, never the
roll-up or the calls again.
"""

import sqlalchemy as sa
from alembic import op

from crm_store.migrations.helpers import JSON
from crm_store.types import UtcDateTime

revision: str = '0018_report_store'
down_revision: str | None = '0017_survey_reports'


def upgrade() -> None:
    op.create_table('stored_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('body', JSON, nullable=False),
    sa.Column('generated_at', UtcDateTime(timezone=True), nullable=False),
    sa.Column('generated_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('month', 'org_unit_id', name='ux_stored_report_month_unit')
    )
    with op.batch_alter_table('stored_report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stored_report_month'), ['month'], unique=False)
        batch_op.create_index(batch_op.f('ix_stored_report_org_unit_id'), ['org_unit_id'], unique=False)


def downgrade() -> None:
    op.drop_table('stored_report')
