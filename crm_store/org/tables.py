"""Tables of the organisation (org units, staff, API tokens, sessions, lockouts), with their wire models."""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum, StrEnum

from sqlalchemy import String, true
from sqlmodel import Field, SQLModel

from crm_store.types import UtcDateTime, utcnow


class OrgLevel(IntEnum):
    HEAD_OFFICE = 0
    PROVINCE = 1
    CITY = 2
    COUNTY = 3


class Role(StrEnum):
    AGENT = "agent"
    OPERATOR = "operator"
    CENTER_MANAGER = "center_manager"
    ACCOUNT_MANAGER = "account_manager"
    DISPATCHER = "dispatcher"
    SURVEYOR = "surveyor"
    EXECUTIVE = "executive"
    ADMIN = "admin"


# -- organisation -----------------------------------------------------------------------------


class OrgUnitBase(SQLModel):
    code: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(max_length=100)
    level: int = Field(ge=0, le=3)
    parent_id: int | None = Field(default=None, foreign_key="org_unit.id", index=True)


class OrgUnit(OrgUnitBase, table=True):
    __tablename__ = "org_unit"
    id: int | None = Field(default=None, primary_key=True)
    # Materialised path "/1/4/17/": a subtree is one indexed prefix match.
    path: str = Field(default="/", max_length=255, index=True)
    # A closed branch keeps its history (staff, customers, audit) but takes no new staff, units or calls.
    active: bool = Field(default=True, sa_column_kwargs={"server_default": true()})


class OrgUnitPublic(OrgUnitBase):
    id: int
    active: bool = True


class StaffBase(SQLModel):
    username: str = Field(max_length=64, unique=True, index=True)
    full_name: str = Field(max_length=100)
    role: Role = Field(sa_type=String(32))
    org_unit_id: int = Field(foreign_key="org_unit.id", index=True)
    clearance: int = Field(default=1, ge=0, le=5)


class Staff(StaffBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    password_hash: str | None = Field(default=None, max_length=255)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class StaffPublic(StaffBase):
    id: int


class StaffSecret(SQLModel):
    """A secret a staff member signs in with (an API token, a console session's cookie value), stored only as its
    SHA-256: a stolen table gives no usable secret."""

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class ApiToken(StaffSecret, table=True):
    __tablename__ = "api_token"
    label: str = Field(default="", max_length=100)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


# -- sign-in: sessions and lockout ----------


class LoginSession(StaffSecret, table=True):
    """A console (browser) session, with its CSRF token."""

    __tablename__ = "login_session"
    csrf_token: str = Field(max_length=64)
    remote_addr: str | None = Field(default=None, max_length=64)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class LoginLockout(SQLModel, table=True):
    """Failed password attempts of a staff member; too many in a row lock the account for a while."""

    __tablename__ = "login_lockout"
    staff_id: int = Field(foreign_key="staff.id", primary_key=True, sa_column_kwargs={"autoincrement": False})
    failures: int = 0
    last_failure_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    locked_until: datetime | None = Field(default=None, sa_type=UtcDateTime)
