"""claim survey: the claim records the survey report filed for it

`claim.stage` says how far the claim's handling has come beside its status (`survey_reported` once the surveyor's
report is filed) and `claim.survey_report_id` names that report (no foreign key: `survey_report.claim_id` points the
other way).
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0020_claim_survey"
down_revision: str | None = "0019_live_transcripts"


def upgrade() -> None:
    with op.batch_alter_table("claim", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stage", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("survey_report_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("claim", schema=None) as batch_op:
        batch_op.drop_column("survey_report_id")
        batch_op.drop_column("stage")
