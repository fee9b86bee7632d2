"""report notices: the month's stored reports announced to the people of each unit

`report_notice` is one staff member's notice of one stored report (read or not) with the text message sent for it
when they asked for one; `report_message_setting` is the mobile number a staff member wants those messages at.
"""

import sqlalchemy as sa
from alembic import op

from crm_store.types import UtcDateTime

revision: str = "0023_report_notices"
down_revision: str | None = "0022_dispatch_vendors"


def upgrade() -> None:
    op.create_table(
        "report_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("read_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("message_status", sa.String(length=16), nullable=True),
        sa.Column("message_to", sa.String(length=20), nullable=True),
        sa.Column("message_sid", sa.String(length=34), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(["report_id"], ["stored_report.id"]),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("staff_id", "report_id", name="ux_report_notice_staff_report"),
    )
    with op.batch_alter_table("report_notice", schema=None) as batch_op:
        batch_op.create_index("ix_report_notice_staff_read", ["staff_id", "read_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_report_notice_report_id"), ["report_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_report_notice_message_status"), ["message_status"], unique=False)
    op.create_table(
        "report_message_setting",
        sa.Column("staff_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("sms_to", sa.String(length=20), nullable=False),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"]),
        sa.PrimaryKeyConstraint("staff_id"),
    )


def downgrade() -> None:
    op.drop_table("report_message_setting")
    op.drop_table("report_notice")
