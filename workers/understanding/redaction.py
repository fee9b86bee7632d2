"""Find and mask personal numbers: resident registration, card, bank account and phone numbers.

Everything here works on the normalised text (Korean number words already turned into digits by
``korean_numbers_to_digits``), so "공일공 일이삼사 오육칠팔" is caught exactly like "010-1234-5678".
Spoken separators count as separators: "다시" (dash), "에", "의", spaces, dots.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from workers.understanding.numbers import korean_numbers_to_digits

__all__ = [
    "MASKS",
    "SensitiveSpan",
    "find_policy_numbers",
    "find_sensitive",
    "mask_spans",
    "normalise",
    "redact",
    "redact_entity",
    "redact_typed",
]

MASKS = {
    "registration_number": "[주민번호]",
    "card_number": "[카드번호]",
    "account_number": "[계좌번호]",
    "phone": "[전화번호]",
    "number": "[번호]",
}
# What text a person typed loses: the numbers nobody reads back. Phone numbers stay (a call-back number is the point),
# and so do other long digit runs (a number in E.164, a claim number).
_TYPED_KINDS = frozenset({"registration_number", "card_number", "account_number"})
# Names a person may give a personal-number entity, with the kind whose mask it takes.
_KIND_ALIASES = {"resident_number": "registration_number"}

_SEP = r"(?:\s*(?:-|–|다시|대시|\.)\s*|에\s+|의\s+|\s+)"
_OPT = rf"{_SEP}?"
_RRN = re.compile(rf"(?<!\d)\d{{6}}{_OPT}[1-8]\d{{6}}(?!\d)")
_CARD = re.compile(
    rf"(?<!\d)(?:\d{{4}}{_OPT}\d{{4}}{_OPT}\d{{4}}{_OPT}\d{{4}}|\d{{4}}{_OPT}\d{{6}}{_OPT}\d{{5}})(?!\d)"
)
_PHONE = re.compile(
    rf"(?<!\d)(?:01[016789]{_OPT}\d{{3,4}}{_OPT}\d{{4}}|02{_OPT}\d{{3,4}}{_OPT}\d{{4}}|"
    rf"0[3-6][1-5]{_OPT}\d{{3,4}}{_OPT}\d{{4}}|0[57]0\d?{_OPT}\d{{3,4}}{_OPT}\d{{4}})(?!\d)"
)
_ACCOUNT_DASHED = re.compile(r"(?<![\d-])\d{2,6}(?:-\d{2,7}){1,3}(?![\d-])")
_LONG_DIGITS = re.compile(r"(?<!\d)\d{10,}(?!\d)")
# Digit groups that follow a cue word ("계좌는 110 123 456789").
_GROUPS = rf"\d+(?:{_SEP}\d+)*"
_CUES = {
    "registration_number": re.compile(
        rf"(?:주민\s?(?:등록)?\s?번호|주민번호|주민|앞자리|뒷자리|뒤\s?번호)[^\d\[]{{0,12}}?({_GROUPS})"
    ),
    "card_number": re.compile(rf"(?:카드)\s?(?:번호)?[^\d\[]{{0,12}}?({_GROUPS})"),
    "account_number": re.compile(
        rf"(?:계좌|통장|은행|뱅크|농협|새마을금고|우체국|입금)\s?(?:번호)?[^\d\[]{{0,14}}?({_GROUPS})"
    ),
    "phone": re.compile(rf"(?:전화|번호|연락처|핸드폰|휴대폰|휴대전화|폰)[^\d\[]{{0,12}}?({_GROUPS})"),
}
_CUE_DIGITS = {"registration_number": (6, 14), "card_number": (12, 19), "account_number": (8, 16), "phone": (9, 11)}
_POLICY_FORMAT = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{2})\s?-?\s?(\d{4})\s?-?\s?(\d{7})(?!\d)")
_POLICY_CUE = re.compile(
    r"(?:증권|계약|보험)\s?번호\s*(?:는|은|가|이|:)?\s*(?:요\s*)?([A-Za-z]{0,2}\s?-?\s?\d[\d -]{6,18}\d)(?!\d)"
)


@dataclass(frozen=True)
class SensitiveSpan:
    """A personal number found in the normalised text."""

    start: int
    end: int
    kind: str


def find_policy_numbers(text: str) -> list[tuple[int, int, str]]:
    """Policy numbers in normalised text: (start, end, canonical value) such as AU-2024-0012345."""
    found: list[tuple[int, int, str]] = []
    for match in _POLICY_FORMAT.finditer(text):
        code, year, serial = match.groups()
        found.append((match.start(), match.end(), f"{code.upper()}-{year}-{serial}"))
    for match in _POLICY_CUE.finditer(text):
        start, end = match.span(1)
        if any(s <= start < e for s, e, _ in found):
            continue
        raw = re.sub(r"[\s-]", "", match.group(1)).upper()
        if len(re.sub(r"\D", "", raw)) < 8:
            continue
        value = raw
        letters = re.match(r"([A-Z]{2})(\d{4})(\d{7})$", raw)
        if letters:
            value = "-".join(letters.groups())
        found.append((start, end, value))
    return sorted(found)


def _overlaps(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(start < e and s < end for s, e in spans)


def find_sensitive(text: str, protected: list[tuple[int, int]] | None = None) -> list[SensitiveSpan]:
    """Personal numbers in normalised text, longest and most specific first, without overlaps."""
    taken: list[tuple[int, int]] = list(protected or [])
    spans: list[SensitiveSpan] = []

    def take(start: int, end: int, kind: str) -> None:
        if not _overlaps(start, end, taken):
            taken.append((start, end))
            spans.append(SensitiveSpan(start, end, kind))

    for kind, cue in _CUES.items():
        low, high = _CUE_DIGITS[kind]
        for match in cue.finditer(text):
            start, end = match.span(1)
            digits = sum(ch.isdigit() for ch in match.group(1))
            if kind == "registration_number" and digits in (6, 7):
                take(start, end, kind)  # "앞자리는 800110", "뒷자리 1234567"
            elif low <= digits <= high:
                if kind == "phone" and not match.group(1).startswith("0"):
                    continue
                take(start, end, kind)
    for pattern, kind in ((_RRN, "registration_number"), (_CARD, "card_number"), (_PHONE, "phone")):
        for match in pattern.finditer(text):
            take(match.start(), match.end(), kind)
    for match in _ACCOUNT_DASHED.finditer(text):
        digits = sum(ch.isdigit() for ch in match.group(0))
        if 10 <= digits <= 14:
            take(match.start(), match.end(), "account_number")
    for match in _LONG_DIGITS.finditer(text):
        take(match.start(), match.end(), "number")
    return sorted(spans, key=lambda span: span.start)


def mask_spans(text: str, spans: list[SensitiveSpan]) -> str:
    """Replace each span with the mask of its kind."""
    out: list[str] = []
    position = 0
    for span in sorted(spans, key=lambda s: s.start):
        out.append(text[position : span.start])
        out.append(MASKS[span.kind])
        position = span.end
    out.append(text[position:])
    return "".join(out)


def normalise(text: str) -> str:
    """Korean number words to digits and runs of whitespace to one space."""
    return re.sub(r"\s+", " ", korean_numbers_to_digits(text)).strip()


def redact(text: str) -> str:
    """Mask resident registration, card, account and phone numbers, spoken as digits or as words."""
    normalised = normalise(text)
    protected = [(start, end) for start, end, _ in find_policy_numbers(normalised)]
    return mask_spans(normalised, find_sensitive(normalised, protected))


def redact_entity(kind: str, value: str) -> str:
    """An entity value typed by a person, redacted as the classifier redacts its own entities.

    A personal-number kind keeps only its mask, never the digits; any other value has the personal numbers in it
    masked and is otherwise kept as typed (number words are rewritten only where a number had to be masked)."""
    masked_kind = _KIND_ALIASES.get(kind, kind)
    if masked_kind in MASKS:
        return MASKS[masked_kind]
    normalised = normalise(value)
    protected = [(start, end) for start, end, _ in find_policy_numbers(normalised)]
    spans = find_sensitive(normalised, protected)
    return mask_spans(normalised, spans) if spans else value


def redact_typed(text: str) -> str:
    """Text a person typed (a note, a form during the call) with its registration, card and account numbers masked;
    phone, policy and other numbers kept, and the text kept as typed when nothing is masked."""
    normalised = normalise(text)
    protected = [(start, end) for start, end, _ in find_policy_numbers(normalised)]
    spans = [span for span in find_sensitive(normalised, protected) if span.kind in _TYPED_KINDS]
    return mask_spans(normalised, spans) if spans else text
