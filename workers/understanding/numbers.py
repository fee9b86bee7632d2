"""Korean number words to digits, as a caller says them and a speech engine writes them.

Sino-Korean numerals are read two ways on the phone: positionally ("삼백만" is 3,000,000) and
digit by digit ("공일공 일이삼사" is 010 1234).  Native numerals (한, 두, 일곱, 열두) only count
things, so they are converted only before a counter ("일곱 시", "두 명").  Many number syllables
are also ordinary words (이사 "moving", 오후 "afternoon", 사원 "employee", 이천 the city), so a
run is converted only where the context says it is a number: a counter or particle after it,
a neighbouring digit group, or a valid positional reading.
"""

from __future__ import annotations

import re

__all__ = ["korean_numbers_to_digits", "parse_sino"]

DIGITS = {"영": 0, "공": 0, "일": 1, "이": 2, "삼": 3, "사": 4, "오": 5, "육": 6, "륙": 6, "칠": 7, "팔": 8, "구": 9}
SMALL_UNITS = {"십": 10, "백": 100, "천": 1000}
BIG_UNITS = {"만": 10_000, "억": 100_000_000}
_SINO_CHARS = "".join(DIGITS) + "".join(SMALL_UNITS) + "".join(BIG_UNITS)

NATIVE_TENS = {
    "열": 10,
    "스물": 20,
    "스무": 20,
    "서른": 30,
    "마흔": 40,
    "쉰": 50,
    "예순": 60,
    "일흔": 70,
    "여든": 80,
    "아흔": 90,
}
NATIVE_UNITS = {
    "한": 1,
    "하나": 1,
    "두": 2,
    "둘": 2,
    "세": 3,
    "셋": 3,
    "석": 3,
    "네": 4,
    "넷": 4,
    "넉": 4,
    "다섯": 5,
    "여섯": 6,
    "일곱": 7,
    "여덟": 8,
    "아홉": 9,
}

# Counters after which a sino number is certainly a number (longest first where prefixes overlap).
COUNTERS = (
    "개월",
    "시간",
    "차선",
    "번지",
    "번길",
    "번째",
    "퍼센트",
    "프로",
    "킬로",
    "키로",
    "미터",
    "센티",
    "주년",
    "등급",
    "평",
    "년",
    "월",
    "일",
    "시",
    "분",
    "초",
    "원",
    "번",
    "호",
    "층",
    "동",
    "세",
    "살",
    "회",
    "명",
    "개",
    "대",
    "건",
    "주",
    "가",
    "차",
    "km",
    "m",
    "%",
)
# A single number syllable joined to these counters is a number ("삼층", "구월"); joined to others
# it is usually a word ("사원" employee, "오시면" if you come, "이분" this person).
_JOINED_SINGLE_OK = ("개월", "차선", "번지", "킬로", "키로", "등급", "년", "월", "층", "초", "분", "세")
# A single number syllable standing alone before a counter is a number, except before these counters (native
# numerals take 살 and 번째; after the others a lone syllable is as likely a word).
_SPACED_SINGLE_OK = tuple(
    c for c in COUNTERS if c not in {"번길", "번째", "주년", "평", "원", "동", "살", "가", "차", "m"}
)
# "이" is also the demonstrative "this": "이 분", "이 번", "이 건", "이 일", "이 주", "이 대".
_DEMONSTRATIVE_COUNTERS = ("분", "번", "건", "일", "주", "대", "명", "개", "호", "시간", "시")
_NATIVE_COUNTERS = ("시간", "번째", "군데", "가지", "바퀴", "시", "살", "명", "대", "개", "달", "번", "곳")
_NATIVE_JOINED_OK = ("시간", "번째", "시", "살", "명", "개", "달")

PARTICLES = (
    "이에요",
    "이예요",
    "입니다",
    "이고요",
    "이구요",
    "인데요",
    "인데",
    "이요",
    "에서",
    "에는",
    "부터",
    "까지",
    "정도",
    "쯤",
    "경",
    "에",
    "이",
    "가",
    "은",
    "는",
    "을",
    "를",
    "도",
    "요",
    "의",
    "로",
    "으로",
    "만",
    "째",
    "짜리",
    "가량",
    "이나",
    "나",
    "밖에",
    "하고",
    "랑",
    "이랑",
    "하구",
    "씩",
    "반",
    "전",
    "후",
    "다시",
    "대",
    "이고",
    "고",
    "이죠",
    "죠",
    "예요",
    "에요",
    "라고",
    "이라고",
)
# Words made only of number syllables that are words first.
_WORD_EXCEPTIONS = frozenset(
    {
        "일일이",
        "삼삼오오",
        "사사오입",
        "구구단",
        "천천히",
        "천만에",
        "천만에요",
        "공공",
        "일단",
        "이번",
        "이분",
    }
)
# Cities whose names are numbers ("이천 IC", "사천시"): a number only before a number counter.
_PLACE_NUMBERS = frozenset({"이천", "사천", "삼천", "오천"})
_PLACE_FOLLOWERS = (
    "시",
    "IC",
    "나들목",
    "톨게이트",
    "요금소",
    "휴게소",
    "역",
    "터미널",
    "에서",
    "쪽",
    "방향",
    "으로",
    "까지",
    "에",
    "동",
    "공단",
    "대교",
    "터널",
    "분기점",
    "JC",
)

_RUN = re.compile(
    rf"(?:(?<![가-힣0-9A-Za-z])|(?<=다시)|(?<=대시)|(?<=[{_SINO_CHARS}]에))"
    rf"(?:[0-9][0-9,]*(?=[{_SINO_CHARS}])|[{_SINO_CHARS}])+"
)
_PLATE_LETTERS = "가나다라마거너더러머버서어저고노도로모보소오조구누두루무부수우주아바사자배하허호"
_SPOKEN_PLATE = re.compile(
    rf"(?<![가-힣0-9])([{_SINO_CHARS}]{{1,5}}|[0-9]{{2,3}})\s?([{_PLATE_LETTERS}])\s?"
    rf"([영공일이삼사오육륙칠팔구]{{4}}|[0-9]{{4}})(?![0-9영공일삼사오육륙칠팔구])"
)
_NATIVE = re.compile(
    r"(?<![가-힣])(?:(열|스물|스무|서른|마흔|쉰|예순|일흔|여든|아흔)\s?)?"
    r"(하나|다섯|여섯|일곱|여덟|아홉|한|두|둘|세|셋|석|네|넷|넉)?(\s?)"
    r"(시간|번째|군데|가지|바퀴|시|살|명|대|개|달|번|곳)"
)
_PLATE_SHAPE = re.compile(r"\d{2,3}\s?[가-힣]\s?\d{4}")
_MONTH_WORDS = {
    "일": 1,
    "이": 2,
    "삼": 3,
    "사": 4,
    "오": 5,
    "유": 6,
    "육": 6,
    "칠": 7,
    "팔": 8,
    "구": 9,
    "시": 10,
    "십": 10,
    "십일": 11,
    "십이": 12,
}
_MONTH_DAY = re.compile(
    rf"(?<![가-힣0-9])(십이|십일|[일이삼사오유육칠팔구시십]|[0-9]{{1,2}})\s?월"
    rf"(?:\s?([{_SINO_CHARS}]{{1,4}}?|[0-9]{{1,2}})\s?일)"
    rf"(?:(?![가-힣])|(?=에|은|는|도|부터|까지|쯤|경|이|의|날|자|로|요|인))|"
    rf"(?<![가-힣0-9])(십이|십일|[일이삼사오유육칠팔구시십]|[0-9]{{1,2}})\s?월(?=[에말초도은부까쯤엔,\s]|$)"
)
_COPULA_TAILS = ("요", "고", "에요", "예요", "죠", "라고", "구요")
_THOUSANDS = re.compile(r"(?<![0-9])([0-9]{1,3}(?:,[0-9]{3})+)(?![0-9])")
_BIG_MERGE = re.compile(
    r"(?<![0-9])(?=[0-9])(?:([0-9]+)\s?억)?(?:\s?([0-9]+)\s?만)?(?:\s?([0-9]{1,4})(?=\s?[원명개대건km]|\s|$))?"
)


def parse_sino(run: str) -> int | None:
    """Value of a positional sino-Korean (or digit + unit) numeral such as "삼백만" or "3천", else None."""
    total = 0
    section = 0
    current: int | None = None
    last_small = 10**9
    last_big = 10**18
    seen_any = False
    for token in re.findall(rf"[0-9]+|[{_SINO_CHARS}]", run):
        seen_any = True
        if token.isdigit() or token in DIGITS:
            if current is not None:
                return None
            current = int(token) if token.isdigit() else DIGITS[token]
        elif token in SMALL_UNITS:
            unit = SMALL_UNITS[token]
            if unit >= last_small:
                return None
            coefficient = 1 if current is None else current
            if coefficient == 0 or coefficient > 9:
                return None
            section += coefficient * unit
            current = None
            last_small = unit
        else:
            big = BIG_UNITS[token]
            if big >= last_big:
                return None
            value = section + (current or 0)
            if current == 0:
                return None
            total += (value or 1) * big
            section, current, last_small, last_big = 0, None, 10**9, big
    if not seen_any:
        return None
    if current is not None:
        if last_small < 10**9 and current >= 10:
            return None
        section += current
    return total + section


def _suffix_ok(rest: str) -> bool:
    """True when what follows a number inside the same word is a counter or a particle."""
    if not rest:
        return True
    for counter in COUNTERS:
        if rest.startswith(counter):
            tail = rest[len(counter) :]
            return not tail or any(tail.startswith(p) for p in PARTICLES) or tail[0] in "쯤경반째"
    return _is_particle_chain(rest)


def _is_particle_chain(rest: str) -> bool:
    for particle in sorted(PARTICLES, key=len, reverse=True):
        if rest.startswith(particle):
            tail = rest[len(particle) :]
            return not tail or _is_particle_chain(tail)
    return False


def _starts_with(text: str, options: tuple[str, ...]) -> str | None:
    for option in options:
        if text.startswith(option):
            return option
    return None


def _word_rest(text: str, end: int) -> str:
    match = re.match(r"[가-힣A-Za-z%]*", text[end:])
    return match.group(0) if match else ""


def _next_word(text: str, end: int) -> str:
    match = re.match(r"\s([가-힣A-Za-z%]+)", text[end:])
    return match.group(1) if match else ""


def _convert_month_day(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        month_raw = match.group(1) or match.group(3)
        day_raw = match.group(2)
        month = int(month_raw) if month_raw.isdigit() else _MONTH_WORDS.get(month_raw)
        if month is None or not 1 <= month <= 12:
            return match.group(0)
        if day_raw is None:
            return f"{month}월"
        day = int(day_raw) if day_raw.isdigit() else parse_sino(day_raw)
        if day is None and not day_raw.isdigit():
            day = _digit_by_digit(day_raw)
        if day is None or not 1 <= day <= 31:
            return f"{month}월 {day_raw}일"
        return f"{month}월 {day}일"

    return _MONTH_DAY.sub(replace, text)


def _digit_by_digit(run: str) -> int | None:
    if run and all(ch in DIGITS for ch in run):
        return int("".join(str(DIGITS[ch]) for ch in run))
    return None


def _is_digit_group(word: str) -> bool:
    return bool(re.fullmatch(r"[0-9]{2,}[-]?|[-]|다시|대시", word))


def _convert_runs(text: str, *, sequence_pass: bool) -> str:
    out: list[str] = []
    position = 0
    for match in _RUN.finditer(text):
        run = match.group(0)
        start, end = match.span()
        replacement = _convert_run(text, run, start, end, sequence_pass=sequence_pass)
        if replacement is None:
            continue
        out.append(text[position:start])
        out.append(replacement)
        position = end
    out.append(text[position:])
    return "".join(out)


def _neighbour_is_digits(text: str, start: int, end: int) -> bool:
    before = re.search(r"([0-9]{2,})(?:\s?(?:-|다시|대시|에)?\s?)$", text[:start])
    after = re.match(r"(?:\s?(?:-|다시|대시)?\s?)([0-9]{2,}|[영공일이삼사오육륙칠팔구]{3,})", text[end:])
    return bool(before and text[:start].endswith((" ", "-"))) or bool(after and text[end : end + 1] in " -다대")


def _convert_run(text: str, run: str, start: int, end: int, *, sequence_pass: bool) -> str | None:
    rest = _word_rest(text, end)
    word = run + rest
    if run.replace(",", "").isdigit():
        return None
    if word in _WORD_EXCEPTIONS or run in _WORD_EXCEPTIONS:
        return None
    if run in _PLACE_NUMBERS and (
        _starts_with(rest, _PLACE_FOLLOWERS) or (not rest and _starts_with(_next_word(text, end), _PLACE_FOLLOWERS))
    ):
        return None
    pure = all(ch in DIGITS for ch in run)
    if pure:
        return _convert_pure(text, run, rest, start, end, sequence_pass=sequence_pass)
    if not _suffix_ok(rest):
        # "십오일" (15th), "이십일일": the last 일 is the day counter, not a digit.
        if run.endswith("일") and parse_sino(run[:-1]) is not None and _suffix_ok("일" + rest):
            return str(parse_sino(run[:-1])) + "일"
        return None
    following = _next_word(text, end)
    next_is_number = bool(re.fullmatch(rf"[0-9]+|[{_SINO_CHARS}]+", following)) and (
        following.isdigit() or parse_sino(following) is not None
    )
    if len(run) == 1 and run in "십백천만억":
        counter = _starts_with(rest, COUNTERS) or _starts_with(following, COUNTERS)
        if (not counter or counter in ("가", "차", "대", "동", "주")) and not (run in "만억" and next_is_number):
            return None
    if run[-1] in "만억" and not rest and not (_starts_with(following, COUNTERS) or next_is_number):
        return None
    rendered = _render_with_big_units(run)
    if rendered is None and run.endswith("일") and parse_sino(run[:-1]) is not None:
        return f"{parse_sino(run[:-1])}일"  # "이십오일": the 25th
    return rendered


def _render_with_big_units(run: str) -> str | None:
    """Convert sections between 억 and 만 but keep those units; a later pass multiplies them out."""
    parts = re.split(r"([억만])", run.replace(",", ""))
    rendered: list[str] = []
    for part in parts:
        if part in ("억", "만"):
            if not rendered or not rendered[-1] or rendered[-1].endswith(("억", "만")):
                rendered.append("1")
            rendered[-1] = rendered[-1] + part
            continue
        if not part:
            rendered.append("")
            continue
        value = parse_sino(part)
        if value is None:
            return None
        rendered.append(str(value))
    result = "".join(rendered)
    if parse_sino(run.replace(",", "")) is None:
        return None
    return result


def _convert_pure(text: str, run: str, rest: str, start: int, end: int, *, sequence_pass: bool) -> str | None:
    if len(run) >= 4 and run.endswith("이") and rest and rest.startswith(_COPULA_TAILS):
        return "".join(str(DIGITS[ch]) for ch in run[:-1]) + "이"
    digits = "".join(str(DIGITS[ch]) for ch in run)
    if len(run) >= 3:
        if _suffix_ok(rest) or rest.startswith(("다시", "대시")):
            return digits
        return None
    near_digits = _neighbour_is_digits(text, start, end)
    if len(run) == 2:
        if sequence_pass and near_digits and (not rest or _is_particle_chain(rest)):
            return digits
        return None
    # A single syllable.
    if sequence_pass and near_digits and not rest:
        before = text[:start].rstrip()
        after = text[end:].lstrip()
        plate_letter = re.search(r"(?<![0-9])[0-9]{2,3}$", before) and re.match(r"[0-9]{4}(?![0-9])", after)
        if run in "오구사" and plate_letter:
            return None
        return digits
    joined = _starts_with(rest, _JOINED_SINGLE_OK)
    if joined:
        tail = rest[len(joined) :]
        if run == "이" and joined in _DEMONSTRATIVE_COUNTERS:
            return None
        if run in "영공" and joined in ("월", "년", "층"):
            return None
        if not tail or _is_particle_chain(tail) or tail[0] in "쯤경반째":
            return digits
        return None
    if rest:
        return None
    following = _next_word(text, end)
    counter = _starts_with(following, _SPACED_SINGLE_OK)
    if not counter:
        return None
    tail = following[len(counter) :]
    if tail and not (_is_particle_chain(tail) or tail[0] in "쯤경반째"):
        return None
    if run == "이" and counter in _DEMONSTRATIVE_COUNTERS:
        return None
    if run in "영공" and counter in ("월", "년", "시", "층", "호"):
        return None
    return digits


def _convert_native(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        tens, units, space, counter = match.group(1), match.group(2), match.group(3), match.group(4)
        if not tens and not units:
            return match.group(0)
        after = text[match.end() :]
        tail = re.match(r"[가-힣]*", after)
        tail_text = tail.group(0) if tail else ""
        if tail_text and not (_is_particle_chain(tail_text) or tail_text[0] in "쯤경반째"):
            return match.group(0)
        if not space and counter not in _NATIVE_JOINED_OK:
            return match.group(0)
        if units in ("석", "넉") and counter != "달":
            return match.group(0)
        if units == "한" and counter == "번" and not tens:
            return match.group(0)
        if units and units in ("하나", "둘", "셋", "넷"):
            return match.group(0)
        value = (NATIVE_TENS[tens] if tens else 0) + (NATIVE_UNITS[units] if units else 0)
        return f"{value}{space or ' '}{counter}" if space else f"{value}{counter}"

    return _NATIVE.sub(replace, text)


def _merge_big_units(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        eok, man, rest = match.group(1), match.group(2), match.group(3)
        if not eok and not man:
            return match.group(0)
        value = int(eok or 0) * 100_000_000 + int(man or 0) * 10_000 + int(rest or 0)
        trailing = ""
        if rest is None and match.group(0).endswith(" "):
            trailing = " "
        return str(value) + trailing

    return _BIG_MERGE.sub(replace, text)


def _spoken_plate(match: re.Match[str]) -> str:
    head, letter, tail = match.groups()
    if head.isdigit():
        front: int | None = int(head)
    else:
        front = parse_sino(head)
        if front is None or (len(head) in (2, 3) and all(ch in DIGITS for ch in head)):
            front = _digit_by_digit(head)
    back = tail if tail.isdigit() else "".join(str(DIGITS[ch]) for ch in tail)
    if front is None or not 10 <= front <= 999:
        return match.group(0)
    if letter in DIGITS and not head.isdigit() and all(ch in DIGITS for ch in head):
        return match.group(0)  # "일이삼사 오육칠팔" is a phone number read digit by digit, not a plate
    return f"{front}{letter}{back}"


def korean_numbers_to_digits(text: str) -> str:
    """Rewrite Korean number words (sino, native, digit by digit, 만/억 units) as ASCII digits."""
    protected: dict[str, str] = {}

    def protect(match: re.Match[str]) -> str:
        key = f"\x00{len(protected)}\x01"
        protected[key] = match.group(0)
        return key

    text = _SPOKEN_PLATE.sub(_spoken_plate, text)
    text = _PLATE_SHAPE.sub(protect, text)
    text = _THOUSANDS.sub(lambda m: m.group(1).replace(",", ""), text)
    text = _convert_month_day(text)
    text = _convert_native(text)
    text = _convert_runs(text, sequence_pass=False)
    text = _convert_runs(text, sequence_pass=True)
    text = _merge_big_units(text)
    for key, value in protected.items():
        text = text.replace(key, value)
    return text
