"""INSERT ... ON CONFLICT DO NOTHING on both PostgreSQL and SQLite."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert
from sqlmodel import SQLModel


def insert_ignoring_conflict(dialect: str, model: type[SQLModel], values: dict[str, Any]) -> Insert:
    """An insert that silently does nothing when a unique key already exists."""
    table = model.__table__  # type: ignore[attr-defined]
    if dialect == "postgresql":
        return postgresql.insert(table).values(**values).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).values(**values).on_conflict_do_nothing()
    raise ValueError(f"unsupported dialect {dialect!r}")
