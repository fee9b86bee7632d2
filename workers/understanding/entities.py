"""Entities in a call transcript: policy numbers, plates, dates and times, places, money, people.

``analyse`` is the one pipeline every caller shares: normalise Korean numbers, find personal numbers,
mask them, and find the other entities.  Entity offsets index the redacted text (the text that is
stored and served), so ``redacted[e.start:e.end] == e.text`` for every entity; entities of the
personal-number kinds carry only their mask, never the digits.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime

from workers.understanding.redaction import MASKS, find_policy_numbers, find_sensitive, normalise
from workers.understanding.timeexpr import find_times

__all__ = ["Entity", "analyse", "extract_entities"]


@dataclass(frozen=True)
class Entity:
    """One fact found in the transcript; start/end index the redacted text."""

    kind: str
    text: str
    value: str
    start: int
    end: int

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return asdict(self)


_REGIONS = "서울|부산|대구|인천|광주|대전|울산|세종|경기|강원|충북|충남|전북|전남|경북|경남|제주"
_PLATE_LETTERS = "가나다라마거너더러머버서어저고노도로모보소오조구누두루무부수우주아바사자배하허호육해공국합"
_PLATE = re.compile(rf"(?<![가-힣0-9])(?:({_REGIONS})\s?)?(\d{{2,3}})\s?([{_PLATE_LETTERS}])\s?(\d{{4}})(?!\d)")
_MONEY = re.compile(r"(?<![\d.])(\d+)\s?(만|억)?\s?원(?![가-힣]*(?:장|님|인))")
_CITIES = (
    "서울|부산|대구|인천|광주|대전|울산|세종|제주|수원|성남|분당|판교|일산|고양|용인|부천|안산|안양|남양주|화성|동탄|평택|"
    "의정부|시흥|파주|김포|광명|하남|구리|오산|군포|이천|여주|청주|천안|아산|전주|익산|군산|창원|마산|김해|양산|거제|진주|"
    "포항|경주|구미|안동|춘천|원주|강릉|속초|여수|순천|목포|송도|부평|해운대|서면|강남|강북|강서|강동|서초|송파|마포|용산|"
    "종로|영등포|구로|노원|은평|성수|잠실|여의도|홍대|신촌|목동|상암|예산|서산|당진|문막"
)
# A province named before its city in an address ("경기도 성남시 ...", "제주특별자치도 제주시 ...").
_PROVINCES = "경기|강원|충청북|충청남|전라북|전라남|전북|경상북|경상남|충북|충남|전남|경북|경남|제주"
_PLACE_PATTERNS = [
    re.compile(r"[가-힣]{2,6}\s?(?:고속도로|고속국도|간선도로|순환도로|순환로|대로)(?:\s(?:" + _CITIES + r")\s?방향)?"),
    re.compile(
        r"(?:(?<=\s)|^)[가-힣A-Za-z0-9]{1,8}\s?(?:IC|JC|나들목|분기점|톨게이트|요금소|휴게소|교차로|사거리|삼거리|"
        r"오거리|네거리|로터리|터널|대교|역|터미널|지하주차장|주차장|공항|시장|공단|산업단지|아파트|병원|공원)"
        r"(?:(?![가-힣A-Za-z])|(?=에서|에|의|은|는|을|를|이|가|도|으로|로|까지|부터|쪽|앞|근처|방향|입구))"
    ),
    re.compile(
        r"(?<![가-힣])[가-힣]{1,8}(?:대로|로|길)\s?\d{1,4}(?:번길)?(?:\s?\d{1,4})?(?!\s?(?:시|분|명|대|개|번|원|일))"
    ),
    re.compile(
        rf"(?<![가-힣])(?:(?:{_PROVINCES})(?:특별자치도|도)\s?)?(?:{_CITIES})(?:특별시|광역시|특별자치시|시|도)?"
        r"(?:\s?[가-힣]{1,4}(?:구|군))?"
        r"(?:\s?[가-힣]{1,5}(?:동|읍|면|리)(?![가-힣]))?"
    ),
    re.compile(r"(?<![가-힣])[가-힣]{1,4}(?:구|군)\s[가-힣]{1,5}(?:동|읍|면)(?![가-힣])"),
    re.compile(r"(?:국도|지방도)\s?\d{1,3}\s?호선"),
]
_PLACE_STOPWORDS = frozenset(
    {
        "그",
        "이",
        "저",
        "거기",
        "여기",
        "저기",
        "어느",
        "무슨",
        "어떤",
        "그냥",
        "제",
        "저희",
        "우리",
        "집",
        "역",
        "지금",
        "근처",
        "앞",
        "이번",
        "다른",
    }
)
_SURNAMES = (
    "김이박최정강조윤장임한오서신권황안송류유전홍고문양손배백허남심노하곽성차주우구민진나지엄채원천방공현함변염여추"
    "도소석선설마길연위표명기반왕금옥육인맹제모탁국어은편용"
)
_PERSON = re.compile(
    rf"(?:제\s?이름은|이름은|성함은|저는|본인은|계약자는|피보험자는|안녕하세요|여보세요)\s*,?\s*"
    rf"([{_SURNAMES}][가-힣]{{1,2}}?)(?:이라고|라고|입니다|이에요|예요|인데요|이고요|고요)"
)
_VEHICLE_MODELS = (
    "쏘나타|소나타|그랜저|아반떼|K3|K5|K7|K8|K9|쏘렌토|스포티지|투싼|싼타페|산타페|카니발|모닝|레이|스파크|제네시스\\s?G\\d{2}|"
    "G80|G90|GV70|GV80|벤츠\\s?[A-Z]?클래스|BMW\\s?\\d{3}|BMW\\s?\\d시리즈|아이오닉\\s?\\d|EV\\d|포터|봉고|티볼리|QM6|코란도|"
    "팰리세이드|캐스퍼|니로|셀토스|테슬라\\s?모델\\s?[3SXY]|아우디\\s?A\\d|트레일블레이저|말리부|스타리아|쏘울|베뉴|코나"
)
_VEHICLE = re.compile(rf"(?<![가-힣A-Za-z])({_VEHICLE_MODELS})(?![A-Za-z0-9])")

Span = tuple[int, int, str, str]  # start, end, kind, value (offsets in normalised text)


def _free(start: int, end: int, taken: list[tuple[int, int]]) -> bool:
    return not any(start < e and s < end for s, e in taken)


def _plates(text: str) -> list[Span]:
    spans: list[Span] = []
    for match in _PLATE.finditer(text):
        region, head, letter, tail = match.groups()
        if len(head) == 3 and not 100 <= int(head) <= 999:
            continue
        spans.append((match.start(), match.end(), "vehicle_plate", f"{region or ''}{head}{letter}{tail}"))
    return spans


def _money(text: str) -> list[Span]:
    spans: list[Span] = []
    for match in _MONEY.finditer(text):
        amount = int(match.group(1)) * {"만": 10_000, "억": 100_000_000}.get(match.group(2) or "", 1)
        if amount >= 100:
            spans.append((match.start(), match.end(), "money", str(amount)))
    return spans


def _places(text: str) -> list[Span]:
    candidates: list[tuple[int, int]] = []
    for pattern in _PLACE_PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span()
            phrase = match.group(0).strip()
            head = phrase.split()[0] if phrase.split() else ""
            if head in _PLACE_STOPWORDS and len(phrase.split()) > 1:
                start += len(head) + 1
            elif head in _PLACE_STOPWORDS or len(phrase) < 2:
                continue
            candidates.append((start, end))
    merged: list[list[int]] = []
    for start, end in sorted(candidates):
        if merged and start <= merged[-1][1] + 1 and not text[merged[-1][1] : start].strip(" "):
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e, "place", text[s:e].strip()) for s, e in merged]


def _people(text: str) -> list[Span]:
    return [(m.start(1), m.end(1), "person", m.group(1)) for m in _PERSON.finditer(text)]


def _vehicles(text: str) -> list[Span]:
    return [(m.start(), m.end(), "vehicle_model", m.group(1)) for m in _VEHICLE.finditer(text)]


def analyse(text: str, now: datetime | None = None) -> tuple[str, tuple[Entity, ...]]:
    """Normalise, redact and extract: the redacted text and its entities (offsets into it)."""
    now = now or datetime.now()
    normalised = normalise(text)
    policies = find_policy_numbers(normalised)
    taken: list[tuple[int, int]] = [(s, e) for s, e, _ in policies]
    sensitive = find_sensitive(normalised, taken)
    spans: list[Span] = [(s, e, "policy_number", v) for s, e, v in policies]
    spans += [(span.start, span.end, span.kind, MASKS[span.kind]) for span in sensitive]
    taken += [(span.start, span.end) for span in sensitive]
    for finder in (_plates, _money, _vehicles):
        for span in finder(normalised):
            if _free(span[0], span[1], taken):
                taken.append((span[0], span[1]))
                spans.append(span)
    for time_span in find_times(normalised, now):
        if _free(time_span.start, time_span.end, taken):
            taken.append((time_span.start, time_span.end))
            spans.append((time_span.start, time_span.end, time_span.kind, time_span.value))
    for finder in (_places, _people):
        for span in finder(normalised):
            if _free(span[0], span[1], taken):
                taken.append((span[0], span[1]))
                spans.append(span)
    return _rebase(normalised, spans)


def _rebase(normalised: str, spans: list[Span]) -> tuple[str, tuple[Entity, ...]]:
    """Build the redacted text and move every span onto it."""
    out: list[str] = []
    entities: list[Entity] = []
    position = 0
    length = 0
    masked_kinds = set(MASKS)
    for start, end, kind, value in sorted(spans, key=lambda s: s[0]):
        gap = normalised[position:start]
        out.append(gap)
        length += len(gap)
        piece = MASKS[kind] if kind in masked_kinds else normalised[start:end]
        out.append(piece)
        if kind != "number":
            entities.append(
                Entity(kind, piece, MASKS[kind] if kind in masked_kinds else value, length, length + len(piece))
            )
        length += len(piece)
        position = end
    out.append(normalised[position:])
    return "".join(out), tuple(entities)


def extract_entities(text: str, now: datetime | None = None) -> tuple[Entity, ...]:
    """Entities of a transcript; offsets index ``redact(text)``, personal numbers stay masked."""
    return analyse(text, now)[1]
