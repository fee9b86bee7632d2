"""Throwaway PostgreSQL databases for integration tests, and the plan of a query (plain functions; no fixture is
registered here)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import Session

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TEST_DATABASE_PREFIX = "hotline_test"


def _libpq_url(url: str) -> str:
    """The URL as libpq reads it (no SQLAlchemy driver suffix such as +psycopg)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _in_ci() -> bool:
    return os.environ.get("CI") == "true"


def postgres_admin_url() -> str | None:
    """URL of a reachable server to create test databases on; None if unreachable (fails the test under CI)."""
    url = os.environ.get("HOTLINE_TEST_POSTGRES", DEFAULT_ADMIN_URL)
    try:
        with psycopg.connect(_libpq_url(url), connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as err:
        if _in_ci():
            pytest.fail(f"PostgreSQL not reachable at {make_url(url)!r} under CI=true: {err}")
        return None
    return url


def require_postgres_admin_url() -> str:
    """Like postgres_admin_url, but skips the calling test (outside CI) when the server is unreachable."""
    url = postgres_admin_url()
    if url is None:
        shown = make_url(os.environ.get("HOTLINE_TEST_POSTGRES", DEFAULT_ADMIN_URL))
        pytest.skip(f"PostgreSQL not reachable at {shown!r} (set HOTLINE_TEST_POSTGRES)")
    return url


def create_database(admin_url: str, prefix: str = TEST_DATABASE_PREFIX) -> str:
    """Create an empty database with a random name starting with `prefix`; return its URL."""
    if not prefix.startswith(TEST_DATABASE_PREFIX):
        raise ValueError(f"test database names start with {TEST_DATABASE_PREFIX!r}")
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(_libpq_url(admin_url), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, url: str) -> None:
    """Drop a database made by create_database, closing any connection still open to it."""
    name = make_url(url).database or ""
    if not name.startswith(TEST_DATABASE_PREFIX):
        raise ValueError(f"refusing to drop {name!r}: not a test database")
    with psycopg.connect(_libpq_url(admin_url), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def throwaway_database(admin_url: str, prefix: str = TEST_DATABASE_PREFIX) -> Iterator[str]:
    """A fresh database for the duration of the block, dropped afterwards whatever happens."""
    url = create_database(admin_url, prefix)
    try:
        yield url
    finally:
        drop_database(admin_url, url)


def plan_without_seqscan(session: Session, query: str) -> str:
    """PostgreSQL's plan for `query` with sequential scans off in `session`, so that an index that fits shows."""
    session.exec(text("SET enable_seqscan = off"))  # type: ignore[call-overload]
    return "\n".join(row[0] for row in session.exec(text(f"EXPLAIN {query}")))  # type: ignore[call-overload]
