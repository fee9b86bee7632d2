"""Tables of the reports: the calls of each month counted per unit and per (type, topic, hour, weekday, caller
segment), and which months have been rolled up, so that a report reads counts, never a month of raw calls."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, SmallInteger, String
from sqlmodel import Field, SQLModel

from crm_store.types import UtcDateTime

# What a count stands for when the call has no type or topic yet, or no known caller.
UNCLASSIFIED = "unclassified"
UNKNOWN_CALLER = "unknown"


class CallRollup(SQLModel, table=True):
    """How many calls of `month` (Korea time) a unit had with this type, topic, hour, weekday and caller segment.

    A call belongs to its customer's unit, else to the unit of its review item, else to the head office; hour (0-23)
    and weekday (1 Monday to 7 Sunday) are Korea's; the segment is the caller's at the roll-up."""

    __tablename__ = "call_rollup"
    __table_args__ = (Index("ix_call_rollup_month_unit", "month", "org_unit_id"),)
    id: int | None = Field(default=None, primary_key=True)
    month: date  # the month's first day
    org_unit_id: int = Field(foreign_key="org_unit.id")
    type: str = Field(sa_type=String(16))
    topic: str = Field(sa_type=String(64))
    hour: int = Field(sa_type=SmallInteger)
    weekday: int = Field(sa_type=SmallInteger)
    segment: str = Field(sa_type=String(16))
    calls: int


class CallRollupMonth(SQLModel, table=True):
    """A month that has been rolled up: when, how many calls, and whether the month had ended by then (a month
    still running is rolled up again once its roll-up has aged)."""

    __tablename__ = "call_rollup_month"
    month: date = Field(primary_key=True)
    complete: bool
    calls: int
    rolled_up_at: datetime = Field(sa_type=UtcDateTime)
