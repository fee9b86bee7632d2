"""Tables of account managers (grades, certifications, assignments, service tasks)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import String
from sqlmodel import Field, SQLModel

from crm_store.indexes import partial_index
from crm_store.types import UtcDateTime, utcnow


class ManagerGrade(StrEnum):
    """The five account-manager grades, highest first (수석, 고급, 중급, 초급, 수습)."""

    PRINCIPAL = "principal"
    SENIOR = "senior"
    INTERMEDIATE = "intermediate"
    JUNIOR = "junior"
    TRAINEE = "trainee"


# -- account managers --------------------------------------------------------------------------


class AccountManager(SQLModel, table=True):
    """An account manager's current grade; the certifications behind it are in account_manager_grade."""

    __tablename__ = "account_manager"
    staff_id: int = Field(foreign_key="staff.id", primary_key=True, sa_column_kwargs={"autoincrement": False})
    grade: ManagerGrade = Field(sa_type=String(16))
    certified_on: date
    valid_until: date


class ManagerCertification(SQLModel, table=True):
    """A yearly certification (or re-rating) of an account manager, with who approved it."""

    __tablename__ = "account_manager_grade"
    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    grade: ManagerGrade = Field(sa_type=String(16))
    certified_on: date
    valid_until: date
    evaluation: str | None = Field(default=None, max_length=200)
    approved_by_id: int = Field(foreign_key="staff.id")
    approving_unit_id: int = Field(foreign_key="org_unit.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class AccountAssignment(SQLModel, table=True):
    """Who manages a customer; the partial unique index allows one current assignment per customer."""

    __tablename__ = "account_assignment"
    __table_args__ = (
        partial_index("ux_account_assignment_current", "customer_id", where="ended_at IS NULL", unique=True),
    )
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    account_manager_id: int = Field(foreign_key="staff.id", index=True)
    assigned_by_id: int | None = Field(default=None, foreign_key="staff.id")
    reason: str = Field(default="", max_length=200)
    assigned_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class ServiceTask(SQLModel, table=True):
    """A scheduled service duty: visit of a key customer, phone interview of a quality one, renewal reminder.

    One duty per customer, kind, due date and policy: two partial unique indexes, because a NULL policy_id never
    equals another in a unique key (a renewal reminder names its policy, a visit or an interview names none)."""

    __tablename__ = "service_task"
    __table_args__ = (
        partial_index("ux_service_task_duty", "customer_id", "kind", "due_on", where="policy_id IS NULL", unique=True),
        partial_index(
            "ux_service_task_policy_duty",
            "customer_id",
            "kind",
            "due_on",
            "policy_id",
            where="policy_id IS NOT NULL",
            unique=True,
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    account_manager_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    kind: str = Field(max_length=32)
    due_on: date = Field(index=True)
    done_on: date | None = None
    policy_id: int | None = Field(default=None, foreign_key="policy.id")
    note: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    # What came of the visit, interview or reminder, and who marked it done (the manager or a center manager).
    outcome: str | None = Field(default=None, max_length=1000)
    done_by_id: int | None = Field(default=None, foreign_key="staff.id")
