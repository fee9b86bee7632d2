"""Console sign-in under a burst of parallel attempts, on SQLite and on real PostgreSQL: however many arrive at
once, no more than MAX_FAILURES passwords are checked before the account locks, and once it is locked even the
right password among many wrong ones does not sign in."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlmodel import select

from crm_store.db import make_engine, session_scope
from crm_store.org import auth
from crm_store.org.tables import LoginLockout, LoginSession, OrgUnit, Role, Staff
from gateway.app import create_app
from gateway.auth_views import LOGIN_CSRF_COOKIE, LOGIN_PATH
from tests.customer_helpers import SECRET
from workers.settings import Settings

pytestmark = pytest.mark.integration

RIGHT = "right-password-1"
WRONG = "wrong-password-1"
FORM_TOKEN = "login-form-token-0123456789"


@pytest.fixture(params=["sqlite", "postgresql"])
def burst_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """The gateway's settings on a migrated SQLite file or a throwaway PostgreSQL database."""
    if request.param == "sqlite":
        settings: Settings = request.getfixturevalue("sqlite_settings")
        return settings
    url = request.getfixturevalue("postgres_url")
    return Settings.from_env({"DATABASE_URL": url, "HOTLINE_SECRET_KEY": SECRET, "HOTLINE_DATA_DIR": str(tmp_path)})


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every password the gateway checks against a stored hash, in the order checked (from the executor's threads)."""
    checked: list[str] = []
    lock = threading.Lock()
    verify: Callable[[str | None, str], bool] = auth.verify_password

    def counted(password_hash: str | None, password: str) -> bool:
        if password_hash is not None:
            with lock:
                checked.append(password)
        return verify(password_hash, password)

    monkeypatch.setattr(auth, "verify_password", counted)
    return checked


def _operator(settings: Settings) -> int:
    engine = make_engine(settings.sync_db_url)
    try:
        with session_scope(engine) as session:
            unit = OrgUnit(code="HQ", name="본사", level=0, path="/")
            session.add(unit)
            session.flush()
            unit.path = f"/{unit.id}/"
            staff = Staff(username="operator.burst", full_name="홍길동", role=Role.OPERATOR.value,
                          org_unit_id=unit.id, clearance=2, password_hash=auth.hash_password(RIGHT))  # fmt: skip
            session.add_all([unit, staff])
            session.flush()
            assert staff.id is not None
            return staff.id
    finally:
        engine.dispose()


async def _burst(client: Any, passwords: list[str]) -> list[int]:
    """One POST /console/login per password, all sent at once; the statuses (303 signed in, 401, 403 locked).

    Each carries the login form's double-submit pair itself, through a cookie jar that keeps nothing, so the new
    CSRF cookie of one answer cannot spoil the attempts still in flight."""
    url = client.make_url(LOGIN_PATH)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as browser:

        async def attempt(password: str) -> int:
            form = {"username": "operator.burst", "password": password, "csrf_token": FORM_TOKEN}
            headers = {"Cookie": f"{LOGIN_CSRF_COOKIE}={FORM_TOKEN}"}
            async with browser.post(url, data=form, headers=headers, allow_redirects=False) as answer:
                await answer.read()
                return answer.status

        return list(await asyncio.gather(*(attempt(password) for password in passwords)))


async def test_a_burst_of_sign_ins_checks_no_more_passwords_than_the_lockout_allows(
    aiohttp_client: Any, burst_settings: Settings, verifications: list[str]
) -> None:
    staff_id = _operator(burst_settings)
    client = await aiohttp_client(create_app(burst_settings, embedded_worker=False))

    statuses = await _burst(client, [WRONG] * 100)
    assert len(verifications) == auth.MAX_FAILURES
    assert sorted(statuses) == [401] * auth.MAX_FAILURES + [403] * (100 - auth.MAX_FAILURES)

    # Locked: thirty wrong passwords and the right one at once sign nobody in and check no password at all.
    statuses = await _burst(client, [WRONG] * 15 + [RIGHT] + [WRONG] * 15)
    assert statuses == [403] * 31
    assert len(verifications) == auth.MAX_FAILURES
    engine = make_engine(burst_settings.sync_db_url)
    try:
        with session_scope(engine) as session:
            assert session.exec(select(LoginSession).where(LoginSession.staff_id == staff_id)).all() == []
            lockout = session.get(LoginLockout, staff_id)
            assert lockout is not None and lockout.locked_until is not None
    finally:
        engine.dispose()


async def test_the_right_password_signs_in_and_clears_the_count(
    aiohttp_client: Any, burst_settings: Settings, verifications: list[str]
) -> None:
    staff_id = _operator(burst_settings)
    client = await aiohttp_client(create_app(burst_settings, embedded_worker=False))

    assert await _burst(client, [WRONG] * (auth.MAX_FAILURES - 1)) == [401] * (auth.MAX_FAILURES - 1)
    assert await _burst(client, [RIGHT]) == [303]
    # The count starts again: as many wrong passwords as the lockout allows are checked once more.
    statuses = await _burst(client, [WRONG] * (auth.MAX_FAILURES + 3))
    assert sorted(statuses) == [401] * auth.MAX_FAILURES + [403] * 3
    assert len(verifications) == 2 * auth.MAX_FAILURES
    engine = make_engine(burst_settings.sync_db_url)
    try:
        with session_scope(engine) as session:
            assert len(session.exec(select(LoginSession).where(LoginSession.staff_id == staff_id)).all()) == 1
    finally:
        engine.dispose()
