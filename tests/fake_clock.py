"""Clocks tests set by hand.

`FakeClock` is for code that takes its clock as an argument (periodic duties, the store's `now=`/`as_of=`).
`business_day` is for code that reads the clock itself, such as the API's handlers deciding today's alerts and
segments: the whole process sees that day in Korea, the clock ticking on from there.
"""

from __future__ import annotations

from datetime import date, datetime, time

import time_machine

from crm_store.validation import BUSINESS_TZ


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def business_day(day: date, at: time = time(10)) -> time_machine.travel:
    """A context in which this process's clock reads `day` at `at` (10:00 unless told) in Korea, then ticks."""
    return time_machine.travel(datetime.combine(day, at, tzinfo=BUSINESS_TZ), tick=True)
