"""Staff and their API tokens."""

from __future__ import annotations

from sqlmodel import Session, col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from crm_store.errors import InvalidToken, NotFound
from crm_store.identity import new_api_token, token_hash
from crm_store.models import ApiToken, Staff


def staff_by_token(token: str) -> SelectOfScalar[Staff]:
    """The active staff member holding this unrevoked token."""
    return (
        select(Staff)
        .join(ApiToken, col(ApiToken.staff_id) == col(Staff.id))
        .where(ApiToken.token_hash == token_hash(token), col(ApiToken.revoked_at).is_(None), col(Staff.active))
    )


async def authenticate_token(session: AsyncSession, token: str) -> Staff:
    """The staff member a bearer token belongs to, or InvalidToken."""
    staff = (await session.exec(staff_by_token(token))).first()
    if staff is None:
        raise InvalidToken("unknown or revoked token")
    return staff


def issue_token(session: Session, *, username: str, label: str = "cli") -> str:
    """A new API token for this staff member; only its hash is stored."""
    staff = session.exec(select(Staff).where(Staff.username == username)).first()
    if staff is None:
        raise NotFound(f"no staff member {username!r}")
    if not staff.active:
        raise NotFound(f"staff member {username!r} is not active")
    token = new_api_token()
    assert staff.id is not None
    session.add(ApiToken(staff_id=staff.id, token_hash=token_hash(token), label=label))
    return token
