"""Administration of the organisation: org units (create under a parent, rename, close, reopen) and staff (create
with role, unit and clearance grade; change them; deactivate, reactivate; reset the password).

Permissions are enforced here, not in handlers. An administrator manages the part of the organisation below their
own unit (their subtree for staff, strictly below their own unit for org units); every staff operation checks the
one rule of `crm_store.org.staff.check_authority` (never anyone of a higher grade or role, never a grade or role above
one's own, never one's own role, unit, grade or status). The command line (`CommandLine`) is the server's operator
and may change anything. Every change is appended to the audit trail in the same transaction. Password hashes are
computed by the caller, off the event loop.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, ClassVar

from pydantic import Field as PField
from pydantic import SecretStr, StrictBool, StrictInt, field_validator, model_validator
from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.audit import record_change
from crm_store.customers.tables import Customer
from crm_store.errors import NotFound
from crm_store.managers.tables import AccountAssignment
from crm_store.org.auth import MIN_PASSWORD_LENGTH
from crm_store.org.directory import OrgUnitAnswer, StaffSummary
from crm_store.org.scope import CommandLine as CommandLine  # re-exported: gateway.admin_cli takes it from here
from crm_store.org.staff import (
    MAX_CLEARANCE,
    Actor,
    Authority,
    administered_staff,
    authority_of,
    check_authority,
)
from crm_store.org.tables import ApiToken, LoginLockout, LoginSession, OrgLevel, OrgUnit, Role, Staff, StaffPublic
from crm_store.review.tables import ReviewEvent, ReviewItem, ReviewState
from crm_store.types import SOME_TEXT, Change, Input, Moment, RecordId, schema_says, stripped
from crm_store.validation import Conflict, InvalidInput, NotAllowed

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
UNIT_CODE = re.compile(r"[A-Z0-9][A-Z0-9-]{1,31}")


# -- inputs ----------------------------------------------------------------------------------------


def _text(value: str | None, what: str) -> str | None:
    return stripped(value, f"{what} is required") if value is not None else None


def _password(value: SecretStr | None) -> SecretStr | None:
    if value is not None and len(value.get_secret_value()) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return value


class OrgUnitCreate(Input):
    """POST /api/v1/org-units: a unit one level below its parent."""

    code: str = Field(
        schema_extra=schema_says(pattern="^[A-Za-z0-9][A-Za-z0-9-]{1,31}$"),
        min_length=2,
        max_length=32,
        description="capital letters, digits and hyphens, such as SEOUL-GANGNAM-SEOCHO (stored in capitals)",
    )
    name: str = Field(schema_extra=SOME_TEXT, min_length=1, max_length=100, description="the unit's name")
    parent_id: RecordId = Field(description="an open unit above the county level, in your part of the organisation")

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        code = value.strip().upper()
        if not UNIT_CODE.fullmatch(code):
            raise ValueError("capital letters, digits and hyphens, such as SEOUL-GANGNAM-SEOCHO")
        return code

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _text(value, "a name") or ""


class OrgUnitUpdate(Change):
    """PATCH /api/v1/org-units/{id}: rename, close (active false) or reopen."""

    name: str | None = Field(
        schema_extra=SOME_TEXT, default=None, min_length=1, max_length=100, description="the unit's new name"
    )
    active: StrictBool | None = Field(default=None, description="false closes the unit, true reopens it")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return _text(value, "a name")

    @model_validator(mode="after")
    def _something(self) -> OrgUnitUpdate:  # in place of Change's: a null name or active counts as not given
        if self.name is None and self.active is None:
            raise ValueError("name or active is required")
        return self


class StaffCreate(Input):
    """POST /api/v1/staff: without a password the account cannot sign in until one is set."""

    username: str = Field(
        schema_extra=schema_says(pattern="^[a-z0-9][a-z0-9._-]{1,63}$"),
        min_length=2,
        max_length=64,
        description="small letters, digits, '.', '_' and '-', such as op.seoul.gangnam",
    )
    full_name: str = Field(schema_extra=SOME_TEXT, min_length=1, max_length=100, description="the person's name")
    role: Role = Field(description="the role")
    org_unit_id: RecordId = Field(description="an open unit of your part of the organisation")
    clearance: StrictInt = Field(ge=0, le=MAX_CLEARANCE, description="the confidentiality grade cleared for (0 to 5)")
    password: SecretStr | None = Field(
        schema_extra=schema_says(minLength=MIN_PASSWORD_LENGTH),
        default=None,
        description="optional first password; without one the account cannot sign in",
    )

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        if not USERNAME.fullmatch(value):
            raise ValueError("small letters, digits, '.', '_' and '-', such as op.seoul.gangnam")
        return value

    @field_validator("full_name")
    @classmethod
    def _full_name(cls, value: str) -> str:
        return _text(value, "a name") or ""

    @field_validator("password")
    @classmethod
    def _password(cls, value: SecretStr | None) -> SecretStr | None:
        return _password(value)


class StaffUpdate(Change):
    """PATCH /api/v1/staff/{id}: any of name, role, org unit, clearance grade, active."""

    full_name: str | None = Field(
        schema_extra=SOME_TEXT, default=None, min_length=1, max_length=100, description="the person's name"
    )
    role: Role | None = Field(default=None, description="the role")
    org_unit_id: RecordId | None = Field(default=None, description="an open unit of your part of the organisation")
    clearance: StrictInt | None = Field(
        default=None, ge=0, le=MAX_CLEARANCE, description="the confidentiality grade cleared for (0 to 5)"
    )
    active: StrictBool | None = Field(default=None, description="false deactivates the account")
    nothing_given: ClassVar[str] = "name at least one of full_name, role, org_unit_id, clearance, active"

    @field_validator("full_name")
    @classmethod
    def _full_name(cls, value: str | None) -> str | None:
        return _text(value, "a name")


class PasswordReset(Input):
    """POST /api/v1/staff/{id}/password"""

    password: SecretStr = Field(
        schema_extra=schema_says(minLength=MIN_PASSWORD_LENGTH),
        description="the new password (at least the minimum length)",
    )

    @field_validator("password")
    @classmethod
    def _password(cls, value: SecretStr) -> SecretStr:
        return _password(value) or value


# -- answers ---------------------------------------------------------------------------------------


def unit_public(unit: OrgUnit) -> OrgUnitAnswer:
    """An org unit as the API shows it."""
    return OrgUnitAnswer.model_validate(unit, from_attributes=True)


def staff_public(staff: Staff) -> StaffMember:
    """A staff member as administrators see them: never the password hash."""
    return StaffMember.model_validate(
        {
            **StaffPublic.model_validate(staff).model_dump(mode="json"),
            "active": staff.active,
            "has_password": staff.password_hash is not None,
            "created_at": staff.created_at,
        }
    )


# -- authority -------------------------------------------------------------------------------------


async def _unit_for_staff(session: AsyncSession, authority: Authority, unit_id: int) -> OrgUnit:
    unit = await session.get(OrgUnit, unit_id)
    if unit is None:
        raise InvalidInput({"org_unit_id": "no such org unit"})
    if not authority.administers(unit):
        raise NotAllowed(f"{unit.name} is outside the part of the organisation you administer")
    if not unit.active:
        raise InvalidInput({"org_unit_id": f"{unit.name} is closed"})
    return unit


async def staff_id_of(session: AsyncSession, username: str) -> int:
    """The id of a staff member named on the command line."""
    staff_id = (await session.exec(select(col(Staff.id)).where(col(Staff.username) == username))).first()
    if staff_id is None:
        raise NotFound(f"no staff member {username!r}")
    return staff_id


async def unit_id_of(session: AsyncSession, code: str) -> int:
    """The id of an org unit named by its code on the command line."""
    unit_id = (await session.exec(select(col(OrgUnit.id)).where(col(OrgUnit.code) == code.upper()))).first()
    if unit_id is None:
        raise NotFound(f"no org unit {code!r}")
    return unit_id


async def _flush(session: AsyncSession, field: str, message: str) -> None:
    try:
        await session.flush()
    except IntegrityError as err:  # a concurrent insert of the same code or username won the unique index
        raise Conflict({field: message}, message) from err


# -- org units -------------------------------------------------------------------------------------


async def create_org_unit(session: AsyncSession, actor: Actor, data: OrgUnitCreate, *, now: datetime) -> OrgUnit:
    """A new unit one level below `parent_id`, which must be open and administered by the actor."""
    authority = await authority_of(session, actor)
    parent = await session.get(OrgUnit, data.parent_id)
    if parent is None:
        raise InvalidInput({"parent_id": "no such org unit"})
    if not authority.administers(parent):
        raise NotAllowed(f"{parent.name} is outside the part of the organisation you administer")
    if not parent.active:
        raise InvalidInput({"parent_id": f"{parent.name} is closed"})
    if parent.level >= OrgLevel.COUNTY:
        raise InvalidInput({"parent_id": "a county branch has no units below it"})
    taken = (await session.exec(select(OrgUnit).where(col(OrgUnit.code) == data.code))).first()
    if taken is not None:
        raise Conflict({"code": f"already the code of {taken.name}"}, "org unit code already used")
    unit = OrgUnit(code=data.code, name=data.name, level=parent.level + 1, parent_id=parent.id, path="/")
    session.add(unit)
    await _flush(session, "code", "org unit code already used")
    assert unit.id is not None
    unit.path = f"{parent.path}{unit.id}/"
    session.add(unit)
    record_change(
        session,
        actor,
        action="org_unit.created",
        target=f"org_unit:{unit.id}",
        org_unit_id=unit.id,
        detail={"code": data.code, "name": data.name, "level": unit.level, "parent_id": parent.id},
        now=now,
    )
    await session.flush()
    return unit


async def _closing_blockers(session: AsyncSession, unit: OrgUnit) -> dict[str, int]:
    async def count(query: Any) -> int:
        return int((await session.exec(query)).one())

    assert unit.id is not None
    counts = {
        "open units below": await count(
            select(func.count()).select_from(OrgUnit).where(col(OrgUnit.parent_id) == unit.id, col(OrgUnit.active))
        ),
        "active staff": await count(
            select(func.count()).select_from(Staff).where(col(Staff.org_unit_id) == unit.id, col(Staff.active))
        ),
        "customers": await count(
            select(func.count()).select_from(Customer).where(col(Customer.org_unit_id) == unit.id)
        ),
        "review items in its queue": await count(
            select(func.count())
            .select_from(ReviewItem)
            .where(col(ReviewItem.org_unit_id) == unit.id, col(ReviewItem.state) != ReviewState.CLOSED.value)
        ),
    }
    return {what: n for what, n in counts.items() if n}


async def update_org_unit(
    session: AsyncSession, actor: Actor, unit_id: int, data: OrgUnitUpdate, *, now: datetime
) -> OrgUnit:
    """Rename, close or reopen a unit below the actor's own. A unit closes only once nothing depends on it."""
    authority = await authority_of(session, actor)
    unit = await session.get(OrgUnit, unit_id)
    if unit is None:
        raise NotFound(f"no org unit {unit_id}")
    if not authority.administers(unit) or unit.path == authority.path:
        raise NotAllowed(f"{unit.name}: you may change only the units below your own")
    detail: dict[str, Any] = {}
    action = "org_unit.changed"
    if data.name is not None and data.name != unit.name:
        detail["name"] = [unit.name, data.name]
        unit.name = data.name
        action = "org_unit.renamed"
    if data.active is not None and data.active != unit.active:
        if not data.active:
            blockers = await _closing_blockers(session, unit)
            if blockers:
                listed = ", ".join(f"{n} {what}" for what, n in blockers.items())
                raise Conflict({"active": f"move or close first: {listed}"}, f"{unit.name} cannot close yet")
        else:
            parent = await session.get(OrgUnit, unit.parent_id) if unit.parent_id is not None else None
            if parent is not None and not parent.active:
                raise Conflict({"active": f"reopen {parent.name} first"}, f"{parent.name} is closed")
        detail["active"] = [unit.active, data.active]
        unit.active = data.active
        action = "org_unit.reactivated" if data.active else "org_unit.deactivated"
        if "name" in detail:
            action = "org_unit.changed"
    if detail:
        session.add(unit)
        assert unit.id is not None
        record_change(
            session, actor, action=action, target=f"org_unit:{unit.id}", org_unit_id=unit.id, detail=detail, now=now
        )
        await session.flush()
    return unit


async def org_units(session: AsyncSession) -> list[OrgUnit]:
    """Every unit, open and closed, in tree order."""
    return list((await session.exec(select(OrgUnit).order_by(col(OrgUnit.path)))).all())


async def administered_units(session: AsyncSession, actor: Actor) -> set[int]:
    """Ids of the units the actor administers (their subtree)."""
    authority = await authority_of(session, actor)
    query = select(col(OrgUnit.id)).where(col(OrgUnit.path).startswith(authority.path))
    return {unit_id for unit_id in (await session.exec(query)).all() if unit_id is not None}


# -- staff -----------------------------------------------------------------------------------------


async def create_staff(
    session: AsyncSession, actor: Actor, data: StaffCreate, *, password_hash: str | None, now: datetime
) -> Staff:
    """A new staff member in an open unit the actor administers, at a grade and role no higher than the actor's."""
    authority = await authority_of(session, actor)
    check_authority(authority, None, role=data.role, clearance=data.clearance)
    unit = await _unit_for_staff(session, authority, data.org_unit_id)
    taken = (await session.exec(select(col(Staff.id)).where(col(Staff.username) == data.username))).first()
    if taken is not None:
        raise Conflict({"username": "already taken"}, "username already taken")
    given = data.model_dump(include={"username", "full_name", "role", "org_unit_id", "clearance"})
    staff = Staff(**given, password_hash=password_hash, active=True, created_at=now)
    session.add(staff)
    await _flush(session, "username", "username already taken")
    assert staff.id is not None and unit.id is not None
    record_change(
        session,
        actor,
        action="staff.created",
        target=f"staff:{staff.id}",
        org_unit_id=unit.id,
        detail={
            "username": data.username,
            "full_name": data.full_name,
            "role": data.role.value,
            "org_unit_id": unit.id,
            "clearance": data.clearance,
            "password": "set" if password_hash else "none",
        },
        now=now,
    )
    await session.flush()
    return staff


async def _other_head_office_admins(session: AsyncSession, staff: Staff) -> int:
    query = (
        select(func.count())
        .select_from(Staff)
        .join(OrgUnit, col(OrgUnit.id) == col(Staff.org_unit_id))
        .where(
            col(Staff.role) == Role.ADMIN.value,
            col(Staff.active),
            col(OrgUnit.parent_id).is_(None),
            col(Staff.id) != staff.id,
        )
    )
    return int((await session.exec(query)).one())


async def _current_customers(session: AsyncSession, staff_id: int) -> int:
    query = (
        select(func.count())
        .select_from(AccountAssignment)
        .where(col(AccountAssignment.account_manager_id) == staff_id, col(AccountAssignment.ended_at).is_(None))
    )
    return int((await session.exec(query)).one())


async def _sign_out_everywhere(session: AsyncSession, staff_id: int, *, now: datetime) -> None:
    """End every console session of the staff member and revoke every API token of theirs."""
    await session.exec(
        update(LoginSession)  # type: ignore[call-overload]
        .where(col(LoginSession.staff_id) == staff_id, col(LoginSession.ended_at).is_(None))
        .values(ended_at=now)
    )
    await session.exec(
        update(ApiToken)  # type: ignore[call-overload]
        .where(col(ApiToken.staff_id) == staff_id, col(ApiToken.revoked_at).is_(None))
        .values(revoked_at=now)
    )


async def _release_taken_items(session: AsyncSession, actor: Actor, staff_id: int, *, now: datetime) -> None:
    """Items the staff member was working go back to their queue (they can no longer work them)."""
    taken = (
        await session.exec(
            select(ReviewItem).where(
                col(ReviewItem.taken_by_id) == staff_id, col(ReviewItem.state) == ReviewState.TAKEN.value
            )
        )
    ).all()
    for item in taken:
        assert item.id is not None
        item.state, item.taken_by_id, item.taken_at, item.updated_at = ReviewState.OPEN, None, None, now
        session.add(item)
        session.add(
            ReviewEvent(
                item_id=item.id,
                staff_id=actor.staff_id,
                action="released",
                note="담당자 변경(비활성화 또는 소속 이동)으로 대기열에 반환",
                created_at=now,
            )
        )


async def update_staff(
    session: AsyncSession, actor: Actor, staff_id: int, data: StaffUpdate, *, now: datetime
) -> Staff:
    """Change a staff member's name, role, unit, clearance grade or status; deactivation signs them out
    everywhere and revokes their API tokens."""
    authority = await authority_of(session, actor)
    staff = await administered_staff(session, actor, staff_id)
    assert staff.id is not None
    wanted = data.model_dump(exclude_unset=True)
    current = {"full_name": staff.full_name, "role": Role(staff.role), "org_unit_id": staff.org_unit_id,
               "clearance": staff.clearance, "active": staff.active}  # fmt: skip
    changes = {name: value for name, value in wanted.items() if value is not None and value != current[name]}
    if not changes:
        return staff
    check_authority(
        authority, staff, role=changes.get("role"), clearance=changes.get("clearance"), changing=set(changes)
    )
    if "org_unit_id" in changes:
        await _unit_for_staff(session, authority, changes["org_unit_id"])
    leaves_role = changes.get("active") is False or "role" in changes
    home = await session.get(OrgUnit, staff.org_unit_id)
    if (
        Role(staff.role) is Role.ADMIN
        and home is not None
        and home.parent_id is None
        and (leaves_role or "org_unit_id" in changes)
        and await _other_head_office_admins(session, staff) == 0
    ):
        raise Conflict({"role": "the last active head-office administrator stays"}, "last head-office administrator")
    if leaves_role and Role(staff.role) is Role.ACCOUNT_MANAGER:
        managed = await _current_customers(session, staff.id)
        if managed:
            raise Conflict(
                {"active" if "active" in changes else "role": f"reassign their {managed} customers first"},
                f"{staff.username} is the account manager of {managed} customers",
            )
    detail: dict[str, Any] = {}
    for name, value in changes.items():
        old = current[name]
        detail[name] = [old.value if isinstance(old, Role) else old, value.value if isinstance(value, Role) else value]
        setattr(staff, name, value.value if isinstance(value, Role) else value)
    session.add(staff)
    if changes.get("active") is False:
        await _sign_out_everywhere(session, staff.id, now=now)
    if changes.get("active") is False or "org_unit_id" in changes:
        await _release_taken_items(session, actor, staff.id, now=now)
    action = "staff.changed"
    if set(changes) == {"active"}:
        action = "staff.reactivated" if changes["active"] else "staff.deactivated"
    record_change(
        session, actor, action=action, target=f"staff:{staff.id}", org_unit_id=staff.org_unit_id, detail=detail,
        now=now,
    )  # fmt: skip
    await session.flush()
    return staff


async def reset_password(
    session: AsyncSession, actor: Actor, staff_id: int, *, password_hash: str, now: datetime
) -> Staff:
    """Set a new password: any lockout is lifted, every console session of the staff member ends and every API
    token of theirs is revoked."""
    staff = await administered_staff(session, actor, staff_id)
    assert staff.id is not None
    staff.password_hash = password_hash
    session.add(staff)
    lockout = await session.get(LoginLockout, staff.id)
    if lockout is not None:
        await session.delete(lockout)
    await _sign_out_everywhere(session, staff.id, now=now)
    record_change(
        session,
        actor,
        action="staff.password_reset",
        target=f"staff:{staff.id}",
        org_unit_id=staff.org_unit_id,
        detail={"password": "reset"},
        now=now,
    )
    await session.flush()
    return staff


async def staff_directory(
    session: AsyncSession,
    actor: Actor,
    *,
    org_unit_id: int | None = None,
    role: Role | None = None,
    active: bool | None = None,
    search: str | None = None,
    limit: int = 500,
) -> list[Staff]:
    """Staff of the actor's part of the organisation, active and not, by unit then username."""
    authority = await authority_of(session, actor)
    query = (
        select(Staff)
        .join(OrgUnit, col(OrgUnit.id) == col(Staff.org_unit_id))
        .where(col(OrgUnit.path).startswith(authority.path))
    )
    if org_unit_id is not None:
        query = query.where(col(Staff.org_unit_id) == org_unit_id)
    if role is not None:
        query = query.where(col(Staff.role) == role.value)
    if active is not None:
        query = query.where(col(Staff.active) == active)
    if search:
        pattern = f"%{search.strip()}%"
        query = query.where(col(Staff.username).like(pattern) | col(Staff.full_name).like(pattern))
    return list((await session.exec(query.order_by(col(OrgUnit.path), col(Staff.username)).limit(limit))).all())


# -- wire models -------------------------------------------------------------------------------------


class StaffMember(StaffSummary):
    """A staff member as administrators see them: never the password hash."""

    active: bool = PField(description="false: deactivated (cannot sign in)")
    has_password: bool = PField(description="a password is set (without one the account cannot sign in)")
    created_at: Moment = PField(description="when the account was created (UTC)")
