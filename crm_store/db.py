"""Engines and the two thin executors (sync for workers, async for the gateway)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import Session, create_engine
from sqlmodel.ext.asyncio.session import AsyncSession

T = TypeVar("T")


def _driver_url(url: str, *, asynchronous: bool) -> str:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        driver = "asyncpg" if asynchronous else "psycopg"
    elif backend == "sqlite":
        driver = "aiosqlite" if asynchronous else "pysqlite"
    else:
        raise ValueError(f"unsupported database {backend!r}: use PostgreSQL or SQLite")
    return parsed.set(drivername=f"{backend}+{driver}").render_as_string(hide_password=False)


def sync_database_url(url: str) -> str:
    """The URL with the synchronous driver (psycopg or sqlite3)."""
    return _driver_url(url, asynchronous=False)


def async_database_url(url: str) -> str:
    """The URL with the asynchronous driver (asyncpg or aiosqlite)."""
    return _driver_url(url, asynchronous=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    # WAL lets the gateway read while the in-process worker writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str, *, pool_size: int = 5) -> Engine:
    """A synchronous engine (workers, CLI, migrations)."""
    url = sync_database_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_size=pool_size, pool_pre_ping=True)


def make_async_engine(url: str, *, pool_size: int = 40) -> AsyncEngine:
    """An asynchronous engine (the gateway)."""
    url = async_database_url(url)
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # Connections are kept, not churned: opening one costs more than the whole incoming-call statement.
    # No ping per checkout on the hot path: asyncpg reports a dead connection, which is then replaced.
    return create_async_engine(url, pool_size=pool_size, max_overflow=0, pool_timeout=10, pool_recycle=1800)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def async_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for the gateway, objects usable after commit."""
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def async_session_scope(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One asynchronous unit of work: commit on success, roll back on error."""
    async with factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


async def run_async(session: AsyncSession, operation: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run a synchronous store function on the gateway's asynchronous session (in the same transaction):
    `await run_async(session, open_complaint, viewer, data, now=now)`."""
    return await session.run_sync(lambda sync: operation(sync, *args, **kwargs))
