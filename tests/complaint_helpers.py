"""Complaint tests' world: the review world's organisation and staff, a customer in Seoul's 서초 branch and one in
Busan's 해운대 branch, and viewers of the staff by username."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from crm_store.calendar import KST
from crm_store.complaints.store import open_complaint
from crm_store.complaints.tables import ComplaintSubtask, CorrectiveAction
from crm_store.complaints.wire import ComplaintCreate
from crm_store.customers.tables import Customer
from crm_store.db import session_scope
from crm_store.org.scope import CommandLine, Viewer
from crm_store.org.tables import Role
from crm_store.types import utcnow
from tests.review_helpers import World

# Monday 21 September 2026, 10:00 in Korea: the week of 추석.
RECEIVED = datetime(2026, 9, 21, 10, 0, tzinfo=KST)


def viewer(world: World, username: str) -> Viewer:
    staff = world.staff[username]
    return Viewer(staff["id"], username, Role(staff["role"]), staff["unit"], staff["clearance"])


def add_customer(session: Session, world: World, unit: str, name: str = "최민원") -> int:
    customer = Customer(kind="individual", name=name, org_unit_id=world.units[unit])
    session.add(customer)
    session.flush()
    return int(customer.id)  # type: ignore[arg-type]


def create(customer_id: int, **fields: Any) -> ComplaintCreate:
    body: dict[str, Any] = {
        "customer_id": customer_id,
        "channel": "call",
        "category": "claims_payment",
        "summary": "보상금 지급이 3주째 지연되고 있습니다.",
        "topic": "complaint.claim_delay",
        "received_at": RECEIVED,
    }
    body.update(fields)
    return ComplaintCreate.model_validate(body)


# Codes of complaints that must never show: categories, topics, states and steps, channels, means.
COMPLAINT_CODES = re.compile(
    r"\b(?:claims_payment|maintenance|sales|receipt|verification|registration|acknowledgement|reopened|call|fss|"
    r"sms|customer_management)\b|complaint\.\w+"
)


def open_for(engine: Any, world: World, key: str, **fields: Any) -> tuple[int, str]:
    """A complaint of a customer of the review world ("inside", "outside"), opened in the store:
    received Monday 21 September 2026 10:00 KST, long overdue; its id and number."""
    with session_scope(engine) as session:
        data = create(world.customers[key], **fields)
        opened = open_complaint(session, CommandLine(username="root"), data, now=utcnow())
        return int(opened.complaint.id), opened.complaint.number  # type: ignore[arg-type]


def add_subtask_and_action(engine: Any, complaint_id: int, unit_id: int, *, owner: int) -> tuple[int, int]:
    """An undone sub-task of the complaint and an open corrective action of the unit (September 2026), both owned by
    staff member `owner`; their ids."""
    with session_scope(engine) as session:
        task = ComplaintSubtask(complaint_id=complaint_id, department="customer_management", what="지급 결재",
                                owner_id=owner, owner_username="owner")  # fmt: skip
        action = CorrectiveAction(month=date(2026, 9, 1), org_unit_id=unit_id, finding="보상 지연", what="인력 보강",
                                  owner_id=owner, due_date=date(2026, 11, 30), created_by="root")  # fmt: skip
        session.add_all([task, action])
        session.flush()
        return int(task.id), int(action.id)  # type: ignore[arg-type]
