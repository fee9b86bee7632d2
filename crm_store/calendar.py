"""Korea's business calendar: business days (weekends and public holidays off, lunar and substitute holidays
included, from the maintained `holidays` package) and opening hours, reckoned in Korea time (KST).

Deadlines counted in business days (complaints' 14 business days) and the hours of the hotline's queues
both come from here, so that a holiday is a holiday everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays

KST = ZoneInfo("Asia/Seoul")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@cache
def _public_holidays(year: int) -> Mapping[date, str]:
    """Korea's public holidays of one year with their Korean names (설날, 추석, 대체공휴일, ...)."""
    return dict(holidays.country_holidays("KR", years=year, language="ko"))


@dataclass(frozen=True)
class BusinessCalendar:
    """Business days in Korea: Monday to Friday except public holidays and the company's own closed days."""

    closed_days: frozenset[date] = frozenset()

    def holiday_name(self, day: date) -> str | None:
        """The holiday's Korean name, or None on an ordinary day."""
        if day in self.closed_days:
            return "회사 휴무일"
        return _public_holidays(day.year).get(day)

    def is_business_day(self, day: date) -> bool:
        """True on a weekday that is neither a public holiday nor a closed day of the company."""
        return day.weekday() < 5 and self.holiday_name(day) is None

    def next_business_day(self, day: date) -> date:
        """The first business day after `day`."""
        day += timedelta(days=1)
        while not self.is_business_day(day):
            day += timedelta(days=1)
        return day

    def business_day_on_or_after(self, day: date) -> date:
        """`day` itself when it is a business day, else the next one."""
        return day if self.is_business_day(day) else self.next_business_day(day)

    def add_business_days(self, day: date, count: int) -> date:
        """The `count`-th business day after `day` (the day itself is not counted); `count` >= 0."""
        if count < 0:
            raise ValueError("count must not be negative")
        for _ in range(count):
            day = self.next_business_day(day)
        return day

    def business_days_between(self, start: date, end: date) -> int:
        """Business days after `start` up to and including `end` (0 when `end` is not after `start`)."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            if self.is_business_day(day):
                count += 1
        return count


def kst_date(moment: datetime) -> date:
    """The date in Korea of an aware moment."""
    if moment.tzinfo is None:
        raise ValueError("an aware datetime is required")
    return moment.astimezone(KST).date()


def end_of_day(day: date) -> datetime:
    """The last moment of a Korean day (23:59:59 KST), as an aware datetime."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=KST)


@dataclass(frozen=True)
class OpeningHours:
    """When something is open, in Korea time: weekly hours, closed on holidays unless it keeps them.

    `weekly` maps a weekday ("mon".."sun") to (opens, closes); a day not listed is closed. `always` is open at
    every moment (accident reports are taken 24 hours a day)."""

    weekly: Mapping[str, tuple[time, time]] = field(default_factory=dict)
    always: bool = False
    open_on_holidays: bool = False
    calendar: BusinessCalendar = field(default_factory=BusinessCalendar)

    @classmethod
    def around_the_clock(cls) -> OpeningHours:
        """Open every moment of every day."""
        return cls(always=True)

    @classmethod
    def parse(cls, spec: Mapping[str, str] | str, *, calendar: BusinessCalendar | None = None) -> OpeningHours:
        """From configuration: "24h", or {"mon-fri": "09:00-18:00", "sat": "09:00-13:00", "holidays": "open"}."""
        calendar = calendar or BusinessCalendar()
        if isinstance(spec, str):
            if spec.strip().lower() in {"24h", "always"}:
                return cls(always=True, calendar=calendar)
            raise ValueError(f"opening hours: expected '24h' or a mapping, got {spec!r}")
        weekly: dict[str, tuple[time, time]] = {}
        open_on_holidays = False
        for key, value in spec.items():
            if key == "holidays":
                if value not in ("open", "closed"):
                    raise ValueError("opening hours: holidays is 'open' or 'closed'")
                open_on_holidays = value == "open"
                continue
            for day in _weekday_range(key):
                weekly[day] = _hours(value)
        return cls(weekly=weekly, open_on_holidays=open_on_holidays, calendar=calendar)

    def is_open(self, moment: datetime) -> bool:
        """True when open at this aware moment."""
        if self.always:
            return True
        local = moment.astimezone(KST)
        if not self.open_on_holidays and self.calendar.holiday_name(local.date()) is not None:
            return False
        hours = self.weekly.get(WEEKDAYS[local.weekday()])
        return hours is not None and hours[0] <= local.time() < hours[1]

    def next_opening(self, moment: datetime, *, horizon_days: int = 31) -> datetime | None:
        """The next moment it opens at or after `moment` (None when it never opens within the horizon)."""
        if self.is_open(moment):
            return moment
        local = moment.astimezone(KST)
        for offset in range(horizon_days + 1):
            day = local.date() + timedelta(days=offset)
            hours = self.weekly.get(WEEKDAYS[day.weekday()])
            if hours is None:
                continue
            if not self.open_on_holidays and self.calendar.holiday_name(day) is not None:
                continue
            opens = datetime.combine(day, hours[0], tzinfo=KST)
            if opens >= local:
                return opens
        return None


def _weekday_range(key: str) -> Iterable[str]:
    key = key.strip().lower()
    if "-" in key:
        first, last = (part.strip() for part in key.split("-", 1))
        if first not in WEEKDAYS or last not in WEEKDAYS:
            raise ValueError(f"opening hours: unknown weekday range {key!r}")
        i, j = WEEKDAYS.index(first), WEEKDAYS.index(last)
        if j < i:
            raise ValueError(f"opening hours: weekday range goes backwards: {key!r}")
        return WEEKDAYS[i : j + 1]
    if key not in WEEKDAYS:
        raise ValueError(f"opening hours: unknown weekday {key!r}")
    return (key,)


def _hours(value: str) -> tuple[time, time]:
    try:
        opens, closes = (time.fromisoformat(part.strip()) for part in value.split("-", 1))
    except ValueError as err:
        raise ValueError(f"opening hours: expected 'HH:MM-HH:MM', got {value!r}") from err
    if closes <= opens:
        raise ValueError(f"opening hours: closes before it opens: {value!r}")
    return opens, closes
