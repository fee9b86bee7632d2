"""The classifier's reasons as operators read them: Korean sentences (`gateway.labels.REASONS`) made from the
structure of the stored reasons (`workers.understanding.understand` and `.rules` write them, e.g.
"type complaint 0.61: '공정' +0.29"), with every type and topic by its Korean name. A reason of another shape is
shown as it was stored."""

from __future__ import annotations

import re
from collections.abc import Iterable

from gateway.labels import CALL_TYPES, REASONS, SENTIMENT, URGENCY_CUES, call_type_label, label, topic_label

_TYPE = re.compile(r"type (\S+) ([0-9.]+)(?:: (.*))?")
_FEATURE = re.compile(r"'([^']*)' \+([0-9.]+)")
_TOPIC = re.compile(r"topic (\S+) ([0-9.]+) within (\S+)")
_MORPHOLOGY = re.compile(r"morphology \(Kiwi\) consulted.*")
_SECONDARY = re.compile(r"secondary (.+)")
_SCORE = re.compile(r"(\S+) ([0-9.]+)")
_URGENT = re.compile(r"urgency high: (.+?) \((.*)\)")
_CALM = re.compile(r"urgency low: (\S+) without a danger or escalation cue")
_MOOD = re.compile(r"sentiment (negative|positive|neutral): (.*)")
_UNCLASSIFIED = re.compile(r"(미분류: .+) \(domain \S+ (-?[0-9.]+) < (-?[0-9.]+)\)")
_CLOSEST = re.compile(r"closest type (\S+) ([0-9.]+)(?:: (.*))?; topic (\S+) ([0-9.]+)")


def subject_particle(word: str) -> str:
    """이 after a final consonant, 가 after a vowel; 이(가) when the word does not end in a Hangul syllable."""
    last = word[-1:] if word else ""
    if not "가" <= last <= "힣":
        return "이(가)"
    return "이" if (ord(last) - ord("가")) % 28 else "가"


def _quoted(words: Iterable[str], joiner: str = ", ") -> str:
    return joiner.join(f"'{word.strip()}'" for word in words if word.strip())


def _type_reason(call_type: str, score: str, features: str | None) -> list[str]:
    name = call_type_label(call_type)
    lines = [REASONS["type"].format(type=name, score=score)]
    for gram, weight in _FEATURE.findall(features or ""):
        lines.append(REASONS["feature"].format(gram=gram, particle=subject_particle(gram), type=name, weight=weight))
    return lines


def reason_sentences(reason: str) -> list[str]:
    """One stored reason as one or more Korean sentences."""
    if match := _TYPE.fullmatch(reason):
        return _type_reason(match[1], match[2], match[3])
    if match := _TOPIC.fullmatch(reason):
        return [REASONS["topic"].format(topic=topic_label(match[1]), type=call_type_label(match[3]), score=match[2])]
    if match := _UNCLASSIFIED.fullmatch(reason):
        return [REASONS["unclassified"].format(why=match[1], value=match[2], threshold=match[3])]
    if match := _CLOSEST.fullmatch(reason):
        name = call_type_label(match[1])
        topic = topic_label(match[4])
        closest = REASONS["closest"].format(type=name, score=match[2], topic=topic, topic_score=match[5])
        return [closest] + _type_reason(match[1], match[2], match[3])[1:]
    if _MORPHOLOGY.fullmatch(reason):
        return [REASONS["morphology"]]
    if match := _SECONDARY.fullmatch(reason):
        scores = ", ".join(f"{call_type_label(t)} {p}" for t, p in _SCORE.findall(match[1]) if t in CALL_TYPES)
        return [REASONS["secondary"].format(scores=scores)] if scores else [reason]
    if match := _URGENT.fullmatch(reason):
        cue = URGENCY_CUES.get(match[1], match[1])
        return [REASONS["urgent"].format(cue=cue, words=_quoted(match[2].split(" + "), " + "))]
    if match := _CALM.fullmatch(reason):
        return [REASONS["calm"].format(type=call_type_label(match[1]))]
    if match := _MOOD.fullmatch(reason):
        mood = label(SENTIMENT, match[1])
        if match[2] == "complaint call":
            return [REASONS["mood_of_type"].format(mood=mood, type=call_type_label("complaint"))]
        return [REASONS["mood"].format(mood=mood, words=_quoted(match[2].split(", ")))]
    return [reason]


def korean_reasons(reasons: object) -> list[str]:
    """The stored reasons of a classification (a list, one string, or nothing) as Korean sentences, in order."""
    if not reasons:
        return []
    stored = reasons if isinstance(reasons, list) else [reasons]
    return [sentence for reason in stored for sentence in reason_sentences(str(reason))]
