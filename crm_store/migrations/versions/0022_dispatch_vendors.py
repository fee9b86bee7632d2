"""dispatch vendors and messages: the text messages of dispatch kept until sent

`dispatch_message` holds each text message a step of dispatch calls for (the surveyor's or vendor's assignment, the
customer's arrival estimate), written in the step's transaction and sent by the workers, retried with back-off, so
that a crash or restart of the gateway loses none. The vendors' registration (name, services, service areas, phone,
active) uses the columns `dispatch_vendor` already has.
"""

import sqlalchemy as sa
from alembic import op

from crm_store.types import UtcDateTime

revision: str = "0022_dispatch_vendors"
# Follows 0021_desk_waiting once merged; 0020_claim_survey while that migration is not on this branch.
down_revision: str | None = "0021_desk_waiting"


def upgrade() -> None:
    op.create_table(
        "dispatch_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("to_phone", sa.String(length=32), nullable=False),
        sa.Column("from_phone", sa.String(length=32), nullable=False),
        sa.Column("body", sa.String(length=1000), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("message_sid", sa.String(length=64), nullable=True),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["dispatch_request.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("dispatch_message", schema=None) as batch_op:
        batch_op.create_index("ix_dispatch_message_request_id", ["request_id"], unique=False)
        batch_op.create_index(
            "ix_dispatch_message_pending",
            ["next_attempt_at"],
            unique=False,
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )


def downgrade() -> None:
    # Dropping a table drops its indexes.
    op.drop_table("dispatch_message")
