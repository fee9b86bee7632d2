"""complaint departments: the departments of each unit, coordination's sub-tasks, customer notices, reminders, the
months' stored analyses and their corrective actions; a plain index on the complaints' resolve limit

The customer management department of every unit owns its complaints without a row; the department rows add the
others. Notices are written in a step's transaction and sent by the workers (a partial index over those pending).
"""

import sqlalchemy as sa
from alembic import op

from crm_store.migrations.helpers import JSON
from crm_store.types import UtcDateTime

revision: str = "0016_complaint_departments"
down_revision: str | None = "0015_call_work"

TABLES = (
    "complaint_corrective_action",
    "complaint_month_report",
    "complaint_reminder",
    "complaint_notice",
    "complaint_subtask",
    "complaint_department",
)


def upgrade() -> None:
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.create_index("ix_complaint_resolve_by", ["resolve_by", "id"], unique=False)

    op.create_table(
        "complaint_department",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_unit_id"],
            ["org_unit.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_unit_id", "code", name="ux_complaint_department_unit_code"),
    )
    op.create_table(
        "complaint_subtask",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("what", sa.String(length=500), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("owner_username", sa.String(length=64), nullable=False),
        sa.Column("due_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("done_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("done_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaint.id"],
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["staff.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("complaint_subtask", schema=None) as batch_op:
        batch_op.create_index("ix_complaint_subtask_complaint_id", ["complaint_id"], unique=False)
        batch_op.create_index(
            "ix_complaint_subtask_owner_open",
            ["owner_id", "due_at"],
            unique=False,
            postgresql_where=sa.text("done_at IS NULL"),
            sqlite_where=sa.text("done_at IS NULL"),
        )

    op.create_table(
        "complaint_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("to_phone", sa.String(length=32), nullable=False),
        sa.Column("body", sa.String(length=1000), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("message_sid", sa.String(length=64), nullable=True),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaint.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("complaint_id", "kind", "step_id", name="ux_complaint_notice_step"),
    )
    with op.batch_alter_table("complaint_notice", schema=None) as batch_op:
        batch_op.create_index("ix_complaint_notice_complaint_id", ["complaint_id"], unique=False)
        batch_op.create_index(
            "ix_complaint_notice_pending",
            ["next_attempt_at"],
            unique=False,
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )

    op.create_table(
        "complaint_reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("limit_name", sa.String(length=16), nullable=False),
        sa.Column("due_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaint.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("complaint_id", "limit_name", "due_at", name="ux_complaint_reminder"),
    )
    op.create_table(
        "complaint_month_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), nullable=False),
        sa.Column("figures", JSON, nullable=False),
        sa.Column("generated_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("generated_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_unit_id"],
            ["org_unit.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("month", "org_unit_id", name="ux_complaint_month_report"),
    )
    op.create_table(
        "complaint_corrective_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), nullable=False),
        sa.Column("finding", sa.String(length=2000), nullable=False),
        sa.Column("what", sa.String(length=2000), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("done_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("done_note", sa.String(length=2000), nullable=True),
        sa.Column("effect_checked_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("effect", sa.String(length=2000), nullable=True),
        sa.Column("closed_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_unit_id"],
            ["org_unit.id"],
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["staff.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("complaint_corrective_action", schema=None) as batch_op:
        batch_op.create_index("ix_corrective_action_unit_open", ["org_unit_id", "closed_at", "due_date"], unique=False)


def downgrade() -> None:
    # Dropping a table drops its indexes.
    for table in TABLES:
        op.drop_table(table)
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.drop_index("ix_complaint_resolve_by")
