"""Korea's business calendar: holidays from the `holidays` package, business-day arithmetic, opening hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from crm_store.calendar import KST, BusinessCalendar, OpeningHours, end_of_day, kst_date

CAL = BusinessCalendar()


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (date(2026, 2, 17), "설날"),
        (date(2026, 9, 25), "추석"),
        (date(2026, 10, 5), "개천절 대체 휴일"),  # 개천절 fell on a Saturday
        (date(2027, 2, 9), "설날 대체 휴일"),  # 설날 fell on a Sunday
    ],
)
def test_lunar_and_substitute_holidays_are_not_business_days(day: date, name: str) -> None:
    assert not CAL.is_business_day(day)
    holiday = CAL.holiday_name(day)
    assert holiday is not None and name in holiday


def test_weekends_are_off_and_ordinary_weekdays_on() -> None:
    assert not CAL.is_business_day(date(2026, 11, 28))  # Saturday
    assert not CAL.is_business_day(date(2026, 11, 29))  # Sunday
    assert CAL.is_business_day(date(2026, 11, 30))


def test_the_fourteenth_business_day_across_chuseok_skips_the_holidays_and_the_substitute_day() -> None:
    # Received Monday 21 September 2026; 추석 24-26 Sep, 대체공휴일 5 Oct, 한글날 9 Oct are skipped.
    assert CAL.add_business_days(date(2026, 9, 21), 14) == date(2026, 10, 15)


def test_the_day_of_receipt_is_not_counted_and_zero_days_is_the_day_itself() -> None:
    assert CAL.add_business_days(date(2026, 11, 30), 1) == date(2026, 12, 1)
    assert CAL.add_business_days(date(2026, 11, 30), 0) == date(2026, 11, 30)
    with pytest.raises(ValueError):
        CAL.add_business_days(date(2026, 11, 30), -1)


def test_across_seollal_2027() -> None:
    # Friday 5 Feb 2027; 설날 6-8 Feb and the substitute day 9 Feb: the next business day is Wednesday 10 Feb.
    assert CAL.next_business_day(date(2027, 2, 5)) == date(2027, 2, 10)
    assert CAL.business_day_on_or_after(date(2027, 2, 7)) == date(2027, 2, 10)
    assert CAL.business_day_on_or_after(date(2027, 2, 10)) == date(2027, 2, 10)


def test_business_days_between_counts_after_the_start_up_to_the_end() -> None:
    assert CAL.business_days_between(date(2026, 9, 21), date(2026, 10, 15)) == 14
    assert CAL.business_days_between(date(2026, 10, 15), date(2026, 9, 21)) == 0


def test_closed_days_of_the_company() -> None:
    cal = BusinessCalendar(closed_days=frozenset({date(2026, 12, 31)}))
    assert not cal.is_business_day(date(2026, 12, 31))
    assert cal.holiday_name(date(2026, 12, 31)) == "회사 휴무일"


def test_korean_date_of_a_utc_moment() -> None:
    assert kst_date(datetime(2026, 11, 24, 23, 30, tzinfo=UTC)) == date(2026, 11, 25)
    assert end_of_day(date(2026, 11, 25)) == datetime(2026, 11, 25, 23, 59, 59, tzinfo=KST)
    with pytest.raises(ValueError):
        kst_date(datetime(2026, 11, 24, 23, 30))


def test_opening_hours_weekdays_and_holidays() -> None:
    hours = OpeningHours.parse({"mon-fri": "09:00-18:00", "sat": "09:00-13:00"})
    monday_morning = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)  # 09:30 KST
    assert hours.is_open(monday_morning)
    assert not hours.is_open(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))  # 18:00 KST: closed
    assert hours.is_open(datetime(2026, 11, 28, 3, 0, tzinfo=UTC))  # Saturday 12:00 KST
    assert not hours.is_open(datetime(2026, 11, 29, 3, 0, tzinfo=UTC))  # Sunday
    chuseok = datetime(2026, 9, 25, 3, 0, tzinfo=UTC)  # Friday, 추석
    assert not hours.is_open(chuseok)
    assert hours.next_opening(chuseok) == datetime(2026, 9, 28, 9, 0, tzinfo=KST)
    assert hours.next_opening(monday_morning) == monday_morning


def test_around_the_clock_and_holidays_kept_open() -> None:
    assert OpeningHours.parse("24h").is_open(datetime(2026, 9, 25, 18, 0, tzinfo=UTC))
    hours = OpeningHours.parse({"mon-sun": "08:00-22:00", "holidays": "open"})
    assert hours.is_open(datetime(2026, 9, 25, 3, 0, tzinfo=UTC))
    assert OpeningHours.around_the_clock().next_opening(datetime(2026, 9, 25, 3, 0, tzinfo=UTC)) is not None


@pytest.mark.parametrize(
    "spec",
    ["9-18", {"mon-fri": "18:00-09:00"}, {"fri-mon": "09:00-18:00"}, {"funday": "09:00-18:00"}, {"holidays": "x"}],
)
def test_bad_opening_hours_are_refused(spec: object) -> None:
    with pytest.raises(ValueError):
        OpeningHours.parse(spec)  # type: ignore[arg-type]


def test_time_fields_are_parsed() -> None:
    hours = OpeningHours.parse({"mon": "09:30-17:45"})
    assert hours.weekly["mon"] == (time(9, 30), time(17, 45))
