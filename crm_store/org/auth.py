"""Staff sign-in: argon2 password hashes, lockout after repeated failures, revocable API tokens.

Hashing is CPU-bound (tens of milliseconds by design): the gateway runs `verify_password` and `hash_password`
in an executor, never on the event loop. The store functions here only read and write rows. Each sign-in
attempt is counted in its own short transaction before its password is checked (no lock is held across the
hash), so at most MAX_FAILURES passwords are checked per lockout, however many attempts arrive at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import Field as PField
from sqlalchemy import ColumnElement, exists, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.audit import record_change
from crm_store.errors import NotFound, StoreError
from crm_store.org.scope import CommandLine, Viewer, unit_in_scope
from crm_store.org.staff import administered_staff
from crm_store.org.tables import ApiToken, LoginLockout, Role, Staff
from crm_store.types import Answer, Moment
from crm_store.upsert import insert_ignoring_conflict

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 8
_HASHER = PasswordHasher()
# Verified against when the username is unknown, so that an unknown name costs the same time as a wrong password.
_DUMMY_HASH = _HASHER.hash("hotline-no-such-user")
_HOLDER = aliased(Staff, name="token_holder")


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
    """The active staff member with this username, with one password check reserved against their lockout
    (AccountLocked while it runs). Commit before checking the password: the attempt counts as failed until
    `record_success` clears the count, so parallel attempts never check more than MAX_FAILURES passwords."""
    staff = (await session.exec(select(Staff).where(col(Staff.username) == username, col(Staff.active)))).first()
    if staff is None:
        return SignInCandidate(None, None)
    assert staff.id is not None
    await _reserve_attempt(session, staff.id, now=now)
    return SignInCandidate(staff, staff.password_hash)


async def _reserve_attempt(session: AsyncSession, staff_id: int, *, now: datetime) -> None:
    """Count one attempt under a lock on the staff member's lockout row; the last one allowed locks the account
    for LOCKOUT at once (a right password then lifts it), so attempts in flight cannot outrun the count."""
    dialect = session.bind.dialect.name  # type: ignore[union-attr]
    # The row exists before it is locked, so that the first attempts in parallel wait on it too.
    await session.exec(insert_ignoring_conflict(dialect, LoginLockout, {"staff_id": staff_id, "failures": 0}))
    lockout = await session.get(LoginLockout, staff_id, with_for_update=True, populate_existing=True)
    assert lockout is not None
    if lockout.locked_until is not None:
        if lockout.locked_until > now:
            raise AccountLocked(lockout.locked_until)
        lockout.failures, lockout.locked_until = 0, None  # the lock has run out: a new count
    lockout.failures += 1
    lockout.last_failure_at = now
    if lockout.failures >= MAX_FAILURES:
        lockout.locked_until = now + LOCKOUT
    session.add(lockout)
    await session.flush()


async def record_success(session: AsyncSession, staff_id: int) -> None:
    """A successful sign-in clears the count of attempts and the lock its own attempt may have set."""
    await session.exec(
        update(LoginLockout)  # type: ignore[call-overload]
        .where(col(LoginLockout.staff_id) == staff_id)
        .values(failures=0, locked_until=None)
    )


# -- API tokens --------------------------------------------------------------------------------------


def token_public(token: ApiToken) -> TokenPublic:
    """A token as the API lists it: never the hash."""
    return TokenPublic.model_validate(token, from_attributes=True)


def tokens_in_reach(viewer: Viewer) -> ColumnElement[bool]:
    """The tokens a staff member may list and revoke: their own; an administrator's, also those of the staff of
    their part of the organisation (never a token of someone above or beside them; `revoke_token` also refuses
    the token of someone of a higher grade or role)."""
    own = col(ApiToken.staff_id) == viewer.staff_id
    if viewer.role is not Role.ADMIN:
        return own
    return or_(
        own,
        exists().where(col(_HOLDER.id) == col(ApiToken.staff_id), unit_in_scope(viewer, col(_HOLDER.org_unit_id))),
    )


async def list_tokens(session: AsyncSession, viewer: Viewer) -> list[ApiToken]:
    """The viewer's own tokens (an administrator's: those of their part of the organisation too)."""
    query = select(ApiToken).where(tokens_in_reach(viewer)).order_by(col(ApiToken.id).desc())
    return list((await session.exec(query)).all())


async def revoke_token(
    session: AsyncSession, actor: Viewer | CommandLine, token_id: int, *, now: datetime
) -> tuple[ApiToken, Staff]:
    """Revoke a token within the actor's reach (`tokens_in_reach`; the command line reaches every token), with the
    staff member holding it; NotFound otherwise, as for a token that does not exist. Someone else's token only
    where the actor may act on its holder (`administered_staff`: NotAllowed above them). Audited once, when
    revoked."""
    query = select(ApiToken, Staff).join(Staff, col(Staff.id) == col(ApiToken.staff_id)).where(ApiToken.id == token_id)
    if isinstance(actor, Viewer):
        query = query.where(tokens_in_reach(actor))
    row = (await session.exec(query)).first()
    if row is None:
        raise NotFound(f"no token {token_id}")
    token, holder = row
    if isinstance(actor, Viewer) and holder.id != actor.staff_id:
        assert holder.id is not None
        await administered_staff(session, actor, holder.id)
    if token.revoked_at is None:
        token.revoked_at = now
        session.add(token)
        record_change(
            session,
            actor,
            action="token.revoked",
            target=f"token:{token.id}",
            org_unit_id=holder.org_unit_id,
            detail={"username": holder.username, "label": token.label, "revoked_at": [None, now.isoformat()]},
            now=now,
        )
    return token, holder


# -- wire models -------------------------------------------------------------------------------------


class TokenPublic(Answer):
    """An API token as the API lists it: never the token nor its hash."""

    id: int = PField(description="the token's id (DELETE /api/v1/tokens/{id} revokes it)")
    staff_id: int = PField(description="the staff member the token signs in as")
    label: str = PField(description="what the token is for, as given when it was issued")
    created_at: Moment = PField(description="when it was issued (UTC)")
    revoked_at: Moment | None = PField(description="when it was revoked (UTC); null while it works")


class TokenList(Answer):
    """GET /api/v1/tokens."""

    items: list[TokenPublic] = PField(description="the tokens within the caller's reach")
