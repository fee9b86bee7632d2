"""The audit trail and the call events are append-only in the database itself, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from crm_store.db import make_engine
from workers.settings import Settings

STATEMENTS = [
    "UPDATE audit_entry SET username = 'someone-else'",
    "DELETE FROM audit_entry",
    "UPDATE call_event SET payload = '{}'",
    "DELETE FROM call_event",
]


def _rows(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_entry (username, action, fields, created_at) "
                "VALUES ('agent.seocho', 'read', '[\"name\"]', CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO call_event (call_sid, kind, dedup_key, payload, received_at) "
                "VALUES ('CA1', 'voice', 'voice:CA1', '{\"CallSid\": \"CA1\"}', CURRENT_TIMESTAMP)"
            )
        )
    engine.dispose()


def _refused(url: str, statement: str) -> None:
    engine = make_engine(url)
    try:
        with pytest.raises(DatabaseError, match="append-only"):
            with engine.begin() as conn:
                conn.execute(text(statement))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM audit_entry")).scalar_one() == 1
            assert conn.execute(text("SELECT username FROM audit_entry")).scalar_one() == "agent.seocho"
            assert conn.execute(text("SELECT count(*) FROM call_event")).scalar_one() == 1
    finally:
        engine.dispose()


@pytest.mark.parametrize("statement", STATEMENTS)
def test_sqlite_refuses_rewriting_the_audit_trail_and_call_events(sqlite_settings: Settings, statement: str) -> None:
    _rows(sqlite_settings.sync_db_url)
    _refused(sqlite_settings.sync_db_url, statement)


def test_postgresql_refuses_rewriting_the_audit_trail_and_call_events(postgres_url: str) -> None:
    _rows(postgres_url)
    for statement in [*STATEMENTS, "TRUNCATE audit_entry", "TRUNCATE call_event"]:
        _refused(postgres_url, statement)
