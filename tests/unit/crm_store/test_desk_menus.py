"""Menus as data: the choice a key or words make, queues' hours on Korea's business calendar, the seed."""

from __future__ import annotations

from datetime import date, time
from typing import Any

import pytest
from sqlmodel import Session, func, select

from crm_store.calendar import OpeningHours
from crm_store.desk.menus import Menu, MenuOption, QueueInfo, describe_hours
from crm_store.desk.seed import seed_desk
from crm_store.desk.tables import DeskQueue, IvrMenu, IvrOption
from crm_store.desk.waiting import is_green_channel, priority_for
from tests.desk_helpers import BUSINESS_DAY, HOLIDAY, kst


def _queue(n: int, name: str, hours: Any = "24h") -> QueueInfo:
    return QueueInfo(id=n, name=name, label=name, hours=OpeningHours.parse(hours))


ACCIDENT, CONSULT, CHANGE = _queue(1, "accident"), _queue(2, "consult"), _queue(3, "change")
MENU = Menu(
    hotline_number="+8215881234",
    greeting="안녕하십니까",
    prompt="1번, 2번, 4번",
    default_queue=ACCIDENT,
    options=(
        MenuOption("1", "사고 접수", ACCIDENT, ("사고", "출동", "견인")),
        MenuOption("2", "보험 상담", CONSULT, ("상담", "보험료")),
        MenuOption("4", "변경 신고", CHANGE, ("변경", "주소", "이사")),
    ),
)


@pytest.mark.parametrize(
    ("digits", "speech", "chosen"),
    [
        ("1", None, "accident"),
        ("2", "사고", "consult"),  # a key wins over words
        ("4#", None, "change"),
        ("9", None, None),
        ("", "", None),
        (None, "고속도로에서 사고가 나서 견인이 필요해요", "accident"),
        (None, "보험료 상담 받고 싶어요", "consult"),
        (None, "주소 변경하려고요. 사고는 아니고요", "change"),  # the earliest word said wins
        (None, "이 번", "consult"),
        (None, "사번", "change"),
        (None, "4번", "change"),
        (None, "오 번", None),  # no option 5
        (None, "날씨가 좋네요", None),
    ],
)
def test_a_key_or_the_words_said_choose_the_option(digits: str | None, speech: str | None, chosen: str | None) -> None:
    option = MENU.choose(digits=digits, speech=speech)
    assert (option.queue.name if option else None) == chosen


def test_hints_name_every_option_once() -> None:
    hints = MENU.hints.split(", ")
    assert hints[:4] == ["사고 접수", "사고", "출동", "견인"]
    assert len(hints) == len(set(hints))


def test_hours_on_koreas_business_calendar() -> None:
    weekdays = OpeningHours.parse({"mon-fri": "09:00-18:00"})
    assert weekdays.is_open(kst(BUSINESS_DAY, time(9)))
    assert not weekdays.is_open(kst(BUSINESS_DAY, time(18)))
    assert not weekdays.is_open(kst(BUSINESS_DAY, time(8, 59)))
    assert not weekdays.is_open(kst(HOLIDAY, time(10)))  # Christmas, a Friday
    assert not weekdays.is_open(kst(date(2026, 9, 25), time(10)))  # 추석 연휴, a Friday
    assert OpeningHours.parse("24h").is_open(kst(HOLIDAY, time(3)))


def test_hours_are_said_in_korean() -> None:
    assert describe_hours(OpeningHours.parse("24h")) == "상담 시간은 24시간입니다."
    said = describe_hours(OpeningHours.parse({"mon-fri": "09:00-18:00", "sat": "09:00-12:30"}))
    assert said == (
        "상담 시간은 평일 오전 9시부터 오후 6시까지, 토요일 오전 9시부터 오후 12시 30분까지입니다. 공휴일에는 쉽니다."
    )
    assert "공휴일" not in describe_hours(OpeningHours.parse({"mon-sun": "08:00-20:00", "holidays": "open"}))


def test_the_green_channel_is_for_key_and_quality_customers() -> None:
    assert priority_for("key") > priority_for("quality") > priority_for("ordinary") == 0
    assert priority_for("inferior") == priority_for(None) == 0
    assert is_green_channel("quality") and not is_green_channel("ordinary")


def test_seed_installs_the_default_menu_on_every_hotline_number_once(engine: Any) -> None:
    assert seed_desk(engine) == 6
    assert seed_desk(engine) == 0
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(IvrMenu)).one() == 6
        assert session.exec(select(func.count()).select_from(DeskQueue)).one() == 5
        assert session.exec(select(func.count()).select_from(IvrOption)).one() == 30
        accident = session.exec(select(DeskQueue).where(DeskQueue.name == "accident")).one()
        assert accident.hours == "24h" and accident.label == "사고 접수·긴급 출동"
        menu = session.exec(select(IvrMenu).where(IvrMenu.hotline_number == "+8225551000")).one()
        assert menu.default_queue_id == accident.id
