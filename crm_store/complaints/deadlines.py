"""Time limits of complaints on Korea's business calendar (KST), read from configuration (`limits.json`).

- acknowledge: by the end of the day of receipt when it is a business day, else of the next business day;
- resolve: by the end of the 14th business day after the day of receipt (that day is not counted);
- one extension with a reason adds `extension_business_days` to the resolve limit;
- FSS referrals: an answer within `fss.resolve_days` calendar days (on a closed day, the business day before), and
  the mediation limit `fss.mediation_days` after receipt; no extension;
- each step is due on its business day after receipt (`steps`), never after the resolve limit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from crm_store.calendar import BusinessCalendar, end_of_day, kst_date

STEPS_WITH_LIMITS = ("verification", "registration", "transfer", "coordination", "handling", "feedback")


class FssLimits(BaseModel):
    """Limits of a complaint referred by the Financial Supervisory Service (금융감독원 이첩 민원)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    resolve_days: int = Field(default=30, ge=1, description="calendar days from receipt to the answer")
    mediation_days: int = Field(default=60, ge=1, description="calendar days from receipt to the mediation limit")
    extendable: bool = Field(default=False, description="whether the one extension is allowed")


class LevelRules(BaseModel):
    """The highest org level that owns a complaint, by channel and by topic (0 head office .. 3 county)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    channels: dict[str, int] = Field(default_factory=dict)
    topics: dict[str, int] = Field(default_factory=dict)


class ComplaintLimits(BaseModel):
    """The complaint configuration: time limits, owning levels, topics and their disclosure categories."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    resolve_business_days: int = Field(default=14, ge=1)
    extension_business_days: int = Field(default=10, ge=1)
    max_extensions: int = Field(default=1, ge=0)
    fss: FssLimits = Field(default_factory=FssLimits)
    steps: dict[str, int] = Field(default_factory=dict)
    escalate_again_after_business_days: int = Field(default=1, ge=1)
    remind_business_days_before: int = Field(default=2, ge=0)
    default_department: str = Field(default="customer_management", max_length=64)
    levels: LevelRules = Field(default_factory=LevelRules)
    handling_levels: dict[str, int] = Field(default_factory=dict)
    topics: dict[str, Literal["sales", "maintenance", "claims_payment", "other"]] = Field(default_factory=dict)

    def owning_level(self, *, channel: str, topic: str | None) -> int | None:
        """The highest level (smallest number) the channel or topic asks for; None when neither asks."""
        wanted = [
            level
            for level in (self.levels.channels.get(channel), self.levels.topics.get(topic or ""))
            if level is not None
        ]
        return min(wanted) if wanted else None


@cache
def load_limits(text: str | None = None) -> ComplaintLimits:
    """The packaged complaint limits (or those in `text`, JSON)."""
    if text is None:
        text = resources.files("crm_store.complaints").joinpath("limits.json").read_text(encoding="utf-8")
    return ComplaintLimits.model_validate(json.loads(text))


@dataclass(frozen=True)
class ComplaintTerms:
    """The complaint limits and the business calendar they are counted on, which go together to every store
    function that opens, steps or escalates complaints (the packaged limits and Korea's calendar unless given)."""

    limits: ComplaintLimits = field(default_factory=load_limits)
    calendar: BusinessCalendar = field(default_factory=BusinessCalendar)


class Deadlines(BaseModel):
    """The limits of one complaint, as aware datetimes (end of a Korean day)."""

    model_config = ConfigDict(frozen=True)
    acknowledge_by: datetime
    resolve_by: datetime
    mediation_by: datetime | None = None


def deadlines_for(
    received_at: datetime, *, channel: str, limits: ComplaintLimits, calendar: BusinessCalendar | None = None
) -> Deadlines:
    """The acknowledge and resolve limits of a complaint received at this aware moment."""
    calendar = calendar or BusinessCalendar()
    day = kst_date(received_at)
    acknowledge_by = end_of_day(calendar.business_day_on_or_after(day))
    if channel == "fss":
        answer_day = _business_day_on_or_before(calendar, day + timedelta(days=limits.fss.resolve_days))
        return Deadlines(
            acknowledge_by=acknowledge_by,
            resolve_by=end_of_day(answer_day),
            mediation_by=end_of_day(day + timedelta(days=limits.fss.mediation_days)),
        )
    return Deadlines(
        acknowledge_by=acknowledge_by,
        resolve_by=end_of_day(calendar.add_business_days(day, limits.resolve_business_days)),
    )


def extended_resolve_by(
    resolve_by: datetime, *, limits: ComplaintLimits, calendar: BusinessCalendar | None = None
) -> datetime:
    """The resolve limit after the extension: `extension_business_days` more business days."""
    calendar = calendar or BusinessCalendar()
    return end_of_day(calendar.add_business_days(kst_date(resolve_by), limits.extension_business_days))


def step_due(
    step: str,
    *,
    received_at: datetime,
    resolve_by: datetime,
    limits: ComplaintLimits,
    calendar: BusinessCalendar | None = None,
) -> datetime:
    """When a step is due: its business day after receipt (end of day KST), never after the resolve limit; a step
    without a configured limit is due at the resolve limit."""
    days = limits.steps.get(step)
    if days is None:
        return resolve_by
    calendar = calendar or BusinessCalendar()
    due = end_of_day(calendar.add_business_days(kst_date(received_at), days))
    return min(due, resolve_by)


def escalate_again_at(now: datetime, *, limits: ComplaintLimits, calendar: BusinessCalendar | None = None) -> datetime:
    """When an escalated complaint, still overdue, may move up again: the end of a later business day."""
    calendar = calendar or BusinessCalendar()
    return end_of_day(calendar.add_business_days(kst_date(now), limits.escalate_again_after_business_days))


def remind_horizon(now: datetime, *, limits: ComplaintLimits, calendar: BusinessCalendar | None = None) -> datetime:
    """Limits up to this moment are near enough for a reminder: the end of the business day that lies
    `remind_business_days_before` business days after today (today's end when 0)."""
    calendar = calendar or BusinessCalendar()
    return end_of_day(calendar.add_business_days(kst_date(now), limits.remind_business_days_before))


def business_days_left(resolve_by: datetime, *, now: datetime, calendar: BusinessCalendar | None = None) -> int:
    """Business days from today (KST) up to the resolve limit's day; negative when overdue by that many."""
    calendar = calendar or BusinessCalendar()
    today, last = kst_date(now), kst_date(resolve_by)
    if last >= today:
        return calendar.business_days_between(today, last)
    return -calendar.business_days_between(last, today)


def _business_day_on_or_before(calendar: BusinessCalendar, day: date) -> date:
    while not calendar.is_business_day(day):
        day -= timedelta(days=1)
    return day
