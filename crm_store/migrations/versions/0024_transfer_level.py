"""transfer to a level: a waiting call may be meant for the agents of one unit

`desk_waiting_call.unit_id` is set when an agent transfers the caller to another level of the organisation (the
provincial center, the head office's desk): only agents of that unit or the units below it take the call. Null:
any agent with the queue's skill. No foreign key (the column is added in place on SQLite, without rebuilding the
table and its partial index).
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0024_transfer_level"
down_revision: str | None = "0023_report_notices"


def upgrade() -> None:
    op.add_column("desk_waiting_call", sa.Column("unit_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("desk_waiting_call", schema=None) as batch_op:
        batch_op.drop_column("unit_id")
