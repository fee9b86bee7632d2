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


class Dimension(StrEnum):
    """What a roll-up row counts calls by: each call is counted once under every dimension."""

    TYPE = "type"
    TOPIC = "topic"
    HOUR = "hour"  # 0-23, Korea time
    WEEKDAY = "weekday"  # 1 Monday to 7 Sunday, Korea time
    SEGMENT = "segment"  # the caller's at the roll-up
    HOTLINE = "hotline"  # the number called (Twilio's To), E.164


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
