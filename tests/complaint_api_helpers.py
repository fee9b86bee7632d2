"""What the complaint API's tests share: customers with policies put straight into the store, a complaint opened
through the API, and a step taken through it."""

from __future__ import annotations

from datetime import date
from typing import Any

from crm_store.customers.tables import Customer, Policy
from crm_store.db import session_scope
from tests.complaint_helpers import create

PATH = "/api/v1/complaints"


def add_customer(
    engine: Any, unit_id: int, *, name: str = "최민원", policies: tuple[tuple[date, date], ...] = ()
) -> int:
    """A customer of the unit with policies in force over the given (start, end) dates."""
    with session_scope(engine) as session:
        customer = Customer(kind="individual", name=name, org_unit_id=unit_id)
        session.add(customer)
        session.flush()
        assert customer.id is not None
        for n, (start, end) in enumerate(policies):
            number = f"P-{customer.id}-{n}"
            session.add(Policy(customer_id=customer.id, policy_number=number, line="auto", premium=1, start_date=start,
                               end_date=end))  # fmt: skip
        return int(customer.id)


def complaint_body(customer_id: int, **fields: Any) -> dict[str, Any]:
    """The JSON body of `POST /api/v1/complaints` (tests.complaint_helpers.create's complaint, received Monday
    21 September 2026 10:00 KST, on claim delay)."""
    return create(customer_id, **fields).model_dump(mode="json", exclude_none=True)


async def open_complaint(client: Any, headers: dict[str, str], customer_id: int, **fields: Any) -> Any:
    """The answer to opening a complaint through the API."""
    return await client.post(PATH, json=complaint_body(customer_id, **fields), headers=headers)


async def step(client: Any, headers: dict[str, str], complaint_id: int, action: str, **form: Any) -> Any:
    """The answer to taking a step through the API."""
    return await client.post(f"{PATH}/{complaint_id}/steps", json={"action": action, "form": form}, headers=headers)
