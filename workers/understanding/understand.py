"""One call's understanding: type, topic, urgency, sentiment, entities, redaction, proposed changes.

A transcript with too little call language (``abstain.py``) gets no type and no topic (``None``, shown as
미분류) and the reason why; an operator classifies it.  Urgency, sentiment, entities and redaction are
still worked out: a danger cue is a danger cue whatever the classifier makes of the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from workers.understanding.abstain import UNCLASSIFIED_LABEL
from workers.understanding.changes import propose_changes
from workers.understanding.entities import Entity, analyse
from workers.understanding.features import prepare
from workers.understanding.model import load_model
from workers.understanding.rules import sentiment, urgency
from workers.understanding.taxonomy import load_taxonomy

__all__ = ["SECONDARY_CLAUSE_MIN", "SECONDARY_MIN", "Understanding", "understand"]

SECONDARY_MIN = 0.25  # whole-call probability from which another type is reported as secondary
SECONDARY_CLAUSE_MIN = 0.8  # one clause classified this confidently as another type also counts
_CLAUSE_SPLIT = re.compile(r"[.?!]\s|\s(?:아\s?그리고|그리고|근데|그런데|참|그리고요|아\s?참|또|그리고\s?또)\s")


@dataclass(frozen=True)
class Understanding:
    """Everything the classifier says about one call; ``topic`` is the full id, e.g. "report.auto_accident".

    ``type`` and ``topic`` are None when the call is left to an operator, ``unclassified_reason`` says why."""

    type: str | None
    topic: str | None
    urgency: str
    sentiment: str
    entities: tuple[Entity, ...]
    redacted: str
    scores: dict[str, float]
    reasons: tuple[str, ...]
    secondary_types: tuple[str, ...]
    proposed_changes: tuple[dict[str, Any], ...]
    model: str
    topic_scores: dict[str, float] = field(default_factory=dict)
    type_label: str = ""
    topic_label: str = ""
    unclassified_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: type, topic, urgency, sentiment, entities, redacted, scores, reasons, ..."""
        return {
            "type": self.type,
            "type_label": self.type_label,
            "topic": self.topic,
            "topic_label": self.topic_label,
            "urgency": self.urgency,
            "sentiment": self.sentiment,
            "secondary_types": list(self.secondary_types),
            "entities": [entity.to_dict() for entity in self.entities],
            "redacted": self.redacted,
            "scores": {k: round(v, 4) for k, v in self.scores.items()},
            "topic_scores": {k: round(v, 4) for k, v in self.topic_scores.items()},
            "reasons": list(self.reasons),
            "proposed_changes": [dict(change) for change in self.proposed_changes],
            "model": self.model,
            "unclassified_reason": self.unclassified_reason,
        }


def _secondary(prepared: str, main: str, scores: dict[str, float], *, morphology: bool | None) -> tuple[str, ...]:
    found = [t for t, p in sorted(scores.items(), key=lambda kv: -kv[1]) if t != main and p >= SECONDARY_MIN]
    clauses = [c for c in _CLAUSE_SPLIT.split(prepared) if len(c.replace(" ", "")) >= 8]
    if len(clauses) > 1:
        model = load_model()
        for clause in clauses:
            probs = model.classify(clause, morphology=False, top_features=0).type_probs
            best = max(probs, key=probs.__getitem__)
            if best != main and probs[best] >= SECONDARY_CLAUSE_MIN and best not in found:
                found.append(best)
    return tuple(found)


def understand(text: str, *, now: datetime | None = None, morphology: bool | None = None) -> Understanding:
    """Classify and redact one transcript; ``now`` resolves "어제"; the model loads once per process."""
    model = load_model()
    taxonomy = load_taxonomy()
    redacted, entities = analyse(text, now)
    prepared = prepare(redacted)
    result = model.classify(prepared, morphology=morphology)
    scores = result.type_probs
    best_type = max(scores, key=scores.__getitem__)
    topics = {t: p for t, p in result.topic_probs.items() if t.split(".", 1)[0] == best_type}
    total = sum(topics.values()) or 1.0
    topics = {t: p / total for t, p in sorted(topics.items(), key=lambda kv: -kv[1])}
    best_topic = next(iter(topics))
    features = ", ".join(f"'{gram.strip()}' +{weight:.2f}" for gram, weight in result.features)
    guess = f"type {best_type} {scores[best_type]:.2f}" + (f": {features}" if features else "")
    rule = model.abstention
    unclassified = rule.reason(result.domain_scores) if rule.unsure(result.domain_scores) else None
    call_type, topic = (None, None) if unclassified else (best_type, best_topic)
    level, urgency_reasons = urgency(redacted, call_type)
    mood, sentiment_reasons = sentiment(redacted, call_type)
    if unclassified:
        secondary: tuple[str, ...] = ()
        reasons = [unclassified, f"closest {guess}; topic {best_topic} {topics[best_topic]:.2f}"]
    else:
        secondary = _secondary(prepared, best_type, scores, morphology=morphology)
        reasons = [guess, f"topic {best_topic} {topics[best_topic]:.2f} within {best_type}"]
    if result.used_morphology:
        reasons.append("morphology (Kiwi) consulted: the character model was unsure")
    if secondary:
        reasons.append("secondary " + ", ".join(f"{t} {scores[t]:.2f}" for t in secondary))
    reasons += list(urgency_reasons) + list(sentiment_reasons)
    changes = propose_changes(redacted, entities, {t for t in (call_type, *secondary) if t}, topic or "")
    return Understanding(
        type=call_type,
        topic=topic,
        urgency=level,
        sentiment=mood,
        entities=entities,
        redacted=redacted,
        scores=scores,
        reasons=tuple(reasons),
        secondary_types=secondary,
        proposed_changes=changes,
        model=model.name,
        topic_scores=topics,
        type_label=taxonomy.type_label(call_type) if call_type else UNCLASSIFIED_LABEL,
        topic_label=taxonomy.topic_label(topic) if topic else UNCLASSIFIED_LABEL,
        unclassified_reason=unclassified,
    )
