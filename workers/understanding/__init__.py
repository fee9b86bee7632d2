"""Call understanding: type, topic, urgency, sentiment, entities and redaction of Korean transcripts.

Plain functions with no database, queue or web code, used by the rq jobs, by the gateway for live
calls and by ``hotline classify --json``.  The model loads lazily, once per process.
"""

from __future__ import annotations

from workers.understanding.entities import Entity, extract_entities
from workers.understanding.model import ModelError, load_model, preload
from workers.understanding.numbers import korean_numbers_to_digits
from workers.understanding.redaction import redact
from workers.understanding.taxonomy import Taxonomy, load_taxonomy
from workers.understanding.understand import Understanding, understand

__all__ = [
    "Entity",
    "ModelError",
    "Taxonomy",
    "Understanding",
    "extract_entities",
    "korean_numbers_to_digits",
    "load_model",
    "load_taxonomy",
    "preload",
    "redact",
    "understand",
]
