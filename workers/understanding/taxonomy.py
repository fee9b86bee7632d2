"""The call taxonomy (types and their topics, with Korean labels), kept as data in taxonomy.json."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

__all__ = ["Taxonomy", "TaxonomyError", "load_taxonomy"]

TAXONOMY_FILE = "taxonomy.json"


class TaxonomyError(ValueError):
    """The taxonomy file is malformed."""


@dataclass(frozen=True)
class Taxonomy:
    """Types -> topics; topic ids are "type.topic"."""

    version: str
    types: dict[str, str]  # type -> Korean label
    topics: dict[str, str]  # "type.topic" -> Korean label

    def topics_of(self, call_type: str) -> tuple[str, ...]:
        """Topic ids under one type."""
        return tuple(t for t in self.topics if t.split(".", 1)[0] == call_type)

    def type_label(self, call_type: str) -> str:
        """Korean label of a type."""
        return self.types.get(call_type, call_type)

    def topic_label(self, topic: str) -> str:
        """Korean label of a topic id."""
        return self.topics.get(topic, topic)


def parse_taxonomy(payload: dict[str, object]) -> Taxonomy:
    """Validate and flatten the JSON form."""
    raw_types = payload.get("types")
    if not isinstance(raw_types, dict) or not raw_types:
        raise TaxonomyError("taxonomy has no types")
    types: dict[str, str] = {}
    topics: dict[str, str] = {}
    for name, body in raw_types.items():
        if not isinstance(body, dict) or not isinstance(body.get("topics"), dict) or not body["topics"]:
            raise TaxonomyError(f"type {name!r} has no topics")
        types[name] = str(body.get("label", name))
        for topic, topic_body in body["topics"].items():
            if "." in topic:
                raise TaxonomyError(f"topic {topic!r} must not contain a dot")
            topics[f"{name}.{topic}"] = str(topic_body.get("label", topic)) if isinstance(topic_body, dict) else topic
    return Taxonomy(str(payload.get("version", "")), types, topics)


@lru_cache(maxsize=1)
def load_taxonomy() -> Taxonomy:
    """The taxonomy shipped in the package (read once)."""
    text = resources.files("workers.understanding").joinpath(TAXONOMY_FILE).read_text(encoding="utf-8")
    return parse_taxonomy(json.loads(text))
