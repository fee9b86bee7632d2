"""Build the generated, labelled call corpus from hand-written templates (deterministic).

Run ``python -m workers.understanding.corpus_build``: it reads ``data/understanding/templates.txt`` and
``slots.json`` and writes ``data/understanding/generated.tsv`` with the columns
``id, split, type, topic, secondary, template, text``.  The split is by template: every fifth
template of each topic (and every example made from it) goes to ``test``, so no template leaks
from training into the evaluation.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from workers.understanding.numbers import korean_numbers_to_digits

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "understanding"
SEED = 20240517
PER_TEMPLATE = 44
TEST_EVERY = 5
SINO_DIGITS = "영일이삼사오육칠팔구"
SPOKEN_DIGITS = "공일이삼사오육칠팔구"
PLATE_LETTERS = "가나다라마거너더러머버서어저고노도로모보소오조구누두루무부수우주하허호"
REGIONS = ("서울", "경기", "부산", "인천", "대구", "광주", "대전", "울산", "충북", "경남")


@dataclass(frozen=True)
class Template:
    """One hand-written template and its labels."""

    template_id: str
    type: str
    topic: str
    text: str


def load_templates(path: Path) -> list[Template]:
    """Parse templates.txt into templates, numbering them per topic."""
    templates: list[Template] = []
    current: tuple[str, str] | None = None
    counters: dict[tuple[str, str], int] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("# "):
            continue
        if line.startswith("## "):
            type_, topic = line[3:].strip().split(".")
            current = (type_, topic)
            continue
        if current is None:
            raise ValueError(f"template before any '## type.topic' header: {line}")
        counters[current] = counters.get(current, 0) + 1
        number = counters[current]
        templates.append(Template(f"{current[0]}.{current[1]}.{number:02d}", current[0], current[1], line))
    return templates


def sino(number: int, rng: random.Random | None = None) -> str:
    """Positional sino-Korean reading of a non-negative integer (삼백만, 이천십팔)."""
    if number == 0:
        return "영"
    parts: list[str] = []
    for big_value, big_name in ((100_000_000, "억"), (10_000, "만"), (1, "")):
        section, number = divmod(number, big_value)
        if not section:
            continue
        words = ""
        for unit_value, unit_name in ((1000, "천"), (100, "백"), (10, "십"), (1, "")):
            digit, section = divmod(section, unit_value)
            if digit:
                words += ("" if digit == 1 and unit_name else SINO_DIGITS[digit]) + unit_name
        parts.append(words + big_name)
    spaced = len(parts) > 1 and (rng or random).random() < 0.3
    return " ".join(parts) if spaced else "".join(parts)


def spoken_digits(digits: str) -> str:
    """Digit-by-digit reading ("010" -> "공일공")."""
    return "".join(SPOKEN_DIGITS[int(ch)] if ch.isdigit() else ch for ch in digits)


class Renderer:
    """Fills slots; numbers come out as digits (as Whisper writes) or as words (as Vosk writes)."""

    def __init__(self, slots: dict[str, object], rng: random.Random) -> None:
        self.slots = slots
        self.rng = rng
        self.special: dict[str, Callable[[], str]] = {
            "plate": self.plate,
            "amount": self.amount,
            "policy": self.policy,
            "phone": self.phone,
            "claimno": self.claim_number,
            "birth": self.birth,
            "address": self.address,
        }

    def fill(self, name: str) -> str:
        if name in self.special:
            return self.special[name]()
        values = self.slots.get(name)
        if not isinstance(values, list) or not values:
            raise KeyError(f"unknown slot <{name}>")
        return str(self.rng.choice(values))

    def digits(self, count: int) -> str:
        return "".join(str(self.rng.randint(0, 9)) for _ in range(count))

    def plate(self) -> str:
        head = str(self.rng.randint(10, 99) if self.rng.random() < 0.6 else self.rng.randint(100, 699))
        letter = self.rng.choice(PLATE_LETTERS)
        tail = self.digits(4)
        style = self.rng.random()
        if style < 0.35:
            return f"{head}{letter}{tail}"
        if style < 0.5:
            return f"{head}{letter} {tail}"
        if style < 0.6 and len(head) == 2:
            return f"{self.rng.choice(REGIONS)}{head}{letter}{tail}"
        if style < 0.8:
            return f"{sino(int(head), self.rng)} {letter} {spoken_digits(tail)}"
        return f"{spoken_digits(head)} {letter} {spoken_digits(tail)}"

    def amount(self) -> str:
        value = self.rng.choice(
            [
                300_000,
                450_000,
                500_000,
                800_000,
                1_200_000,
                1_500_000,
                2_000_000,
                3_000_000,
                3_500_000,
                5_000_000,
                8_000_000,
                12_000_000,
                15_000_000,
                30_000_000,
                120_000_000,
            ]
        )
        style = self.rng.random()
        if style < 0.45:
            return sino(value, self.rng) + self.rng.choice([" 원", "원"])
        if style < 0.8:
            man = value // 10_000
            if man >= 10_000:
                eok, rest = divmod(man, 10_000)
                return f"{eok}억 {rest}만 원" if rest else f"{eok}억 원"
            return f"{man}만 원" if self.rng.random() < 0.7 else f"{man}만원"
        return f"{value:,}원"

    def policy(self) -> str:
        code = self.rng.choice(["AU", "FI", "PA", "TR", "LI", "HO"])
        year = self.rng.choice(["2021", "2022", "2023", "2024"])
        serial = self.digits(7)
        style = self.rng.random()
        if style < 0.6:
            return f"{code}-{year}-{serial}"
        if style < 0.8:
            return f"{code}{year}{serial}"
        return f"{code.lower()} {year} {serial}"

    def phone(self) -> str:
        mid, last = self.digits(4), self.digits(4)
        style = self.rng.random()
        if style < 0.3:
            return f"010-{mid}-{last}"
        if style < 0.45:
            return f"010{mid}{last}"
        if style < 0.55:
            return f"010 {mid} {last}"
        joiner = self.rng.choice([" ", " ", "에 ", " 다시 "])
        return joiner.join(spoken_digits(part) for part in ("010", mid, last))

    def claim_number(self) -> str:
        return f"{self.rng.randint(22, 24)}-{self.digits(6)}"

    def birth(self) -> str:
        year = self.rng.randint(55, 99)
        return self.rng.choice(
            [f"{year}년생", f"{sino(year, self.rng)} 년생", f"19{year}년 {self.rng.randint(1, 12)}월생"]
        )

    def address(self) -> str:
        city = self.rng.choice(
            [
                "서울시 강남구 역삼동",
                "서울 마포구 합정동",
                "경기도 수원시 영통구 광교로",
                "부산 해운대구 우동",
                "성남시 분당구 정자일로",
                "대전 유성구 봉명동",
                "인천 연수구 송도동",
                "대구 달서구 월성동",
                "광주 서구 치평동",
                "경기 고양시 일산동구 장항동",
                "청주시 흥덕구 복대동",
                "제주시 노형동",
            ]
        )
        number = self.rng.randint(1, 450)
        building = self.rng.choice(
            [
                "",
                f" {self.rng.randint(101, 115)}동 {self.rng.randint(1, 25)}0{self.rng.randint(1, 4)}호",
                " 햇살아파트",
                " 2층",
            ]
        )
        rendered = str(number) if self.rng.random() < 0.7 else sino(number, self.rng)
        return f"{city} {rendered}{building}"


_BRACES = re.compile(r"\{([^{}]*)\}")
_SLOT = re.compile(r"<([a-z_]+)>")


def expand(template: str, renderer: Renderer, rng: random.Random) -> str:
    """Pick one alternative for every {a|b} (innermost first) and fill every <slot>."""
    text = template
    while True:
        match = _BRACES.search(text)
        if not match:
            break
        choice = rng.choice(match.group(1).split("|"))
        text = text[: match.start()] + choice + text[match.end() :]
    text = _SLOT.sub(lambda m: renderer.fill(m.group(1)), text)
    return re.sub(r"\s+", " ", text).strip()


_ASR_SUBSTITUTIONS = (
    ("됐어요", "됬어요"),
    ("돼요", "되요"),
    ("주세요", "주세여"),
    ("했어요", "했어여"),
    ("습니다", "슴니다"),
    ("그런데", "근데"),
    ("배터리", "밧데리"),
    ("펑크", "빵꾸"),
    ("견인차", "렉카"),
    ("없어요", "없어여"),
    ("괜찮", "갠찮"),
    ("보험", "보엄"),
    ("어떻게", "어떡게"),
    ("했는데", "했는대"),
    ("해지", "해제"),
    ("접수", "접쑤"),
    ("사고", "싸고"),
    ("긴급출동", "긴급 출동"),
    ("보상", "보샹"),
    ("타이어", "다이어"),
    ("갱신", "갱싱"),
    ("수익자", "수이자"),
    ("번호", "버노"),
    ("연락", "열락"),
    ("확인", "화긴"),
)
_MID_FILLERS = ("어", "음", "그", "뭐지", "그러니까", "네", "아", "그게")
_PARTICLE_END = re.compile(r"(?<=[가-힣]{2})(이|가|을|를|은|는|에)$")


def add_noise(text: str, rng: random.Random) -> str:
    """Spoken and ASR-style noise: fillers, false starts, dropped particles, spacing, homophones."""
    words = text.split()
    if rng.random() < 0.2 and len(words) > 3:
        position = rng.randint(1, len(words) - 1)
        words.insert(position, rng.choice(_MID_FILLERS))
    if rng.random() < 0.1 and words and len(words[0]) >= 2:
        words.insert(0, words[0][: rng.randint(1, len(words[0]) - 1)])
    if rng.random() < 0.35:
        words = [_PARTICLE_END.sub("", w) if rng.random() < 0.3 else w for w in words]
    if rng.random() < 0.3 and len(words) > 2:
        for _ in range(rng.randint(1, 3)):
            if len(words) < 3:
                break
            i = rng.randint(0, len(words) - 2)
            words[i : i + 2] = [words[i] + words[i + 1]]
    if rng.random() < 0.15:
        long_words = [i for i, w in enumerate(words) if len(w) >= 4]
        if long_words:
            i = rng.choice(long_words)
            cut = rng.randint(1, len(words[i]) - 1)
            words[i : i + 1] = [words[i][:cut], words[i][cut:]]
    text = " ".join(w for w in words if w)
    if rng.random() < 0.4:
        for wrong, heard in rng.sample(_ASR_SUBSTITUTIONS, k=3):
            if wrong in text and rng.random() < 0.6:
                text = text.replace(wrong, heard, 1)
    if rng.random() < 0.4:
        text = korean_numbers_to_digits(text)  # Whisper writes numbers as digits
    punctuation = rng.random()
    if punctuation < 0.3:
        text = text + rng.choice([".", "?", ".", "!"])
    elif punctuation < 0.45:
        text = re.sub(r"(요|다|죠) ", lambda m: m.group(1) + rng.choice([". ", ", ", " "]), text)
    return text


def generate(
    templates: list[Template], slots: dict[str, object], *, per_template: int, seed: int
) -> list[dict[str, str]]:
    """Expand every template into noisy examples; some get a second clause of another type."""
    rng = random.Random(seed)
    renderer = Renderer(slots, rng)
    secondary: dict[str, list[str]] = slots["secondary"]  # type: ignore[assignment]
    pairs: dict[str, list[str]] = slots["secondary_pairs"]  # type: ignore[assignment]
    by_topic: dict[str, int] = {}
    rows: list[dict[str, str]] = []
    seen: set[str] = set()
    for template in templates:
        key = f"{template.type}.{template.topic}"
        by_topic[key] = by_topic.get(key, 0) + 1
        split = "test" if by_topic[key] % TEST_EVERY == 3 else "train"
        made = 0
        for _ in range(per_template * 3):
            if made >= per_template:
                break
            text = expand(template.text, renderer, rng)
            second = ""
            if rng.random() < 0.15:
                second = rng.choice(pairs[template.type])
                text = f"{text} {rng.choice(secondary[second])}"
            if rng.random() < 0.12:
                name = renderer.fill("name")
                copula = rng.choice(["인데요", "입니다", "이에요" if (ord(name[-1]) - 0xAC00) % 28 else "예요"])
                text = f"네 안녕하세요 {name}{copula} {text}"
            if rng.random() < 0.06:
                rrn = renderer.digits(6) + "-" + str(rng.randint(1, 4)) + renderer.digits(6)
                spoken = rrn if rng.random() < 0.5 else spoken_digits(rrn.replace("-", " 다시 "))
                text = f"{text} 본인 확인은 주민번호 {spoken}{rng.choice(['이요', '입니다', ''])}"
            text = add_noise(text, rng)
            if text in seen:
                continue
            seen.add(text)
            made += 1
            rows.append(
                {
                    "id": f"g{len(rows) + 1:05d}",
                    "split": split,
                    "type": template.type,
                    "topic": f"{template.type}.{template.topic}",
                    "secondary": second,
                    "template": template.template_id,
                    "text": text,
                }
            )
    return rows


def main(argv: list[str] | None = None) -> None:
    """Write data/understanding/generated.tsv."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-template", type=int, default=PER_TEMPLATE)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=DATA_DIR / "generated.tsv")
    args = parser.parse_args(argv)
    templates = load_templates(DATA_DIR / "templates.txt")
    slots = json.loads((DATA_DIR / "slots.json").read_text(encoding="utf-8"))
    rows = generate(templates, slots, per_template=args.per_template, seed=args.seed)
    with args.out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(
            handle,
            fieldnames=list(rows[0]),
            delimiter="\t",
            lineterminator="\n",
            quoting=csv.QUOTE_NONE,
            escapechar="\\",
        )
        writer.writeheader()
        writer.writerows(rows)
    per_type: dict[str, int] = {}
    templates_per_type: dict[str, int] = {}
    for template in templates:
        templates_per_type[template.type] = templates_per_type.get(template.type, 0) + 1
    for row in rows:
        per_type[row["type"]] = per_type.get(row["type"], 0) + 1
    print(f"{len(templates)} templates, {len(rows)} examples -> {args.out}")
    for type_ in sorted(per_type):
        print(f"  {type_:<13} templates={templates_per_type[type_]:>3} examples={per_type[type_]}")


if __name__ == "__main__":
    main()
