"""survey reports: the surveyor's report of a survey (damage, liability, estimate, the customer's signature), attached
to the claim, and its photos

Photos and signatures are kept in the database (bounded in size by the gateway) so that every gateway process serves
them.
"""

import sqlalchemy as sa
from alembic import op

from crm_store.types import UtcDateTime

revision: str = '0017_survey_reports'
down_revision: str | None = '0016_complaint_departments'


def upgrade() -> None:
    op.create_table('survey_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=True),
    sa.Column('surveyor_id', sa.Integer(), nullable=True),
    sa.Column('damage', sa.String(length=4000), nullable=False),
    sa.Column('liability_percent', sa.Integer(), nullable=False),
    sa.Column('estimate_won', sa.BigInteger(), nullable=False),
    sa.Column('signature_png', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['claim.id'], ),
    sa.ForeignKeyConstraint(['request_id'], ['dispatch_request.id'], ),
    sa.ForeignKeyConstraint(['surveyor_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('request_id')
    )
    with op.batch_alter_table('survey_report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_report_claim_id'), ['claim_id'], unique=False)

    op.create_table('survey_photo',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('content_type', sa.String(length=32), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['survey_report.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('survey_photo', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_photo_report_id'), ['report_id'], unique=False)


def downgrade() -> None:
    op.drop_table('survey_photo')
    op.drop_table('survey_report')
