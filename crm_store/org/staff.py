"""Staff: who may act on whom, and their API tokens.

Every operation that changes a staff member (create, change, deactivate, reactivate, reset the password, revoke
an API token of someone else) asks `check_authority` first, through `administered_staff` when it has a target.
An administrator acts on the staff of their own subtree only, never on anyone of a higher clearance grade or a
higher-ranking role than their own, never grants a grade or role above their own, and never changes their own
role, unit, grade or status (another administrator does). The command line (`CommandLine`) is the server's
operator and may do anything.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass

from sqlmodel import Session, col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from crm_store.customers.identity import new_api_token, token_hash
from crm_store.errors import InvalidToken, NotFound
from crm_store.org.scope import CommandLine, Viewer
from crm_store.org.tables import ApiToken, OrgUnit, Role, Staff
from crm_store.validation import NotAllowed

MAX_CLEARANCE = 5
# Rank of a role in staff administration: nobody acts on, or makes, someone of a role ranking above their own.
ROLE_RANK = {Role.ADMIN: 2, Role.EXECUTIVE: 1}
TOP_RANK = max(ROLE_RANK.values())
# What a staff member may change about their own account through administration.
OWN_CHANGES = frozenset({"full_name"})

Actor = Viewer | CommandLine


@dataclass(frozen=True)
class Authority:
    """What an actor may administer: a subtree of the organisation, up to a clearance grade and a role rank."""

    path: str  # the subtree administered ("/" from the command line)
    clearance: int
    rank: int
    staff_id: int | None

    def administers(self, unit: OrgUnit) -> bool:
        """True for the units of the actor's subtree."""
        return unit.path.startswith(self.path)


def role_rank(role: Role | str) -> int:
    """The rank of a role in staff administration (administrators above executives above everyone else)."""
    return ROLE_RANK.get(Role(role), 0)


async def authority_of(session: AsyncSession, actor: Actor) -> Authority:
    """The actor's authority over org units and staff; NotAllowed for anyone but administrators."""
    if isinstance(actor, CommandLine):
        return Authority("/", MAX_CLEARANCE, TOP_RANK, None)
    if actor.role is not Role.ADMIN:
        raise NotAllowed("only administrators manage org units and staff")
    unit = await session.get(OrgUnit, actor.org_unit_id)
    if unit is None:
        raise NotAllowed("your own org unit no longer exists")
    return Authority(unit.path, actor.clearance, role_rank(actor.role), actor.staff_id)


def check_authority(
    authority: Authority,
    target: Staff | None,
    *,
    role: Role | None = None,
    clearance: int | None = None,
    changing: Set[str] = frozenset(),
) -> None:
    """NotAllowed unless the actor may act on `target` (None: a staff member being created), making them `role`
    at grade `clearance` and changing the named fields. The target's unit is checked by the caller."""
    if target is not None:
        if target.id == authority.staff_id and changing - OWN_CHANGES:
            raise NotAllowed("another administrator must change your own role, unit, grade or status")
        if target.clearance > authority.clearance:
            raise NotAllowed(f"{target.username} holds a clearance grade above your own ({authority.clearance})")
        if role_rank(target.role) > authority.rank:
            raise NotAllowed(f"{target.username} holds a role above your own")
    if clearance is not None and clearance > authority.clearance:
        raise NotAllowed(f"you cannot grant a clearance grade above your own ({authority.clearance})")
    if role is not None and role_rank(role) > authority.rank:
        raise NotAllowed(f"you cannot grant a role above your own ({role.value})")


async def administered_staff(session: AsyncSession, actor: Actor, staff_id: int) -> Staff:
    """A staff member the actor may act on (`check_authority`): NotFound outside their part of the organisation,
    as if there were none; NotAllowed for someone above them."""
    authority = await authority_of(session, actor)
    staff = await session.get(Staff, staff_id)
    unit = await session.get(OrgUnit, staff.org_unit_id) if staff is not None else None
    if staff is None or unit is None or not authority.administers(unit):
        raise NotFound(f"no staff member {staff_id}")
    check_authority(authority, staff)
    return staff


# -- API tokens ------------------------------------------------------------------------------------


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
    """A new API token for this staff member; only its hash is stored (the command line's operator)."""
    staff = session.exec(select(Staff).where(Staff.username == username)).first()
    if staff is None:
        raise NotFound(f"no staff member {username!r}")
    if not staff.active:
        raise NotFound(f"staff member {username!r} is not active")
    token = new_api_token()
    assert staff.id is not None
    session.add(ApiToken(staff_id=staff.id, token_hash=token_hash(token), label=label))
    return token
