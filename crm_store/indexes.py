"""Partial indexes, declared once for both databases the store runs on (PostgreSQL and SQLite each index only the
rows that meet a condition, and each takes the condition under its own keyword)."""

from __future__ import annotations

from sqlalchemy import Index, TextClause, text


def partial_index(name: str, *columns: str | TextClause, where: str, unique: bool = False) -> Index:
    """An index over the rows meeting `where` (an SQL condition), the same on PostgreSQL and on SQLite."""
    condition = text(where)
    return Index(name, *columns, unique=unique, postgresql_where=condition, sqlite_where=condition)
