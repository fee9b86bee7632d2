"""Column types that behave the same on PostgreSQL and SQLite, and text either of them stores."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp; SQLite's naive values come back as UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JsonDocument = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    """Now, in UTC, timezone-aware."""
    return datetime.now(UTC)


REPLACEMENT = "\ufffd"


def storable(value: str) -> str:
    """The text as PostgreSQL can store it (in a text column and in JSON): NUL, which it refuses, and any lone
    surrogate become U+FFFD, the replacement character; everything else is kept as it came."""
    if "\x00" in value:
        value = value.replace("\x00", REPLACEMENT)
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            value = value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return value


def storable_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Fields (a webhook's, a row's) with their names and text values storable."""
    return {storable(k): storable(v) if isinstance(v, str) else v for k, v in fields.items()}
