"""The sign-in lockout in the store, on the fixed clock: every attempt is counted before its password is checked,
the last allowed attempt locks the account for LOCKOUT, a lock that has run out starts a new count, and a
successful sign-in clears it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.db import async_session_factory, async_session_scope, make_async_engine, make_engine, session_scope
from crm_store.org import auth
from crm_store.org.tables import LoginLockout, OrgUnit, Role, Staff
from workers.settings import Settings

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.fixture
async def sessions(sqlite_settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(sqlite_settings.sync_db_url)
    with session_scope(engine) as session:
        unit = OrgUnit(code="HQ", name="본사", level=0, path="/")
        session.add(unit)
        session.flush()
        unit.path = f"/{unit.id}/"
        session.add_all([unit, Staff(username="agent.hq", full_name="홍길동", role=Role.AGENT.value,
                                     org_unit_id=unit.id, password_hash="not-checked-here")])  # fmt: skip
    engine.dispose()
    async_engine = make_async_engine(sqlite_settings.sync_db_url)
    yield async_session_factory(async_engine)
    await async_engine.dispose()


async def _attempt(sessions: async_sessionmaker[AsyncSession], now: datetime) -> auth.SignInCandidate:
    async with async_session_scope(sessions) as session:
        return await auth.sign_in_candidate(session, "agent.hq", now=now)


async def _lockout(sessions: async_sessionmaker[AsyncSession], staff_id: int) -> Any:
    async with sessions() as session:
        return await session.get(LoginLockout, staff_id)


async def test_the_last_allowed_attempt_locks_until_the_lockout_runs_out(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    for minute in range(auth.MAX_FAILURES):
        candidate = await _attempt(sessions, NOW + timedelta(minutes=minute))
        assert candidate.staff is not None and candidate.password_hash == "not-checked-here"
    locked_at = NOW + timedelta(minutes=auth.MAX_FAILURES - 1)
    with pytest.raises(auth.AccountLocked) as refused:
        await _attempt(sessions, locked_at + auth.LOCKOUT - timedelta(seconds=1))
    assert refused.value.until == locked_at + auth.LOCKOUT
    # Once the lock has run out the count starts again from nothing.
    await _attempt(sessions, locked_at + auth.LOCKOUT)
    assert candidate.staff is not None and candidate.staff.id is not None
    lockout = await _lockout(sessions, candidate.staff.id)
    assert (lockout.failures, lockout.locked_until) == (1, None)


async def test_a_successful_sign_in_clears_the_count_and_the_lock(sessions: async_sessionmaker[AsyncSession]) -> None:
    for _ in range(auth.MAX_FAILURES):
        candidate = await _attempt(sessions, NOW)
    assert candidate.staff is not None and candidate.staff.id is not None
    # The last allowed attempt was the right password: it signs in and lifts the lock it had set.
    async with async_session_scope(sessions) as session:
        await auth.record_success(session, candidate.staff.id)
    lockout = await _lockout(sessions, candidate.staff.id)
    assert (lockout.failures, lockout.locked_until) == (0, None)
    await _attempt(sessions, NOW)


async def test_parallel_attempts_reserve_no_more_than_the_allowed_number(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async def attempt() -> bool:
        try:
            await _attempt(sessions, NOW)
        except auth.AccountLocked:
            return False
        return True

    reserved = await asyncio.gather(*(attempt() for _ in range(40)))
    assert sum(reserved) == auth.MAX_FAILURES


async def test_an_unknown_username_reserves_nothing(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with async_session_scope(sessions) as session:
        candidate = await auth.sign_in_candidate(session, "nobody", now=NOW)
    assert (candidate.staff, candidate.password_hash) == (None, None)
