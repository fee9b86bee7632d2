"""Server-side console sessions: a random cookie value (only its hash stored), a CSRF token per session."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.org.tables import LoginSession, Staff

SESSION_LIFETIME = timedelta(hours=12)
IDLE_TIMEOUT = timedelta(hours=2)
# last_seen_at is refreshed at most this often: not one write per page view.
TOUCH_EVERY = timedelta(minutes=5)


@dataclass(frozen=True)
class OpenedSession:
    """The cookie value (given to the browser once) and the session's CSRF token."""

    cookie: str
    csrf_token: str


@dataclass(frozen=True)
class ActiveSession:
    """A live session and its staff member."""

    staff: Staff
    session_id: int
    csrf_token: str


def _hash(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


def csrf_matches(expected: str, given: str | None) -> bool:
    """Constant-time comparison of a submitted CSRF token."""
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


async def open_session(
    session: AsyncSession, *, staff_id: int, now: datetime, remote_addr: str | None = None
) -> OpenedSession:
    """A new session for a staff member who just proved their password."""
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session.add(
        LoginSession(
            token_hash=_hash(cookie),
            staff_id=staff_id,
            csrf_token=csrf,
            remote_addr=(remote_addr or "")[:64] or None,
            created_at=now,
            last_seen_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    return OpenedSession(cookie, csrf)


async def active_session(session: AsyncSession, cookie: str, *, now: datetime) -> ActiveSession | None:
    """The live session for this cookie value (not ended, not expired, not idle too long), or None."""
    row = (
        await session.exec(
            select(LoginSession, Staff)
            .join(Staff, col(Staff.id) == col(LoginSession.staff_id))
            .where(
                col(LoginSession.token_hash) == _hash(cookie),
                col(LoginSession.ended_at).is_(None),
                col(LoginSession.expires_at) > now,
                col(LoginSession.last_seen_at) > now - IDLE_TIMEOUT,
                col(Staff.active),
            )
        )
    ).first()
    if row is None:
        return None
    login, staff = row
    assert login.id is not None
    if login.last_seen_at < now - TOUCH_EVERY:
        await session.exec(
            update(LoginSession).where(col(LoginSession.id) == login.id).values(last_seen_at=now)  # type: ignore[call-overload]
        )
        await session.commit()
    return ActiveSession(staff, login.id, login.csrf_token)


async def end_session(session: AsyncSession, session_id: int, *, now: datetime) -> None:
    """Sign out: the session can never be used again."""
    await session.exec(
        update(LoginSession).where(col(LoginSession.id) == session_id).values(ended_at=now)  # type: ignore[call-overload]
    )
