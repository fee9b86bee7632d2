"""Complaint time limits on Korea's business calendar: 설날, 추석 and substitute holidays, KST days, FSS referrals,
the extension and the steps' limits, from configuration (fixed dates, never today's)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time

import pytest

from crm_store.calendar import KST, BusinessCalendar
from crm_store.complaints.deadlines import (
    business_days_left,
    deadlines_for,
    extended_resolve_by,
    load_limits,
    step_due,
)

LIMITS = load_limits()


def eod(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=KST)


@pytest.mark.parametrize(
    ("received", "acknowledge_day", "resolve_day"),
    [
        # A Friday before 설날 (16-18 Feb 2026) and 삼일절's substitute day (2 Mar): 14 business days end 11 March,
        # six calendar days later than without those holidays (5 March).
        (datetime(2026, 2, 13, 15, 0, tzinfo=KST), date(2026, 2, 13), date(2026, 3, 11)),
        # Received on 설날 itself: acknowledged the next business day; the holiday is not counted either way.
        (datetime(2026, 2, 17, 10, 0, tzinfo=KST), date(2026, 2, 19), date(2026, 3, 11)),
        # 설날 2027 falls on a Sunday: its substitute day (9 Feb) and 삼일절 (1 Mar) are skipped.
        (datetime(2027, 2, 5, 17, 0, tzinfo=KST), date(2027, 2, 5), date(2027, 3, 2)),
        # The day before 추석 2026 (24-26 Sep), across 개천절's substitute day (5 Oct) and 한글날 (9 Oct).
        (datetime(2026, 9, 23, 9, 0, tzinfo=KST), date(2026, 9, 23), date(2026, 10, 19)),
    ],
)
def test_acknowledge_on_the_day_and_resolve_on_the_fourteenth_business_day_after_it(
    received: datetime, acknowledge_day: date, resolve_day: date
) -> None:
    limits = deadlines_for(received, channel="call", limits=LIMITS)
    assert limits.acknowledge_by == eod(acknowledge_day)
    assert limits.resolve_by == eod(resolve_day)
    assert limits.resolve_by.utcoffset() == KST.utcoffset(limits.resolve_by)
    assert limits.mediation_by is None


def test_the_day_is_korea_s_not_utc_s() -> None:
    # 15:30 UTC on Friday 13 February 2026 is 00:30 on Saturday in Korea: acknowledged after 설날, on Thursday 19th.
    limits = deadlines_for(datetime(2026, 2, 13, 15, 30, tzinfo=UTC), channel="web", limits=LIMITS)
    assert limits.acknowledge_by == eod(date(2026, 2, 19))
    # Counted from Saturday 14th: the same 14th business day as from Friday (the weekend adds none).
    assert limits.resolve_by == eod(date(2026, 3, 11))


def test_an_fss_referral_is_answered_within_thirty_days_and_mediation_limit_is_sixty() -> None:
    limits = deadlines_for(datetime(2026, 2, 13, 15, 0, tzinfo=KST), channel="fss", limits=LIMITS)
    # 30 days after 13 Feb is Sunday 15 March: the answer is due on the business day before, Friday 13 March.
    assert limits.resolve_by == eod(date(2026, 3, 13))
    assert limits.mediation_by == eod(date(2026, 4, 14))


def test_the_extension_adds_its_business_days_across_holidays() -> None:
    resolve_by = eod(date(2026, 9, 18))
    # 10 business days after Friday 18 Sep 2026: 21, 22, 23, (추석 24-26), 28, 29, 30, 1, 2, (5 Oct), 6, 7.
    assert extended_resolve_by(resolve_by, limits=LIMITS) == eod(date(2026, 10, 7))


def test_limits_are_configuration() -> None:
    text = json.dumps({"resolve_business_days": 3, "extension_business_days": 2, "steps": {"verification": 5}})
    custom = load_limits(text)
    received = datetime(2026, 2, 13, 15, 0, tzinfo=KST)
    limits = deadlines_for(received, channel="call", limits=custom)
    assert limits.resolve_by == eod(date(2026, 2, 23))  # 19, 20, 23 (설날 skipped)
    # A step's limit never falls after the resolve limit.
    assert step_due("verification", received_at=received, resolve_by=limits.resolve_by, limits=custom) == (
        limits.resolve_by
    )


def test_each_step_is_due_on_its_business_day_after_receipt() -> None:
    received = datetime(2026, 2, 13, 15, 0, tzinfo=KST)
    resolve_by = deadlines_for(received, channel="call", limits=LIMITS).resolve_by
    assert step_due("verification", received_at=received, resolve_by=resolve_by, limits=LIMITS) == eod(
        date(2026, 2, 19)
    )
    assert step_due("feedback", received_at=received, resolve_by=resolve_by, limits=LIMITS) == resolve_by


def test_business_days_left_count_down_and_go_negative_when_overdue() -> None:
    resolve_by = eod(date(2026, 3, 11))
    assert business_days_left(resolve_by, now=datetime(2026, 2, 13, 10, tzinfo=KST)) == 14
    assert business_days_left(resolve_by, now=datetime(2026, 3, 11, 10, tzinfo=KST)) == 0
    assert business_days_left(resolve_by, now=datetime(2026, 3, 13, 10, tzinfo=KST)) == -2


def test_a_company_closed_day_is_skipped_too() -> None:
    calendar = BusinessCalendar(closed_days=frozenset({date(2026, 9, 23)}))
    received = datetime(2026, 9, 23, 9, 0, tzinfo=KST)
    limits = deadlines_for(received, channel="call", limits=LIMITS, calendar=calendar)
    assert limits.acknowledge_by == eod(date(2026, 9, 28))
    assert limits.resolve_by == eod(date(2026, 10, 19))


def test_the_configured_topics_are_the_taxonomy_s_complaint_topics() -> None:
    # The store imports nothing of the workers: the topics and their disclosure category are configuration that
    # must follow the classifier's taxonomy.
    from workers.understanding.taxonomy import load_taxonomy

    assert sorted(LIMITS.topics) == sorted(load_taxonomy().topics_of("complaint"))
