"""What several revisions build alike: the JSON column type, indexes named after their one column, the triggers
that make a table append-only.

Frozen: deployed databases were built by the revisions that call these, so what each helper emits must never change
(tests/integration/test_migration_schema.py compares every revision's schema with the recorded one). A revision that
needs something else writes it out itself, or a new helper is added beside these.
"""

from __future__ import annotations

from collections.abc import Collection

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# JSON everywhere, stored as JSONB on PostgreSQL.
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def create_column_indexes(table: str, *columns: str, unique: Collection[str] = ()) -> None:
    """One index per column, named `ix_<table>_<column>` as autogenerate names them; unique for the columns given."""
    for column in columns:
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column], unique=column in unique)


def refuse_update_and_delete(table: str) -> None:
    """Triggers that refuse UPDATE and DELETE on `table` (and TRUNCATE on PostgreSQL, through the function
    hotline_append_only, which revision 0005 creates)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION hotline_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION hotline_append_only()"
        )
        return
    for event in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {event} refused'); END"
        )


def allow_update_and_delete(table: str) -> None:
    """Drop the triggers refuse_update_and_delete made on `table`."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
        op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
        return
    for event in ("update", "delete"):
        op.execute(f"DROP TRIGGER {table}_no_{event}")
