"""Dates and times as callers say them ("어제 저녁 7 시쯤", "지난주 화요일", "3월 5일 오후 2시").

Works on normalised text (numbers already digits).  Relative expressions are resolved against a
reference moment ``now`` (the call's start time); the value is ISO 8601: ``2024-03-04`` for a
date, ``19:00`` for a time, ``2024-03-04T19:00`` for both.  An hour said without 오전/오후 is a
best guess (1 to 6 o'clock taken as afternoon); the spoken words stay in the entity's text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

__all__ = ["TimeSpan", "find_times"]

WEEKDAYS = {"월": 0, "화": 1, "수": 2, "목": 3, "금": 4, "토": 5, "일": 6}
_DAY_WORDS = {
    "오늘": 0,
    "금일": 0,
    "오늘밤": 0,
    "어제": -1,
    "어저께": -1,
    "어젯밤": -1,
    "간밤": -1,
    "그제": -2,
    "그저께": -2,
    "엊그제": -2,
    "엊그저께": -2,
    "내일": 1,
    "낼": 1,
    "모레": 2,
    "글피": 3,
}
_PERIODS = ("새벽", "아침", "오전", "점심", "낮", "오후", "저녁", "밤")

_DAY_WORD = r"(오늘밤|오늘|금일|어젯밤|어제|어저께|간밤|엊그저께|엊그제|그저께|그제|내일|낼|모레|글피)"
_WEEK = r"(지난\s?주|저번\s?주|이번\s?주|다음\s?주|담주|금주|지난|저번|이번|다음)?\s?([월화수목금토일])요일"
_ABS = (
    r"(?:(작년|올해|재작년|지난해|\d{4}|\d{2})\s?년\s?)?(지난\s?달|이번\s?달|다음\s?달|\d{1,2}\s?월)\s?(\d{1,2})\s?일"
)
_MONTH_PART = r"(?:(작년|올해|\d{4})\s?년\s?)?(\d{1,2})\s?월\s?(초|초순|중순|말|말경)"
_REL = r"(\d+)\s?(분|시간|일|주일|주|달|개월|년)\s?(전|후|뒤|만에)"
_RECENT = r"(방금|아까|조금\s?전|좀\s?전에|막)(?=\s|$|에)"
_CLOCK = (
    r"(?:(새벽|아침|오전|점심|낮|오후|저녁|밤)\s?)?(\d{1,2})\s?시(?!간)\s?(?:(\d{1,2})\s?분|(반))?"
    r"(?:\s?(쯤|경|정도|께))?"
)
_PERIOD_ALONE = r"(새벽|아침|오전|점심때|점심|낮|오후|저녁|밤)(?:에|쯤)?"
_NOON = r"(정오|자정)"

_DATE_PATTERNS = [
    ("abs", re.compile(_ABS)),
    ("month_part", re.compile(_MONTH_PART)),
    ("week", re.compile(rf"(?<![가-힣]){_WEEK}")),
    ("day", re.compile(rf"(?<![가-힣]){_DAY_WORD}")),
    ("rel", re.compile(rf"(?<![\d]){_REL}")),
    ("recent", re.compile(rf"(?<![가-힣]){_RECENT}")),
]
_CLOCK_RE = re.compile(rf"(?<![\d]){_CLOCK}")
_NOON_RE = re.compile(_NOON)
_PERIOD_RE = re.compile(rf"(?<![가-힣]){_PERIOD_ALONE}")
_JOIN = re.compile(r"^\s?(?:에|,|에는)?\s?$")


@dataclass(frozen=True)
class TimeSpan:
    """A date or time expression found in normalised text."""

    start: int
    end: int
    kind: str  # date | time | datetime
    value: str


def _hour(period: str | None, hour: int) -> int:
    if period in ("오후", "저녁"):
        return hour + 12 if hour < 12 else hour
    if period == "밤":
        if hour == 12:
            return 24
        return hour + 12 if hour >= 6 else hour
    if period in ("점심", "낮"):
        return hour if hour >= 11 else hour + 12
    if period in ("새벽", "아침", "오전"):
        return 0 if hour == 12 else hour
    return hour + 12 if 1 <= hour <= 6 else hour


def _resolve_date(kind: str, match: re.Match[str], now: datetime) -> tuple[date | None, str | None]:
    today = now.date()
    if kind == "day":
        word = match.group(1)
        period = "밤" if word in ("어젯밤", "오늘밤", "간밤") else None
        return today + timedelta(days=_DAY_WORDS[word]), period
    if kind == "week":
        which, weekday_name = match.group(1), match.group(2)
        weekday = WEEKDAYS[weekday_name]
        which = (which or "").replace(" ", "")
        monday = today - timedelta(days=today.weekday())
        if which in ("지난주", "저번주"):
            return monday - timedelta(days=7) + timedelta(days=weekday), None
        if which in ("이번주", "금주", "이번"):
            return monday + timedelta(days=weekday), None
        if which in ("다음주", "담주"):
            return monday + timedelta(days=7 + weekday), None
        if which == "다음":
            ahead = (weekday - today.weekday()) % 7 or 7
            return today + timedelta(days=ahead), None
        back = (today.weekday() - weekday) % 7
        if which in ("지난", "저번") and back == 0:
            back = 7
        return today - timedelta(days=back), None
    if kind == "abs":
        year_word, month_word, day_text = match.group(1), match.group(2).replace(" ", ""), match.group(3)
        year = _year(year_word, today)
        if month_word in ("지난달", "이번달", "다음달"):
            shift = {"지난달": -1, "이번달": 0, "다음달": 1}[month_word]
            month_index = today.year * 12 + today.month - 1 + shift
            year, month = divmod(month_index, 12)
            month += 1
        else:
            month = int(month_word.rstrip("월"))
        try:
            resolved = date(year, month, int(day_text))
        except ValueError:
            return None, None
        if year_word is None and resolved > today + timedelta(days=62):
            resolved = resolved.replace(year=year - 1) if not (month == 2 and resolved.day == 29) else resolved
        return resolved, None  # "12월 24일" said in March is last December
    if kind == "month_part":
        year = _year(match.group(1), today)
        month = int(match.group(2))
        if not 1 <= month <= 12:
            return None, None
        part = match.group(3)
        day = 5 if part.startswith("초") else 15 if part == "중순" else 25
        return date(year, month, day), None
    if kind == "rel":
        amount, unit, direction = int(match.group(1)), match.group(2), match.group(3)
        sign = -1 if direction == "전" else 1
        days = {"일": 1, "주": 7, "주일": 7, "달": 30, "개월": 30, "년": 365}.get(unit)
        if days is None:
            return None, None
        return today + timedelta(days=sign * amount * days), None
    return today, None


def _year(word: str | None, today: date) -> int:
    if word is None or word == "올해":
        return today.year
    if word in ("작년", "지난해"):
        return today.year - 1
    if word == "재작년":
        return today.year - 2
    year = int(word)
    return year + 2000 if year < 100 else year


def find_times(text: str, now: datetime) -> list[TimeSpan]:
    """Date, time and date-time expressions in normalised text, resolved against ``now``."""
    dates: list[tuple[int, int, date | None, str | None, str]] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _DATE_PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(start < e and s < end for s, e in taken):
                continue
            if kind == "recent" or (kind == "rel" and match.group(2) in ("분", "시간")):
                moment = _relative_moment(kind, match, now)
                if moment is None:
                    continue
                taken.append((start, end))
                dates.append((start, end, None, moment, kind))
                continue
            resolved, period = _resolve_date(kind, match, now)
            if resolved is None:
                continue
            taken.append((start, end))
            dates.append((start, end, resolved, period, kind))
    clocks: list[tuple[int, int, int, int]] = []
    for match in _CLOCK_RE.finditer(text):
        hour_spoken = int(match.group(2))
        if not 0 <= hour_spoken <= 24 or any(match.start() < e and s < match.end() for s, e in taken):
            continue
        minute = 30 if match.group(4) else int(match.group(3) or 0)
        if minute > 59:
            continue
        period = match.group(1)
        if period is None:
            before = text[max(0, match.start() - 8) : match.start()]
            inherited = re.search(r"(새벽|아침|오전|점심|낮|오후|저녁|밤)\s?$", before)
            period = inherited.group(1) if inherited else None
            if period is None:
                for _start, e, _, p, _ in dates:
                    if p and 0 <= match.start() - e <= 3:
                        period = p
        clocks.append((match.start(), match.end(), _hour(period, hour_spoken), minute))
    for match in _NOON_RE.finditer(text):
        clocks.append((match.start(), match.end(), 12 if match.group(1) == "정오" else 24, 0))
    periods = [
        (m.start(), m.end(), m.group(1))
        for m in _PERIOD_RE.finditer(text)
        if not any(m.start() < e and s < m.end() for s, e, _, _ in clocks)
    ]

    spans: list[TimeSpan] = []
    used_clocks: set[int] = set()
    for start, end, resolved, extra, _kind in dates:
        if resolved is None:
            assert extra is not None
            spans.append(TimeSpan(start, end, "datetime", extra))
            continue
        assert resolved is not None
        joined_end = end
        for index, (c_start, c_end, hour, minute) in enumerate(clocks):
            gap = text[joined_end:c_start]
            between_periods = [p for p in periods if joined_end <= p[0] and p[1] <= c_start]
            if index in used_clocks or c_start < joined_end:
                continue
            stripped = gap
            for p_start, p_end, _ in between_periods:
                stripped = stripped.replace(text[p_start:p_end], "")
            if _JOIN.match(stripped) or (between_periods and len(stripped.strip()) <= 1):
                when = datetime.combine(resolved, datetime.min.time()) + timedelta(hours=hour, minutes=minute)
                spans.append(TimeSpan(start, c_end, "datetime", when.strftime("%Y-%m-%dT%H:%M")))
                used_clocks.add(index)
                break
        else:
            spans.append(TimeSpan(start, end, "date", resolved.isoformat()))
    for index, (c_start, c_end, hour, minute) in enumerate(clocks):
        if index in used_clocks:
            continue
        label_start = c_start
        spans.append(TimeSpan(label_start, c_end, "time", f"{hour % 24:02d}:{minute:02d}"))
    return sorted(spans, key=lambda span: span.start)


def _relative_moment(kind: str, match: re.Match[str], now: datetime) -> str | None:
    if kind == "recent":
        return now.strftime("%Y-%m-%dT%H:%M")
    amount, unit, direction = int(match.group(1)), match.group(2), match.group(3)
    sign = -1 if direction == "전" else 1
    if unit == "분":
        delta = timedelta(minutes=amount)
    elif unit == "시간":
        delta = timedelta(hours=amount)
    else:
        return None
    return (now + sign * delta).strftime("%Y-%m-%dT%H:%M")
