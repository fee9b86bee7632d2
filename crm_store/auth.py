"""Staff sign-in: argon2 password hashes, lockout after repeated failures, revocable API tokens.

Hashing is CPU-bound (tens of milliseconds by design): the gateway runs `verify_password` and `hash_password`
in an executor, never on the event loop. The store functions here only read and write rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.errors import NotFound, StoreError
from crm_store.models import ApiToken, LoginLockout, Role, Staff
from crm_store.scope import Viewer

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 8
_HASHER = PasswordHasher()
# Verified against when the username is unknown, so that an unknown name costs the same time as a wrong password.
_DUMMY_HASH = _HASHER.hash("hotline-no-such-user")


class LoginFailed(StoreError):
    """Unknown username, wrong password, or an inactive account: the answer never says which."""


class AccountLocked(StoreError):
    """Too many failed attempts; sign-in is refused until `until`."""

    def __init__(self, until: datetime) -> None:
        super().__init__(f"account locked until {until.isoformat()}")
        self.until = until


class WeakPassword(StoreError):
    """A new password is too short."""


def hash_password(password: str) -> str:
    """An argon2id hash of the password (slow on purpose: call it off the event loop)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches the hash; a missing hash never matches (but costs the same time)."""
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class SignInCandidate:
    """What the gateway needs to check a password: the staff member (if any) and their stored hash."""

    staff: Staff | None
    password_hash: str | None


async def sign_in_candidate(session: AsyncSession, username: str, *, now: datetime) -> SignInCandidate:
    """The active staff member with this username, or AccountLocked while their lockout runs."""
    staff = (await session.exec(select(Staff).where(col(Staff.username) == username, col(Staff.active)))).first()
    if staff is None:
        return SignInCandidate(None, None)
    lockout = await session.get(LoginLockout, staff.id)
    if lockout is not None and lockout.locked_until is not None and lockout.locked_until > now:
        raise AccountLocked(lockout.locked_until)
    return SignInCandidate(staff, staff.password_hash)


async def record_failure(session: AsyncSession, staff_id: int, *, now: datetime) -> datetime | None:
    """Count a failed attempt; the fifth in a row locks the account. Returns the lock's end if it locked."""
    lockout = await session.get(LoginLockout, staff_id, with_for_update=True)
    if lockout is None:
        lockout = LoginLockout(staff_id=staff_id)
    if lockout.locked_until is not None and lockout.locked_until <= now:
        lockout.failures, lockout.locked_until = 0, None
    lockout.failures += 1
    lockout.last_failure_at = now
    if lockout.failures >= MAX_FAILURES:
        lockout.locked_until = now + LOCKOUT
        lockout.failures = 0
    session.add(lockout)
    return lockout.locked_until


async def record_success(session: AsyncSession, staff_id: int) -> None:
    """A successful sign-in clears the count of failures."""
    lockout = await session.get(LoginLockout, staff_id)
    if lockout is not None:
        lockout.failures, lockout.locked_until = 0, None
        session.add(lockout)


def set_password(session: Session, *, username: str, password_hash: str) -> None:
    """Store a new password hash for a staff member and lift any lockout (CLI, administrator)."""
    staff = session.exec(select(Staff).where(col(Staff.username) == username)).first()
    if staff is None:
        raise NotFound(f"no staff member {username!r}")
    staff.password_hash = password_hash
    session.add(staff)
    lockout = session.get(LoginLockout, staff.id)
    if lockout is not None:
        session.delete(lockout)


# -- API tokens --------------------------------------------------------------------------------------


def token_public(token: ApiToken) -> dict[str, Any]:
    """A token as the API lists it: never the hash."""
    return {
        "id": token.id,
        "staff_id": token.staff_id,
        "label": token.label,
        "created_at": token.created_at.isoformat(),
        "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
    }


async def list_tokens(session: AsyncSession, viewer: Viewer) -> list[ApiToken]:
    """The viewer's own tokens (an administrator sees everyone's)."""
    query = select(ApiToken).order_by(col(ApiToken.id).desc())
    if viewer.role is not Role.ADMIN:
        query = query.where(col(ApiToken.staff_id) == viewer.staff_id)
    return list((await session.exec(query)).all())


async def revoke_token(session: AsyncSession, viewer: Viewer, token_id: int, *, now: datetime) -> ApiToken:
    """Revoke one of the viewer's own tokens (an administrator may revoke any); NotFound otherwise."""
    token = await session.get(ApiToken, token_id)
    if token is None or (token.staff_id != viewer.staff_id and viewer.role is not Role.ADMIN):
        raise NotFound(f"no token {token_id}")
    if token.revoked_at is None:
        token.revoked_at = now
        session.add(token)
    return token
