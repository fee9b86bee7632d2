"""Column types that behave the same on PostgreSQL and SQLite, text either of them stores, and the bases of the
wire models: request bodies (`Input`) and answers (`Answer`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Annotated, Any, ClassVar, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, StrictInt, model_validator
from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

from crm_store.validation import MAX_ID


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
    texts = "".join([*fields, *(v for v in fields.values() if isinstance(v, str))])
    if texts.isascii() and "\x00" not in texts:  # the usual webhook: nothing to clean, one check for all
        return dict(fields)
    return {storable(k): storable(v) if isinstance(v, str) else v for k, v in fields.items()}


def iso(value: datetime | date | None) -> str | None:
    """A moment or a day as the wire shows it (ISO 8601; UTC moments keep their +00:00), None as null."""
    return value.isoformat() if value is not None else None


class Input(SQLModel):
    """Base of every request body: unknown fields are refused (422), not silently dropped."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]


class Change(Input):
    """Base of a PATCH body: only the fields given change, and at least one must be given (`nothing_given` says
    so when none is)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})  # type: ignore[assignment]
    nothing_given: ClassVar[str] = "nothing to change: give at least one field"

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not self.model_fields_set:
            raise ValueError(self.nothing_given)
        return self


def schema_says(**keywords: Any) -> dict[str, Any]:
    """`Field(schema_extra=...)` for what a validator checks and the JSON schema should say too (a field's
    validator may strip or normalise first, so the model's own constraints stay as they are)."""
    return {"json_schema_extra": keywords}


# Text the validators strip first: something besides white space; two such characters.
SOME_TEXT = schema_says(pattern=r"\S")
TWO_CHARACTERS = schema_says(pattern=r"\S[\s\S]*\S")


def stripped(value: str, refusal: str) -> str:
    """Text without its surrounding white space; ValueError(refusal) when nothing else is left."""
    if not value.strip():
        raise ValueError(refusal)
    return value.strip()


class Answer(BaseModel):
    """Base of every answer body: exactly the fields declared (a field missing from the model is an error in the
    tests, not a silent drop); `from`-like keywords are aliases."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    _ready: dict[str, Any] | None = PrivateAttr(default=None)

    @classmethod
    def of_document(cls, document: dict[str, Any]) -> Self:
        """A document the store already built as JSON values (the customer picture on the screen-pop path), taken
        as this answer without re-validating it field by field; the contract tests check such answers against
        the schema instead."""
        answer = cls.model_construct(**document)
        answer._ready = document
        return answer

    def wire(self) -> dict[str, Any]:
        """The body as JSON values, under the wire names; a field with a default appears only when it was given
        (a listing adds fields an answer about one record does not have)."""
        if self._ready is not None:
            return self._ready
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


# A record id in a request body: what the database stores (a 32-bit integer on PostgreSQL), never an overflow.
RecordId = Annotated[StrictInt, Field(gt=0, le=MAX_ID)]


def _wire_text(value: Any) -> Any:
    return iso(value) if isinstance(value, date) else value


# A moment on the wire: ISO 8601 with its offset, as `iso()` writes it; a datetime given is written so (a row's
# column taken as it is). A day likewise, from a date.
Moment = Annotated[str, BeforeValidator(_wire_text), Field(json_schema_extra={"format": "date-time"})]
Day = Annotated[str, BeforeValidator(_wire_text), Field(json_schema_extra={"format": "date"})]
