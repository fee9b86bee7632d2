"""When the classifier leaves a call unclassified: too little insurance language to give it a type.

The linear models always name a type, even for a sentence about coffee, because the softmax spreads
probability over the five types whatever the input.  What they do not hide is how much evidence the
transcript carries: the energy of a head, log sum exp of its raw logits, is high when n-grams the models
learned on call language push some class strongly and low when the text holds little or nothing of it
(small talk, wrong numbers, read news, greetings only, speech-recognition debris).

The rule, fitted by ``python -m workers.understanding.train`` (``calibrate``) and kept in ``model.json``:
the call is left unclassified when its domain score is below a threshold.  The threshold is a split-conformal
quantile of the scores of in-domain calibration calls (templates never seen in training), so that at most
``ABSTAIN_RATE`` of such calls abstain; of the candidate scores, the one that leaves more of the off-topic
calibration sentences unclassified at that rate is kept.  Off-topic sentences of the held-out part never enter it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "ABSTAIN_RATE",
    "DOMAIN_SCORES",
    "REASON",
    "UNCLASSIFIED_LABEL",
    "Abstention",
    "calibrate",
    "conformal_threshold",
    "energy",
]

ABSTAIN_RATE = 0.02  # share of in-domain calibration calls allowed to go to the operator unclassified
DOMAIN_SCORES = ("topic_energy", "type_energy")  # candidates, in order of preference on a tie
REASON = "보험 관련 표현이 부족하여 분류하지 않음"
UNCLASSIFIED_LABEL = "미분류"


def energy(logits: np.ndarray) -> float:
    """log sum exp of raw logits: how strongly anything the head knows is present."""
    values = np.asarray(logits, dtype=np.float64)
    top = float(values.max())
    return top + math.log(float(np.exp(values - top).sum()))


def conformal_threshold(in_domain: Sequence[float], rate: float) -> float:
    """The k-th smallest in-domain score, k = floor(rate * (n + 1)): scores strictly below it abstain, so at most
    ``rate`` of calls like the calibration ones do; minus infinity (never abstain) when there are too few."""
    ordered = sorted(float(s) for s in in_domain)
    k = math.floor(rate * (len(ordered) + 1))
    return ordered[k - 1] if k >= 1 else -math.inf


def _share_below(scores: Sequence[float], threshold: float) -> float:
    return sum(1 for s in scores if s < threshold) / len(scores) if scores else 0.0


def calibrate(
    in_domain: Mapping[str, Sequence[float]], off_topic: Mapping[str, Sequence[float]], *, rate: float = ABSTAIN_RATE
) -> dict[str, Any]:
    """The abstention rule for ``model.json``: for each candidate score its conformal threshold at ``rate``; the
    candidate that leaves the largest share of off-topic calibration sentences unclassified wins."""
    best: dict[str, Any] = {}
    best_share = -1.0
    for name in DOMAIN_SCORES:
        threshold = conformal_threshold(in_domain[name], rate)
        off_topic_share = _share_below(off_topic[name], threshold)
        if off_topic_share > best_share:
            best_share = off_topic_share
            best = {
                "score": name,
                "threshold": threshold,
                "rate": rate,
                "calibration": {
                    "in_domain": len(in_domain[name]),
                    "in_domain_abstain": round(_share_below(in_domain[name], threshold), 4),
                    "off_topic": len(off_topic[name]),
                    "off_topic_abstain": round(off_topic_share, 4),
                },
            }
    return best


@dataclass(frozen=True)
class Abstention:
    """The fitted rule: leave a call unclassified when ``score`` is below ``threshold``."""

    score: str
    threshold: float

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Abstention:
        """The rule stored in ``model.json``; a model file without one never abstains."""
        rule = payload.get("abstain")
        if not rule:
            return cls(DOMAIN_SCORES[0], -math.inf)
        if rule["score"] not in DOMAIN_SCORES:
            raise ValueError(f"unknown domain score {rule['score']!r} in the model file")
        return cls(str(rule["score"]), float(rule["threshold"]))

    def unsure(self, domain_scores: Mapping[str, float]) -> bool:
        """True when the transcript carries too little call language to be given a type."""
        return domain_scores[self.score] < self.threshold

    def reason(self, domain_scores: Mapping[str, float]) -> str:
        """The operator's explanation, in Korean, with the figures behind it."""
        value = domain_scores[self.score]
        return f"{UNCLASSIFIED_LABEL}: {REASON} (domain {self.score} {value:.2f} < {self.threshold:.2f})"
