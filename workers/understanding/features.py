"""Text features shared by training and inference, so both see exactly the same thing.

The model reads the redacted, normalised transcript (numbers as digits, personal numbers masked),
lower-cased, with every digit folded to 0, as character n-grams of 2 to 4 characters inside
space-padded words (scikit-learn's ``char_wb``).  Character n-grams survive the spacing errors,
dropped particles and misspellings of speech recognition far better than words do.  Optional
morpheme features come from Kiwi (kiwipiepy), a maintained Korean analyser.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = ["MORPH_TAGS", "NGRAM_RANGE", "char_ngrams", "morph_features", "prepare"]

NGRAM_RANGE = (2, 4)
MORPH_TAGS = frozenset({"NNG", "NNP", "VV", "VA", "XR", "MAG", "NNB", "VX", "XSV", "EF", "SL"})
_PUNCT = re.compile(r"[.,?!~…·\"'()]+")
_DIGIT = re.compile(r"\d")


def prepare(redacted: str) -> str:
    """Lower-case, drop punctuation, fold digits: the exact string the model's features come from."""
    text = _PUNCT.sub(" ", redacted.lower())
    text = _DIGIT.sub("0", text)
    return " ".join(text.split())


def char_ngrams(prepared: str) -> list[str]:
    """Character n-grams (2 to 4) inside space-padded words, like scikit-learn's char_wb analyser."""
    low, high = NGRAM_RANGE
    grams: list[str] = []
    append = grams.append
    for word in prepared.split():
        padded = f" {word} "
        size = len(padded)
        for n in range(low, high + 1):
            if n > size:
                break
            for i in range(size - n + 1):
                append(padded[i : i + n])
    return grams


def morph_features(prepared: str, kiwi: Any) -> list[str]:
    """Morpheme unigrams ("~사고/NNG") and content bigrams from Kiwi, prefixed so they never collide with n-grams."""
    tokens = [f"{t.form}/{t.tag}" for t in kiwi.tokenize(prepared) if t.tag in MORPH_TAGS]
    return ["~" + tok for tok in tokens] + [f"~{a}+{b}" for a, b in zip(tokens, tokens[1:], strict=False)]


def morph_features_many(texts: Iterable[str], kiwi: Any) -> list[list[str]]:
    """Batch form of ``morph_features`` (Kiwi analyses a list faster than one call per text)."""
    result: list[list[str]] = []
    for analysed in kiwi.tokenize(list(texts)):
        tokens = [f"{t.form}/{t.tag}" for t in analysed if t.tag in MORPH_TAGS]
        result.append(["~" + tok for tok in tokens] + [f"~{a}+{b}" for a, b in zip(tokens, tokens[1:], strict=False)])
    return result
