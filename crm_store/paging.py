"""Keyset paging of the listings: newest first, the page after the last id a client has seen."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlmodel import col

Query = TypeVar("Query", bound=Any)


def newest_first(query: Query, id_column: Any, *, before_id: int | None, limit: int) -> Query:
    """`query` ordered by `id_column` descending, below `before_id` if given, at most `limit` rows."""
    if before_id is not None:
        query = query.where(col(id_column) < before_id)
    return query.order_by(col(id_column).desc()).limit(limit)
