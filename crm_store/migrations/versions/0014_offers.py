"""offers: the call distributor's offers of waiting calls to agents, and what a wallboard reads of each call

Each offer (who, when, until when, how it ended) is a row; open offers are unique per call and per agent. A waiting
call names the agent holding its open offer (the distributor's claim, re-checked under the row lock), the agent who
took it, when it was answered and when the conversation ended. Agents in wrap-up are found by an index for the
after-call timer.
"""

import sqlalchemy as sa
from alembic import op

from crm_store.types import UtcDateTime

revision: str = "0014_offers"
down_revision: str | None = "0013_reports"


def upgrade() -> None:
    op.create_table(
        "desk_offer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("waiting_call_id", sa.Integer(), nullable=False),
        sa.Column("call_sid", sa.String(length=34), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("offered_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("answered_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("connected_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("gateway", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["desk_queue.id"],
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
        ),
        sa.ForeignKeyConstraint(
            ["waiting_call_id"],
            ["desk_waiting_call.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("desk_offer", schema=None) as batch_op:
        batch_op.create_index("ix_desk_offer_call", ["waiting_call_id", "staff_id"], unique=False)
        batch_op.create_index(
            "ix_desk_offer_connecting",
            ["answered_at"],
            unique=False,
            postgresql_where=sa.text("outcome = 'accepted'"),
            sqlite_where=sa.text("outcome = 'accepted'"),
        )
        batch_op.create_index(
            "ix_desk_offer_due",
            ["expires_at"],
            unique=False,
            postgresql_where=sa.text("outcome IS NULL"),
            sqlite_where=sa.text("outcome IS NULL"),
        )
        batch_op.create_index(
            "ux_desk_offer_open_agent",
            ["staff_id"],
            unique=True,
            postgresql_where=sa.text("outcome IS NULL"),
            sqlite_where=sa.text("outcome IS NULL"),
        )
        batch_op.create_index(
            "ux_desk_offer_open_call",
            ["waiting_call_id"],
            unique=True,
            postgresql_where=sa.text("outcome IS NULL"),
            sqlite_where=sa.text("outcome IS NULL"),
        )

    with op.batch_alter_table("desk_waiting_call", schema=None) as batch_op:
        batch_op.add_column(sa.Column("offered_to_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("agent_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("answered_at", UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("ended_at", UtcDateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key("desk_waiting_call_offered_to_id_fkey", "staff", ["offered_to_id"], ["id"])
        batch_op.create_foreign_key("desk_waiting_call_agent_id_fkey", "staff", ["agent_id"], ["id"])

    with op.batch_alter_table("desk_agent", schema=None) as batch_op:
        batch_op.create_index(
            "ix_desk_agent_wrap_up",
            ["state_since"],
            unique=False,
            postgresql_where=sa.text("state = 'wrap_up'"),
            sqlite_where=sa.text("state = 'wrap_up'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("desk_agent", schema=None) as batch_op:
        batch_op.drop_index("ix_desk_agent_wrap_up")
    with op.batch_alter_table("desk_waiting_call", schema=None) as batch_op:
        batch_op.drop_constraint("desk_waiting_call_agent_id_fkey", type_="foreignkey")
        batch_op.drop_constraint("desk_waiting_call_offered_to_id_fkey", type_="foreignkey")
        batch_op.drop_column("ended_at")
        batch_op.drop_column("answered_at")
        batch_op.drop_column("agent_id")
        batch_op.drop_column("offered_to_id")
    # Dropping a table drops its indexes.
    op.drop_table("desk_offer")
