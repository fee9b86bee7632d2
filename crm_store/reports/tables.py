"""Tables of the reports: the calls of each month counted per unit by type, topic, hour, weekday and caller
segment, and which months have been rolled up, so that a report reads counts, never a month of raw calls."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm_store.types import JsonDocument, UtcDateTime

# What a count stands for when the call has no type or topic yet, or no known caller.
UNCLASSIFIED = "unclassified"
UNKNOWN_CALLER = "unknown"
# The channels of the roll-up's `channel` dimension: a call to a hotline number, an agent's call back.
PHONE = "phone"
CALLBACK = "callback"


class Dimension(StrEnum):
    """What a roll-up row counts calls by: each call is counted once under every dimension."""

    TYPE = "type"
    TOPIC = "topic"
    HOUR = "hour"  # 0-23, Korea time
    WEEKDAY = "weekday"  # 1 Monday to 7 Sunday, Korea time
    SEGMENT = "segment"  # the caller's at the roll-up
    HOTLINE = "hotline"  # the number called (Twilio's To), E.164
    CHANNEL = "channel"  # Twilio's Direction (inbound, outbound-api, outbound-dial): the report folds it to channels


class CallRollup(SQLModel, table=True):
    """How many calls of `month` (Korea time) a unit had with this value of one dimension (the type "inquiry", the
    hour "10", ...): one row per month, unit, dimension and value, so a month of a unit is a few dozen rows
    whatever the number of calls. A call belongs to its customer's unit, else to the unit of its review item,
    else to the head office."""

    __tablename__ = "call_rollup"
    __table_args__ = (Index("ix_call_rollup_month_unit", "month", "org_unit_id"),)
    id: int | None = Field(default=None, primary_key=True)
    month: date  # the month's first day
    org_unit_id: int = Field(foreign_key="org_unit.id")
    dimension: Dimension = Field(sa_type=String(16))
    value: str = Field(max_length=64)
    calls: int


class CallRollupMonth(SQLModel, table=True):
    """A month that has been rolled up: when, how many calls, and whether the month had ended by then (a month
    still running is rolled up again once its roll-up has aged)."""

    __tablename__ = "call_rollup_month"
    month: date = Field(primary_key=True)
    complete: bool
    calls: int
    rolled_up_at: datetime = Field(sa_type=UtcDateTime)


class StoredReport(SQLModel, table=True):
    """A monthly customer-center report as generated (by the workers at the start of the next month, or on demand):
    the report's answer kept whole, so opening or exporting it reads one row. One per month and unit; generating
    again replaces it. Read by the people whose scope holds the unit."""

    __tablename__ = "stored_report"
    __table_args__ = (UniqueConstraint("month", "org_unit_id", name="ux_stored_report_month_unit"),)
    id: int | None = Field(default=None, primary_key=True)
    month: date = Field(index=True)  # the month's first day
    org_unit_id: int = Field(foreign_key="org_unit.id", index=True)
    body: dict[str, Any] = Field(sa_type=JsonDocument)
    generated_at: datetime = Field(sa_type=UtcDateTime)
    generated_by: str = Field(max_length=64)  # a username, or "workers"


class ReportNotice(SQLModel, table=True):
    """The announcement of a stored report to one staff member of its unit (a console notice, unread until they
    open it or mark it read) and, when they asked for one (`ReportMessageSetting`), the text message telling them:
    `message_status` pending until the workers send it, then sent or failed; None without a message."""

    __tablename__ = "report_notice"
    __table_args__ = (
        UniqueConstraint("staff_id", "report_id", name="ux_report_notice_staff_report"),
        Index("ix_report_notice_staff_read", "staff_id", "read_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id")
    report_id: int = Field(foreign_key="stored_report.id", index=True)
    created_at: datetime = Field(sa_type=UtcDateTime)
    read_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    message_status: str | None = Field(default=None, max_length=16, index=True)
    message_to: str | None = Field(default=None, max_length=20)
    message_sid: str | None = Field(default=None, max_length=34)
    attempts: int = 0
    error: str | None = Field(default=None, max_length=300)


class ReportMessageSetting(SQLModel, table=True):
    """A staff member's wish to be told of the month's reports by text message besides the console notice: the
    mobile number (E.164) to send it to. No row: the console notice only."""

    __tablename__ = "report_message_setting"
    staff_id: int = Field(foreign_key="staff.id", primary_key=True, sa_column_kwargs={"autoincrement": False})
    sms_to: str = Field(max_length=20)
    updated_at: datetime = Field(sa_type=UtcDateTime)
