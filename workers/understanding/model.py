"""The trained classifier at run time: pure numpy over the weights in ``model.json``.

Two linear models read the same TF-IDF character n-grams: one for the call type, one for the topic
(restricted at prediction time to the topics of the predicted type).  When the character model is
unsure, morpheme features from Kiwi are mixed in (a second, small pair of linear models), so the
slow analyser runs only on the calls where it pays.  The character model's evidence of call language
(``Classification.domain_scores``) decides, by the rule fitted in training (``abstain.py``), whether the
call is given a type at all.  Scikit-learn is needed only to train.
"""

from __future__ import annotations

import base64
import json
import math
import threading
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

from workers.understanding.abstain import Abstention, energy
from workers.understanding.features import char_ngrams, morph_features

__all__ = ["MODEL_FILE", "Classification", "LinearHead", "Model", "ModelError", "TextFeatures", "load_model", "preload"]

MODEL_FILE = "model.json"


class ModelError(RuntimeError):
    """The model file is missing or unreadable."""


def decode_array(blob: dict[str, Any]) -> np.ndarray:
    """Inverse of train.encode_array: base64 bytes with dtype and shape."""
    raw = base64.b64decode(blob["data"])
    return np.frombuffer(raw, dtype=np.dtype(blob["dtype"])).reshape(blob["shape"])


class TextFeatures:
    """A fitted TF-IDF space: vocabulary and idf, sublinear tf, l2 norm (as scikit-learn computes it)."""

    def __init__(self, vocabulary: list[str], idf: np.ndarray) -> None:
        self.vocabulary = vocabulary
        self.index = {term: i for i, term in enumerate(vocabulary)}
        self.idf = idf.astype(np.float32)

    def vector(self, terms: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Sparse (indices, values) of one document."""
        get = self.index.get
        found = np.fromiter((get(t, -1) for t in terms), dtype=np.int64, count=len(terms))
        found = found[found >= 0]
        if found.size == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        indices, counts = np.unique(found, return_counts=True)
        values = (1.0 + np.log(counts.astype(np.float32))) * self.idf[indices]
        norm = float(np.sqrt(np.dot(values, values)))
        return indices, values / norm if norm else values


class LinearHead:
    """Multinomial logistic regression weights, with a temperature fitted on held-out folds."""

    def __init__(self, classes: list[str], weights: np.ndarray, intercept: np.ndarray, temperature: float) -> None:
        self.classes = classes
        self.weights = weights.astype(np.float32)  # (features, classes)
        self.intercept = intercept.astype(np.float32)
        self.temperature = temperature

    def logits(self, indices: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Raw scores, one per class."""
        if indices.size == 0:
            return self.intercept.copy()
        return values @ self.weights[indices] + self.intercept

    def contributions(self, indices: np.ndarray, values: np.ndarray, cls: int) -> np.ndarray:
        """How much each present feature pushed ``cls`` above the average class."""
        rows = self.weights[indices]
        return values * (rows[:, cls] - rows.mean(axis=1))


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Numerically stable softmax."""
    scaled = logits / temperature
    scaled = scaled - scaled.max()
    exp = np.exp(scaled)
    return exp / exp.sum()


@dataclass(frozen=True)
class Classification:
    """What the model says about one prepared transcript."""

    type_probs: dict[str, float]
    topic_probs: dict[str, float]
    features: tuple[tuple[str, float], ...]  # top features for the chosen type
    used_morphology: bool
    domain_scores: dict[str, float]  # evidence of call language (abstain.DOMAIN_SCORES), from the character model


class Model:
    """Loaded weights plus the lazily created Kiwi analyser."""

    def __init__(self, payload: dict[str, Any], *, morphology: bool = True) -> None:
        self.name = f"{payload['name']}-{payload['version']}"
        self.meta = payload
        char = payload["char"]
        self.char = TextFeatures(char["vocabulary"], decode_array(char["idf"]))
        self.type_head = self._head(char["type"])
        self.topic_head = self._head(char["topic"])
        self.morph: TextFeatures | None = None
        self.morph_type: LinearHead | None = None
        self.morph_topic: LinearHead | None = None
        mix = payload.get("mix", {})
        self.mix_threshold = float(mix.get("threshold", 0.0))
        self.mix_weight = float(mix.get("weight", 0.0))
        if morphology and "morph" in payload:
            morph = payload["morph"]
            self.morph = TextFeatures(morph["vocabulary"], decode_array(morph["idf"]))
            self.morph_type = self._head(morph["type"])
            self.morph_topic = self._head(morph["topic"])
        self.abstention = Abstention.from_payload(payload)
        self._kiwi: Any = None
        self._kiwi_failed = False
        self._kiwi_lock = threading.Lock()

    def _top_features(
        self, indices: np.ndarray, contributions: np.ndarray, limit: int
    ) -> tuple[tuple[str, float], ...]:
        """Strongest n-grams for the chosen class, merged by their visible text, longer grams first on ties."""
        if limit <= 0 or contributions.size == 0:
            return ()
        merged: dict[str, float] = {}
        for i in np.argsort(-contributions)[: limit * 6]:
            if contributions[i] <= 0:
                break
            text = _readable(self.char.vocabulary[int(indices[i])])
            if len(text) < 2 or not any("가" <= ch <= "힣" or ch.isalpha() for ch in text):
                continue
            merged[text] = merged.get(text, 0.0) + float(contributions[i])
        # drop a gram contained in a stronger, longer one ("에서" inside "에서요")
        kept: list[tuple[str, float]] = []
        for text, weight in sorted(merged.items(), key=lambda kv: -kv[1]):
            if any(text in other for other, _ in kept):
                continue
            kept.append((text, weight))
            if len(kept) == limit:
                break
        return tuple(kept)

    @staticmethod
    def _head(blob: dict[str, Any]) -> LinearHead:
        quantised = decode_array(blob["weights"]).astype(np.float32)
        scale = np.asarray(blob["scale"], dtype=np.float32)
        return LinearHead(blob["classes"], quantised * scale, np.asarray(blob["intercept"]), float(blob["temperature"]))

    def kiwi(self) -> Any:
        """The Kiwi analyser, created on first use (about a second and a few hundred MB), or None."""
        if self._kiwi is None and not self._kiwi_failed:
            with self._kiwi_lock:
                if self._kiwi is None and not self._kiwi_failed:
                    try:
                        from kiwipiepy import Kiwi

                        kiwi = Kiwi(num_workers=-1)
                        kiwi.tokenize("사고 접수")  # the first analysis loads the language model (~1.5 s)
                        self._kiwi = kiwi
                    except ImportError:
                        self._kiwi_failed = True
        return self._kiwi

    def classify(self, prepared: str, *, morphology: bool | None = None, top_features: int = 4) -> Classification:
        """Type and topic probabilities of a prepared transcript, with the features behind the type."""
        indices, values = self.char.vector(char_ngrams(prepared))
        raw_type = self.type_head.logits(indices, values)
        raw_topic = self.topic_head.logits(indices, values)
        domain_scores = {"type_energy": energy(raw_type), "topic_energy": energy(raw_topic)}
        type_logits = raw_type / self.type_head.temperature
        topic_logits = raw_topic / self.topic_head.temperature
        type_p = softmax(type_logits)
        use_morph = morphology if morphology is not None else True
        used = False
        if (
            use_morph
            and self.morph is not None
            and self.morph_type is not None
            and self.morph_topic is not None
            and float(type_p.max()) < self.mix_threshold
            and not self.abstention.unsure(domain_scores)  # left unclassified whatever Kiwi adds: spare it
        ):
            kiwi = self.kiwi()
            if kiwi is not None:
                with self._kiwi_lock:
                    terms = morph_features(prepared, kiwi)
                m_idx, m_val = self.morph.vector(terms)
                w = self.mix_weight
                type_logits = (1 - w) * _log_softmax(type_logits) + w * _log_softmax(
                    self.morph_type.logits(m_idx, m_val) / self.morph_type.temperature
                )
                topic_logits = (1 - w) * _log_softmax(topic_logits) + w * _log_softmax(
                    self.morph_topic.logits(m_idx, m_val) / self.morph_topic.temperature
                )
                type_p = softmax(type_logits)
                used = True
        topic_p = softmax(topic_logits)
        best = int(type_p.argmax())
        contributions = self.type_head.contributions(indices, values, best) if indices.size else np.zeros(0)
        features = self._top_features(indices, contributions, top_features)
        return Classification(
            {c: float(p) for c, p in zip(self.type_head.classes, type_p, strict=True)},
            {c: float(p) for c, p in zip(self.topic_head.classes, topic_p, strict=True)},
            features,
            used,
            domain_scores,
        )


def _readable(gram: str) -> str:
    return gram.strip()


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max()
    return shifted - math.log(float(np.exp(shifted).sum()))


_CACHE: dict[bool, Model] = {}
_CACHE_LOCK = threading.Lock()


def read_payload() -> dict[str, Any]:
    """The model file shipped inside the package."""
    try:
        text = resources.files("workers.understanding").joinpath(MODEL_FILE).read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise ModelError(f"{MODEL_FILE} not found: run python -m workers.understanding.train") from err
    return json.loads(text)


def preload(*, morphology: bool = True) -> Model:
    """Load the model (and Kiwi) now, e.g. in a worker before it forks, instead of on the first call."""
    model = load_model()
    if morphology:
        model.kiwi()
    return model


def load_model(*, morphology: bool = True) -> Model:
    """The process-wide model, loaded once (thread-safe)."""
    model = _CACHE.get(morphology)
    if model is None:
        with _CACHE_LOCK:
            model = _CACHE.get(morphology)
            if model is None:
                model = Model(read_payload(), morphology=morphology)
                _CACHE[morphology] = model
    return model
