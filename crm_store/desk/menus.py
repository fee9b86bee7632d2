"""IVR menus as data: what callers of a hotline number hear, and which queue their key or words choose.

A menu is read from the tables once and kept as plain frozen values (`Menu`, `QueueInfo`), so the live path
asks only dictionaries; `load_menus` reads every menu at once (a few rows per hotline number)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.calendar import BusinessCalendar, OpeningHours
from crm_store.desk.tables import DeskQueue, IvrMenu, IvrOption

# Words a caller may say for a key ("일 번", "1번", "하나").
_SPOKEN_DIGITS = {
    "영": "0", "공": "0", "일": "1", "하나": "1", "이": "2", "둘": "2", "삼": "3", "셋": "3",
    "사": "4", "넷": "4", "오": "5", "다섯": "5", "육": "6", "여섯": "6", "칠": "7", "일곱": "7",
    "팔": "8", "여덟": "8", "구": "9", "아홉": "9",
}  # fmt: skip
_KEY_SPOKEN = re.compile(r"^(?P<key>[0-9]|영|공|일|이|삼|사|오|육|칠|팔|구|하나|둘|셋|넷|다섯|여섯|일곱|여덟|아홉)번?$")


@dataclass(frozen=True)
class QueueInfo:
    """A queue as the caller's path needs it."""

    id: int
    name: str
    label: str
    hours: OpeningHours
    skills: tuple[str, ...] = ()
    closed_message: str | None = None

    def is_open(self, moment: datetime) -> bool:
        """True when the queue takes calls at this aware moment (Korea's business calendar)."""
        return self.hours.is_open(moment)


@dataclass(frozen=True)
class MenuOption:
    """One choice of a menu."""

    key: str
    label: str
    queue: QueueInfo
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Menu:
    """The menu of one hotline number."""

    hotline_number: str
    greeting: str
    prompt: str
    default_queue: QueueInfo
    options: tuple[MenuOption, ...] = field(default=())

    @property
    def hints(self) -> str:
        """Speech hints for Twilio's recogniser: the options' words."""
        words = dict.fromkeys(word for option in self.options for word in (option.label, *option.keywords))
        return ", ".join(words)

    def choose(self, *, digits: str | None, speech: str | None) -> MenuOption | None:
        """The option the caller picked by key or by words; None when nothing (or nothing known) was given."""
        by_key = {option.key: option for option in self.options}
        if digits:
            return by_key.get(digits.strip()[:1])
        if not speech:
            return None
        said = _normalise(speech)
        if not said:
            return None
        spoken_key = _KEY_SPOKEN.match(said)
        if spoken_key is not None:
            key = spoken_key.group("key")
            return by_key.get(_SPOKEN_DIGITS.get(key, key))
        # The option whose word appears earliest in what was said wins (several may appear).
        best: tuple[int, int, MenuOption] | None = None
        for rank, option in enumerate(self.options):
            for word in (option.label, *option.keywords):
                at = said.find(_normalise(word))
                if word and at >= 0 and (best is None or (at, rank) < best[:2]):
                    best = (at, rank, option)
        return best[2] if best is not None else None


def _normalise(text: str) -> str:
    """Speech as compared: NFC, no spaces or punctuation, lower case."""
    text = unicodedata.normalize("NFC", text).lower()
    return "".join(ch for ch in text if ch.isalnum())


def queue_info(row: DeskQueue, calendar: BusinessCalendar | None = None) -> QueueInfo:
    """A stored queue as a value; its hours read on Korea's business calendar."""
    assert row.id is not None
    return QueueInfo(
        id=row.id,
        name=row.name,
        label=row.label,
        hours=OpeningHours.parse(row.hours, calendar=calendar),
        skills=tuple(row.skills or ()),
        closed_message=row.closed_message,
    )


def build_menus(
    queues: list[DeskQueue], menus: list[IvrMenu], options: list[IvrOption], calendar: BusinessCalendar | None = None
) -> tuple[dict[str, Menu], dict[str, QueueInfo]]:
    """Menus by hotline number and queues by name, from their rows."""
    by_id = {row.id: queue_info(row, calendar) for row in queues}
    choices: dict[int, list[MenuOption]] = {}
    for option in sorted(options, key=lambda o: (o.menu_id, o.key)):
        choices.setdefault(option.menu_id, []).append(
            MenuOption(
                key=option.key, label=option.label, queue=by_id[option.queue_id], keywords=tuple(option.keywords or ())
            )
        )
    built = {
        menu.hotline_number: Menu(
            hotline_number=menu.hotline_number,
            greeting=menu.greeting,
            prompt=menu.prompt,
            default_queue=by_id[menu.default_queue_id],
            options=tuple(choices.get(menu.id or 0, ())),
        )
        for menu in menus
    }
    return built, {queue.name: queue for queue in by_id.values()}


async def load_menus(
    session: AsyncSession, calendar: BusinessCalendar | None = None
) -> tuple[dict[str, Menu], dict[str, QueueInfo]]:
    """Every menu (by hotline number) and every queue (by name)."""
    queues = list((await session.exec(select(DeskQueue).order_by(col(DeskQueue.id)))).all())
    menus = list((await session.exec(select(IvrMenu))).all())
    options = list((await session.exec(select(IvrOption))).all())
    return build_menus(queues, menus, options, calendar)


def hours_spec(spec: Mapping[str, str] | str) -> Any:
    """Check an opening-hours spec (raises ValueError) and return it as stored."""
    OpeningHours.parse(spec)
    return spec if isinstance(spec, str) else dict(spec)


_DAY_NAMES = {"mon": "월요일", "tue": "화요일", "wed": "수요일", "thu": "목요일", "fri": "금요일", "sat": "토요일",
              "sun": "일요일"}  # fmt: skip


def _clock_time(moment: Any) -> str:
    hour, minute = moment.hour, moment.minute
    half = "오전" if hour < 12 else "오후"
    shown = hour if hour <= 12 else hour - 12
    return f"{half} {shown}시" + (f" {minute}분" if minute else "")


def describe_hours(hours: OpeningHours) -> str:
    """Opening hours as one Korean sentence for the caller ("상담 시간은 평일 오전 9시부터 오후 6시까지입니다. ...")."""
    if hours.always:
        return "상담 시간은 24시간입니다."
    groups: dict[tuple[Any, Any], list[str]] = {}
    for day, span in hours.weekly.items():
        groups.setdefault(span, []).append(day)
    parts = []
    for (opens, closes), days in groups.items():
        weekdays = sorted(days, key=list(_DAY_NAMES).index)
        named = "평일" if weekdays == list(_DAY_NAMES)[:5] else ", ".join(_DAY_NAMES[d] for d in weekdays)
        parts.append(f"{named} {_clock_time(opens)}부터 {_clock_time(closes)}까지")
    if not parts:
        return "지금은 상담 시간이 정해져 있지 않습니다."
    sentence = f"상담 시간은 {', '.join(parts)}입니다."
    if not hours.open_on_holidays:
        sentence += " 공휴일에는 쉽니다."
    return sentence
