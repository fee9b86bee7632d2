"""desk waiting calls by the time they were queued

The wallboard's counts of the day and the monthly report's service level, abandonment and waits read the waiting
calls of a period (`enqueued_at` in a range); without this index each read scanned every waiting call ever queued.
"""

from alembic import op

revision: str = "0021_desk_waiting"
down_revision: str | None = "0020_claim_survey"


def upgrade() -> None:
    op.create_index("ix_desk_waiting_call_enqueued_at", "desk_waiting_call", ["enqueued_at"])


def downgrade() -> None:
    op.drop_index("ix_desk_waiting_call_enqueued_at", table_name="desk_waiting_call")
